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
