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
              values, cbd_reactive, linear, report_dod, fields_dod, checkpoint_every, fresh):
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
    run_discharge(tm, output, c_rate=c_rate, current_density_mA_cm2=current_density,
                  cutoff=cutoff, active_material=active_material, electrolyte=electrolyte,
                  values=_parse_values(values), cbd_reactive=cbd_reactive, linear=linear,
                  report_dod=_dods(report_dod), fields_dod=_dods(fields_dod),
                  inputs={"mesh": str(mesh_dir)}, checkpoint_every_s=checkpoint_every,
                  resume=not fresh)


def run_discharge(tm, output: Path, *, c_rate=None, current_density_mA_cm2=None, cutoff=3.0,
                  active_material="NMC811_ORegan2022", electrolyte="Nyman2008", values=None,
                  cbd_reactive=False, linear="mumps", report_dod=(0.25, 0.5, 0.75),
                  fields_dod=(0.5,), inputs=None, checkpoint_every_s=300.0, resume=True):
    """Set up and run one discharge, write its results (rank 0) and echo a summary. The
    state is checkpointed in ``output/checkpoint`` and resumed from there (``resume``)."""
    from echem import (
        CheckpointError,
        CheckpointOptions,
        Discharge,
        ExperimentError,
        ModelOptions,
        ParameterError,
        Simulation,
        SolverOptions,
        parameter_set,
    )
    from echem.domains import DomainError

    from .provenance import versions

    comm = tm.mesh.comm
    t0 = time.perf_counter()
    try:
        params = parameter_set(active_material, electrolyte).update(values or {})
        if current_density_mA_cm2 is not None:
            ex = Discharge.from_mA_cm2(current_density_mA_cm2, cutoff_V=cutoff,
                                       report_dod=report_dod, field_dod=fields_dod)
        else:
            ex = Discharge(c_rate=c_rate, cutoff_V=cutoff, report_dod=report_dod,
                           field_dod=fields_dod)
        sim = Simulation(tm, params, ex, model_options=ModelOptions(cbd_reactive=cbd_reactive),
                         solver_options=SolverOptions(linear=linear),
                         callback=_step_printer(comm.rank))
    except (ParameterError, ExperimentError, DomainError, ValueError) as e:
        raise _Failure(str(e)) from None
    d = sim.describe()
    if comm.rank == 0:
        click.echo(f"{d['dofs_total']} unknowns on {comm.size} rank(s); usable capacity "
                   f"{d['usable_capacity_mAh_cm2']:.4f} mAh/cm2; I = {d['current_A']:.4e} A "
                   f"({d['c_rate']:.3g}C, {d['current_density_A_m2'] / 10:.4g} mA/cm2)")
    try:
        res = sim.run(fields_dir=Path(output) / "fields" if fields_dod else None,
                      checkpoint=CheckpointOptions(Path(output) / "checkpoint",
                                                   every_s=checkpoint_every_s, resume=resume))
    except CheckpointError as e:
        raise _Failure(str(e)) from None
    info = {"command": "discharge", "inputs": {**(inputs or {}), "parameters":
                                               params.as_json(),
                                               "experiment": ex.describe(),
                                               "cbd_reactive": cbd_reactive,
                                               "linear": linear},
            "versions": versions() | _echem_versions(), "wall_time_total_s":
                time.perf_counter() - t0, "mesh_report": _mesh_summary(tm.report)}
    res.write(output, comm, extra_info=info)
    if comm.rank == 0:
        s = res.summary()
        click.echo(f"{s['stop_reason']}: {s['capacity_mAh_cm2']:.4f} mAh/cm2, "
                   f"{s['capacity_mAh_g']:.1f} mAh/g at {s['final_voltage_V']:.3f} V after "
                   f"{s['time_s']:.0f} s; wrote {output}")
    return res


def _step_printer(rank: int):
    def show(step):
        if rank != 0:
            return
        _progress(f"step {step.step}: t {step.time_s:.1f} s, V {step.voltage_V:.4f}, "
                  f"{step.capacity_mAh_cm2:.4f} mAh/cm2, {step.newton_iterations} Newton its")
    return show


