"""``electrode3d discharge`` and ``electrode3d run``: the solver and the whole chain."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .cli import _Failure, _progress, main


def _parse_values(pairs: tuple[str, ...]) -> dict:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise _Failure(f"--set expects 'Name [unit]=value', got {pair!r}")
        k, v = pair.rsplit("=", 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise _Failure(f"--set {k.strip()!r}: {v!r} is not a number") from None
    return out


def _dods(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise _Failure(f"depths of discharge must be comma-separated numbers, got {text!r}") \
            from None


@main.command()
@click.argument("mesh_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder: discharge.csv, particles.csv, sod_profile.csv, info.json, "
                   "plots, fields/.")
@click.option("--c-rate", type=float, default=None,
              help="C-rate (1C = the electrode's usable capacity in one hour).")
@click.option("--current-density", type=float, default=None,
              help="Current density, mA/cm2 of current collector (instead of --c-rate).")
@click.option("--cutoff", type=float, default=3.0, show_default=True, help="Cut-off voltage.")
@click.option("--active-material", default="NMC811_ORegan2022", show_default=True)
@click.option("--electrolyte", default="Nyman2008", show_default=True)
@click.option("--set", "values", multiple=True,
              help="Override a parameter: --set 'Separator porosity=0.4' (repeatable).")
@click.option("--cbd-reactive", is_flag=True, help="AM/CBD interface reacts (area x eps_n).")
@click.option("--lumped", is_flag=True,
              help="Storage of c_e and reactions on the vertex rule: keeps a severely depleted "
                   "electrolyte positive (high rates, thick electrodes).")
@click.option("--linear", type=click.Choice(["mumps", "fieldsplit"]), default="mumps",
              show_default=True, help="Linear solver (PETSc options: prefix echem_).")
@click.option("--report-dod", default="0.25,0.5,0.75", show_default=True,
              help="Depths of discharge for particle states and SOD profiles.")
@click.option("--fields-dod", default="0.5", show_default=True,
              help="Depths of discharge at which fields are written (ParaView); '' for none.")
@click.option("--checkpoint-every", type=float, default=300.0, show_default=True,
              help="Wall seconds between checkpoints (OUTPUT/checkpoint/state.npz).")
@click.option("--fresh", is_flag=True,
              help="Start afresh even if OUTPUT holds a checkpoint of this run (which is "
                   "otherwise resumed).")
def discharge(mesh_dir, output, c_rate, current_density, cutoff, active_material, electrolyte,
              values, cbd_reactive, lumped, linear, report_dod, fields_dod, checkpoint_every,
              fresh):
    """Galvanostatic discharge of the tagged mesh in MESH_DIR (from `electrode3d mesh`).
    Runs under mpirun -n N; rank 0 writes. A killed run resumes from its last checkpoint
    when the same command is given again."""
    from mpi4py import MPI

    from meshing import TaggedMesh

    comm = MPI.COMM_WORLD
    if (c_rate is None) == (current_density is None):
        if c_rate is None:
            c_rate = 1.0
        else:
            raise _Failure("give --c-rate or --current-density, not both")
    try:
        tm = TaggedMesh.load(mesh_dir, comm)
    except (FileNotFoundError, KeyError, RuntimeError) as e:
        raise _Failure(f"cannot read the mesh in {mesh_dir}: {e}") from None
    from .pipeline import RunError, run_discharge

    try:
        run_discharge(tm, output, c_rate=c_rate, current_density_mA_cm2=current_density,
                      cutoff=cutoff, active_material=active_material, electrolyte=electrolyte,
                      values=_parse_values(values), cbd_reactive=cbd_reactive, lumped=lumped,
                      linear=linear,
                      report_dod=_dods(report_dod), fields_dod=_dods(fields_dod),
                      inputs={"mesh": str(mesh_dir)}, checkpoint_every_s=checkpoint_every,
                      resume=not fresh, echo=click.echo, progress=_progress)
    except RunError as e:
        raise _Failure(str(e)) from None


@main.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                required=False)
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Run folder: structure.h5, mesh/, one folder per discharge, "
                   "rate_capability.csv for sweeps, info.json.")
@click.option("--fresh", is_flag=True,
              help="Recompute discharges whose checkpoints are in OUTPUT (otherwise a killed "
                   "run resumes and finished ones are not recomputed).")
def run(config: Path | None, output: Path, fresh: bool) -> None:
    """Run the chain structure -> mesh -> discharge (or a rate sweep) from CONFIG (TOML,
    docs/config.md); without CONFIG, the embedded demo configuration."""
    run_pipeline(config, output, resume=not fresh)


def demo_config_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("electrode3d") / "data" / "demo_run.toml"))


def run_pipeline(config: Path | None, output: Path, resume: bool = True):
    from mpi4py import MPI

    from meshing import MeshingError

    from .parallel import RankFailure
    from .pipeline import (
        ConfigError,
        RunConfig,
        RunError,
        discharge_options,
        prepare_electrode,
        rate_sweep,
        run_discharge,
    )
    from .provenance import write_info

    comm = MPI.COMM_WORLD
    t0 = time.perf_counter()
    path = config or demo_config_path()
    try:
        cfg = RunConfig.load(path)
    except (ConfigError, OSError) as e:
        raise _Failure(f"{path}: {e}") from None
    try:
        _, tm = prepare_electrode(cfg, output, comm, path.read_text(), progress=_progress)
        common = discharge_options(cfg, {"config": str(path)}, resume)
        rates = cfg.sweep.get("c_rates")
        if rates:
            summary = rate_sweep(tm, output, rates, common, echo=click.echo,
                                 progress=_progress)["fits"]
        else:
            ex = cfg.experiment
            kw = ({"current_density_mA_cm2": ex["current_density_mA_cm2"]}
                  if "current_density_mA_cm2" in ex else {"c_rate": ex.get("c_rate", 1.0)})
            res = run_discharge(tm, output / "discharge", **kw, **common, echo=click.echo,
                                progress=_progress)
            summary = res.summary()
    except (RankFailure, MeshingError, ConfigError, RunError, ValueError) as e:
        raise _Failure(str(e)) from None
    if comm.rank == 0:
        write_info(output / "info.json", "run", {"config": str(path), "ranks": comm.size}, t0,
                   summary)
        click.echo(f"wrote {output}")
