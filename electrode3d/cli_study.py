"""``electrode3d study``: design studies over the chain."""

from __future__ import annotations

from pathlib import Path

import click

from .cli import _Failure, _progress, main


@main.group()
def study() -> None:
    """Design studies: rate capability of mono- and bi-layer electrodes, process maps."""


@study.command("rate-capability")
@click.argument("study_file", metavar="STUDY.toml",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Study folder: one folder per electrode (structure, mesh, one discharge per "
                   "rate), rate_capability.csv, summary.json, comparison.csv, layers_eq7.csv, "
                   "sod_depth.csv, plots, info.json.")
@click.option("--fresh", is_flag=True,
              help="Recompute discharges found in OUTPUT (otherwise a killed study resumes and "
                   "finished discharges are read back).")
def rate_capability(study_file: Path, output: Path, fresh: bool) -> None:
    """Discharge every electrode of STUDY.toml at every C-rate (docs/studies.md); Peukert fits
    (paper 003, eq. 6), layer utilisation and disparity (eq. 7-8), SOD against depth. Runs
    under mpirun -n N."""
    from mpi4py import MPI

    from meshing import MeshingError

    from .parallel import RankFailure
    from .pipeline import ConfigError, RunError
    from .studies.rate_analysis import AnalysisError
    from .studies.rate_capability import RateStudy, run_rate_study

    comm = MPI.COMM_WORLD
    try:
        spec = RateStudy.load(study_file)
    except ConfigError as e:
        raise _Failure(f"{study_file}: {e}") from None
    try:
        summary = run_rate_study(spec, output, comm, resume=not fresh, echo=click.echo,
                                 progress=_progress)
    except (RankFailure, MeshingError, ConfigError, RunError, AnalysisError, ValueError) as e:
        raise _Failure(str(e)) from None
    if comm.rank == 0:
        for name, f in summary["fits"].items():
            vs = f.get("versus_reference")
            if "energy" in f:
                click.echo(f"{name}: gamma (energy) {f['energy']['gamma']:.3f}, alpha "
                           f"{f['energy']['alpha']:.3f}"
                           + (f", {vs['verdict']} vs {summary['reference']}" if vs else ""))
        click.echo(f"wrote {output}")


@study.command("property-map")
@click.argument("study_file", metavar="STUDY.toml",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Study folder: structures/ (one JSON per structure), structures.csv, "
                   "dataset.csv (per-condition means and standard deviations), fit.json, "
                   "maps/*.png, info.json.")
@click.option("--fresh", is_flag=True,
              help="Recompute structures found in OUTPUT (otherwise a killed study resumes and "
                   "structures already characterised are read back).")
def property_map(study_file: Path, output: Path, fresh: bool) -> None:
    """Process -> property maps (paper 002, docs/studies.md): generate and characterise every
    condition of STUDY.toml (AM wt %, porosity before calendering, calendering degree or
    pressure) with several seeds, average, fit each property and plot the maps. Serial; under
    mpirun the structures are shared between the ranks."""
    from .parallel import RankFailure
    from .pipeline import ConfigError
    from .studies.property_analysis import AnalysisError
    from .studies.property_map import PropertyMapStudy, StudyRunError, run_property_map

    comm = click.get_current_context().obj
    rank = comm.rank if comm is not None else 0
    try:
        spec = PropertyMapStudy.load(study_file)
    except ConfigError as e:
        raise _Failure(f"{study_file}: {e}") from None
    try:
        summary = run_property_map(spec, output, comm, resume=not fresh, echo=click.echo,
                                   progress=_progress)
    except (RankFailure, StudyRunError, AnalysisError, OSError) as e:
        raise _Failure(str(e)) from None
    if rank == 0:
        for prop, f in summary["fit"].items():
            if "skipped" in f:
                click.echo(f"{prop}: not fitted ({f['skipped']})")
            else:
                click.echo(f"{prop}: held-out accuracy {_fmt(f['test_accuracy_pct'], '.1f')} %, "
                           f"CV {_fmt(f['cv_accuracy_pct'], '.1f')} %, CV R2 "
                           f"{_fmt(f['cv_r2'], '.3f')}")
        if summary["failed"]:
            click.echo(f"{len(summary['failed'])} structure(s) could not be generated; see "
                       f"{output / 'info.json'}")
        click.echo(f"wrote {output}")


def _fmt(v, spec: str) -> str:
    return "n/a" if v is None else format(v, spec)


@study.command("drying-rate")
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Study folder: seed<S>/rsf<R2>_<R3>/ chain folders, drying_rate.csv, "
                   "drying_rate_summary.csv, zone_fractions.png, profiles_dried.png, info.json.")
@click.option("--rates", default="1.02/1.08,1.1/1.4,1.2/1.8", show_default=True,
              help="Drying rates RSF2/RSF3, comma-separated (paper 000, Fig. 2).")
@click.option("--seeds", default="1,2,3", show_default=True, help="Seeds, comma-separated.")
@click.option("-n", "--nprocs", type=int, default=1, show_default=True,
              help="MPI ranks for LAMMPS (> 1 runs mpiexec -n N lmp as a subprocess).")
@click.option("--fresh", is_flag=True, help="Recompute runs found in OUTPUT.")
def drying_rate(recipe: Path, output: Path, rates: str, seeds: str, nprocs: int,
                fresh: bool) -> None:
    """Dry the manufacturing RECIPE at several drying rates over several seeds (paper 000):
    CBD fraction per zone, freeze time, porosities, profiles; one shared slurry per seed."""
    from lammps_bridge.recipe import RecipeError
    from lammps_bridge.runner import LammpsRunError
    from mesostructure.recipe import read_toml

    from .studies.drying_rate import (
        DryingRateStudy,
        DryingStudyError,
        parse_rates,
        run_drying_study,
    )

    try:
        seed_list = tuple(int(s) for s in seeds.split(","))
    except ValueError:
        raise _Failure(f"--seeds must be integers separated by commas, got {seeds!r}") from None
    try:
        spec = DryingRateStudy(read_toml(recipe), parse_rates(rates), seed_list)
        summary = run_drying_study(spec, output, nprocs=nprocs, fresh=fresh, echo=click.echo)
    except (DryingStudyError, RecipeError) as e:
        raise _Failure(f"{recipe}: {e}") from None
    except LammpsRunError as e:
        raise _Failure(str(e)) from None
    for s in summary["per_rate"]:
        click.echo(f"RSF {s['rsf2']:g}/{s['rsf3']:g}: top-zone CBD {s['cbd_top_mean']:.3f} "
                   f"+- {s['cbd_top_sd']:.3f}, freeze at t = {s['freeze_time_mean']}")
    verdict = "increases" if summary["top_zone_cbd_increases_with_rate"] else \
        "does not increase"
    click.echo(f"top-zone CBD {verdict} with the drying rate; wrote {output}")
