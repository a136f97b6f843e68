"""``electrode3d manufacture``: the LAMMPS manufacturing chain (slurry -> drying ->
calendering), lammps_bridge."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .cli import _Failure, main


@main.command()
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Chain folder: one sub-folder per stage (deck, log, dumps, data), "
                   "observables.json, cbd_zone_fractions.csv, profiles_*.csv, structure.h5, "
                   "info.json.")
@click.option("-n", "--nprocs", type=int, default=1, show_default=True,
              help="MPI ranks for LAMMPS (> 1 runs mpiexec -n N lmp as a subprocess).")
@click.option("--resume", is_flag=True,
              help="Skip the stages whose .data output exists; a killed stage restarts from "
                   "its last finished chunk.")
@click.option("--start", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Calender this structure.h5 (e.g. from `generate`) instead "
                                 "of running slurry and drying.")
def manufacture(recipe: Path, output: Path, nprocs: int, resume: bool, start: Path | None
                ) -> None:
    """Run the manufacturing chain of RECIPE.toml in LAMMPS."""
    from lammps_bridge.chain import run_chain
    from lammps_bridge.recipe import RecipeError, load_manufacture_recipe
    from lammps_bridge.runner import LammpsRunError, lammps_version
    from mesostructure import Microstructure

    from .provenance import write_info

    t0 = time.perf_counter()
    try:
        rec = load_manufacture_recipe(recipe)
    except RecipeError as e:
        raise _Failure(f"{recipe}: {e}") from None
    output.mkdir(parents=True, exist_ok=True)
    (output / "recipe.toml").write_text(recipe.read_text())
    last = {}

    def steps(stage: str, done: int, total: int) -> None:
        pct = int(100 * done / max(1, total))
        if last.get(stage) is None or pct >= last[stage] + 10 or done == total:
            last[stage] = pct
            click.echo(f"  {stage}: {done}/{total} steps ({pct} %)")

    try:
        ms = Microstructure.load(start) if start else None
        res = run_chain(rec, output, nprocs=nprocs, start=ms, progress=click.echo,
                        step_progress=steps, resume=resume)
    except (LammpsRunError, ValueError) as e:
        raise _Failure(str(e)) from None
    write_info(output / "info.json", "manufacture",
               {"recipe": str(recipe), "nprocs": nprocs, "start": str(start) if start else None,
                "lammps_version": lammps_version()}, t0,
               {"observables": res.observables, "freeze_time": res.freeze_time,
                "wall_time_s": res.wall_time_s, "steps": res.steps})
    cal = res.observables["calendering"]
    click.echo(f"calendered to {cal['thickness_um']:.2f} um (commanded "
               f"{cal['commanded_thickness_um']:.2f} um); structure in {output / 'structure.h5'}")