def _mesh_summary(report: dict) -> dict:
    keys = ("route", "n_cells", "min_dihedral_deg", "volume_m3", "isolated_particles",
            "separator_thickness_m", "voxel_size_m")
    return {k: report[k] for k in keys if k in report}


def _echem_versions() -> dict:
    from importlib import metadata

    out = {}
    for name in ("fenics-dolfinx", "dolfinx-solver-real", "petsc4py", "mpi4py", "gmsh"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


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
    import json

    from mpi4py import MPI

    from meshing import MeshingError

    from .parallel import RankFailure, on_rank0
    from .pipeline import (
        ConfigError,
        RunConfig,
        build_structure,
        build_tagged_mesh,
        discharge_energy_mWh_cm2,
        peukert_fit,
    )
    from .provenance import write_info

    comm = MPI.COMM_WORLD
    t0 = time.perf_counter()
    path = config or demo_config_path()
    try:
        cfg = RunConfig.load(path)
    except (ConfigError, OSError) as e:
        raise _Failure(f"{path}: {e}") from None

    def make_structure():
        output.mkdir(parents=True, exist_ok=True)
        (output / "config.toml").write_text(path.read_text())
        ms = build_structure(cfg, progress=_progress)
        ms.save(output / "structure.h5")
        return ms

    try:
        ms = comm.bcast(on_rank0(comm if comm.size > 1 else None, make_structure), root=0)
        tm = build_tagged_mesh(ms, cfg, comm, progress=_progress if comm.rank == 0 else None)
    except (RankFailure, MeshingError, ConfigError, ValueError) as e:
        raise _Failure(str(e)) from None
    tm.save(output / "mesh")
    ex, par = cfg.experiment, cfg.parameters
    rates = cfg.sweep.get("c_rates")
    common = dict(cutoff=ex.get("cutoff_V", 3.0),
                  active_material=par.get("active_material", "NMC811_ORegan2022"),
                  electrolyte=par.get("electrolyte", "Nyman2008"),
                  values=par.get("values", {}), cbd_reactive=cfg.model.get("cbd_reactive", False),
                  linear=cfg.solver.get("linear", "mumps"),
                  report_dod=tuple(ex.get("report_dod", (0.25, 0.5, 0.75))),
                  fields_dod=tuple(ex.get("fields_dod", (0.5,))), inputs={"config": str(path)},
                  resume=resume)
    summary = {}
    if rates:
        rows = []
        for c in rates:
            res = run_discharge(tm, output / f"discharge_{c:g}C", c_rate=float(c), **common)
            rows.append((float(c), res.capacity_mAh_cm2[-1], discharge_energy_mWh_cm2(res),
                         res.stop_reason))
        if comm.rank == 0:
            with open(output / "rate_capability.csv", "w") as f:
                f.write("c_rate,capacity_mAh_cm2,energy_mWh_cm2,stop_reason\n")
                for r in rows:
                    f.write(f"{r[0]:g},{r[1]:.8g},{r[2]:.8g},{r[3]}\n")
            cur = [r[0] for r in rows]
            summary = {"capacity": peukert_fit(cur, [r[1] for r in rows]),
                       "energy": peukert_fit(cur, [r[2] for r in rows])}
            (output / "rate_capability.json").write_text(json.dumps(summary, indent=2))
            click.echo(f"rate capability: gamma (energy) {summary['energy']['gamma']:.3f}, "
                       f"alpha {summary['energy']['alpha']:.3f}")
    else:
        kw = ({"current_density_mA_cm2": ex["current_density_mA_cm2"]}
              if "current_density_mA_cm2" in ex else {"c_rate": ex.get("c_rate", 1.0)})
        res = run_discharge(tm, output / "discharge", **kw, **common)
        summary = res.summary()
    if comm.rank == 0:
        write_info(output / "info.json", "run", {"config": str(path), "ranks": comm.size}, t0,
                   summary)
        click.echo(f"wrote {output}")
