"""The manufacturing chain: slurry -> drying -> calendering, each stage a LAMMPS run in its own
folder (deck, log, dumps, data and restart files), observables and structures written next to
them. With ``resume``, completed stages (their ``.data`` present) are skipped and an unfinished
one restarts from its last chunk (``lammps_bridge.checkpoint``)."""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mesostructure.microstructure import Microstructure

from .checkpoint import Checkpoint
from .inputs import insert_slurry, slurry_deck
from .io import (
    ParticleSet,
    from_microstructure,
    read_data,
    read_dump,
    to_microstructure,
    write_data,
)
from .observables import bulk_observables, cbd_zone_fractions, profiles
from .recipe import ManufactureRecipe
from .runner import Progress, run_deck
from .stages import DryingResume, assign_zones, calendering_deck, drying_deck

STAGES = ("slurry", "drying", "calendering")


@dataclass
class ChainResult:
    """What a chain run produced: per-stage observables, the CBD zone fractions vs normalised
    drying time, wall times, the final and dried structures."""

    observables: dict = field(default_factory=dict)
    zone_fractions: list = field(default_factory=list)  # rows (t, bottom, centre, top)
    freeze_time: float | None = None
    wall_time_s: dict = field(default_factory=dict)
    steps: dict = field(default_factory=dict)
    dried: Microstructure | None = None
    final: Microstructure | None = None


def _say(progress: Callable[[str], None] | None, msg: str) -> None:
    if progress:
        progress(msg)


def _stage(out: Path, name: str, deck: str, ps_in: ParticleSet, nprocs: int,
           step_progress: Progress | None, resume: bool, deck_name: str | None = None
           ) -> tuple[ParticleSet, float]:
    """Run one stage in ``out/name``; with ``deck_name`` (a resumed run) the input data file
    is kept and the earlier log is kept as ``<name>.partN.log``."""
    work = out / name
    work.mkdir(parents=True, exist_ok=True)
    if resume and (work / f"{name}.data").exists():
        return read_data(work / f"{name}.data"), 0.0
    if deck_name is None:
        write_data(work / f"{name}_in.data", ps_in, title=f"electrode3d {name} input")
    elif (work / f"{name}.log").exists():
        n = 1 + len(list(work.glob(f"{name}.part*.log")))
        (work / f"{name}.log").rename(work / f"{name}.part{n}.log")
    deck_path = work / (deck_name or f"{name}.in")
    deck_path.write_text(deck)
    t0 = time.perf_counter()
    run_deck(deck_path, nprocs=nprocs, progress=step_progress, stage=name, log_name=name)
    return read_data(work / f"{name}.data"), time.perf_counter() - t0


def _checkpoint(work: Path, stem: str, resume: bool, read):
    """The restart point of an unfinished stage (``read`` = its state file reader), or None:
    not resuming, the stage finished (its ``.data`` exists) or never started."""
    if not resume or (work / f"{stem}.data").exists() or not (work / f"{stem}_in.data").exists():
        return None
    return read(work / f"{stem}.state")


def _resumed(progress, stem: str, what: str, again) -> str | None:
    """Say what the stage does; the deck's file name when it resumes (None: ``<stem>.in``)."""
    if again is None:
        _say(progress, what)
        return None
    _say(progress, f"{what}: resumed after chunk {again.chunk}")
    return f"{stem}.resume{again.chunk}.in"


def _dumps(work: Path, stem: str) -> list[tuple[int, Path]]:
    found = []
    for p in work.glob(f"{stem}.*.dump"):
        m = re.fullmatch(rf"{stem}\.(\d+)\.dump", p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def run_chain(recipe: ManufactureRecipe, out: str | Path, *, nprocs: int = 1,
              start: Microstructure | None = None, progress: Callable[[str], None] | None = None,
              step_progress: Progress | None = None, resume: bool = False,
              voxel_size_m: float = 0.5e-6) -> ChainResult:
    """Run the chain into ``out``. With ``start`` (e.g. a stochastic generator structure), only
    the calendering stage runs, on that structure."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = recipe.system
    en = s.cbd_nanoporosity
    res = ChainResult()
    dens = {"active": s.am_density_g_cm3 * 1e3, "cbd_dry": s.cbd_dry_density_g_cm3 * 1e3}
    meta = {"recipe": recipe.raw, "seed": recipe.seed, "source": "lammps_bridge"}
    if start is None:
        ps0 = insert_slurry(recipe)
        mean_am = float(np.mean(2 * ps0.radius_um[ps0.am]) / s.solvent_shell_factor)
        again = _checkpoint(out / "slurry", "slurry", resume, Checkpoint.read)
        deck = slurry_deck(recipe, "slurry_in.data", "slurry", mean_am, again)
        ps, res.wall_time_s["slurry"] = _stage(
            out, "slurry", deck, ps0, nprocs, step_progress, resume,
            _resumed(progress, "slurry", "slurry: random insertion and compaction", again))
        res.steps["slurry"] = recipe.slurry.steps
        res.observables["slurry"] = bulk_observables(ps, 0.0, ps.masses_pg)

        ps_z = assign_zones(ps)
        work = out / "drying"
        again = _checkpoint(work, "drying", resume, DryingResume.read)
        if again:
            ps_z = read_data(work / "drying_in.data")
        deck, plan = drying_deck(recipe, ps_z, "drying_in.data", "drying", again)
        ps, res.wall_time_s["drying"] = _stage(
            out, "drying", deck, ps_z, nprocs, step_progress, resume,
            _resumed(progress, "drying", f"drying ({recipe.drying.mode})", again))
        res.steps["drying"] = plan.steps_per_chunk * len(plan.times) \
            + recipe.drying.equilibration_steps
        res.observables["drying"] = bulk_observables(ps, en, ps.masses_pg)
        n_drive = plan.steps_per_chunk * len(plan.times)
        for step, path in _dumps(out / "drying", "drying"):
            if step <= n_drive:
                res.zone_fractions.append((step / n_drive, *cbd_zone_fractions(read_dump(path))))
        final = DryingResume.read(work / "drying.state")
        res.freeze_time = final.tf if final and final.frozen else None
        res.dried = to_microstructure(ps, cbd_nanoporosity=en, densities_kg_m3=dens,
                                      metadata={**meta, "stage": "dried"})
    else:
        ps = from_microstructure(start, s.am_density_g_cm3, s.cbd_dry_density_g_cm3)
        res.dried = start
    again = _checkpoint(out / "calendering", "calendering", resume, Checkpoint.read)
    deck, h0, h1 = calendering_deck(recipe, ps, "calendering_in.data", "calendering", again)
    ps, res.wall_time_s["calendering"] = _stage(
        out, "calendering", deck, ps, nprocs, step_progress, resume,
        _resumed(progress, "calendering", f"calendering to {recipe.calendering.degree:.0%}",
                 again))
    c = recipe.calendering
    res.steps["calendering"] = c.compression_steps + c.hold_steps + c.springback_steps
    obs = bulk_observables(ps, en, ps.masses_pg)
    obs.update({"thickness_before_um": h0, "commanded_thickness_um": h1,
                "commanded_degree": c.degree,
                "achieved_degree": 1.0 - obs["thickness_um"] / h0})
    res.observables["calendering"] = obs
    res.final = to_microstructure(ps, cbd_nanoporosity=en, densities_kg_m3=dens,
                                  metadata={**meta, "stage": "calendered"})
    _write_outputs(out, res, voxel_size_m)
    return res


def _write_outputs(out: Path, res: ChainResult, voxel_size_m: float) -> None:
    (out / "observables.json").write_text(json.dumps(
        {"stages": res.observables, "freeze_time": res.freeze_time,
         "wall_time_s": res.wall_time_s, "steps": res.steps}, indent=2))
    if res.zone_fractions:
        with open(out / "cbd_zone_fractions.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["normalised_time", "cbd_bottom", "cbd_centre", "cbd_top"])
            w.writerows([[f"{v:.6g}" for v in row] for row in res.zone_fractions])
    for name, ms in (("dried", res.dried), ("structure", res.final)):
        if ms is None:
            continue
        if name == "dried":
            ms.save(out / "structure_dried.h5")
        else:
            ms.save(out / "structure.h5")
        prof = profiles(ms, voxel_size_m)
        with open(out / f"profiles_{name}.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["z_um", "am", "cbd", "pore", "porosity"])
            for k in range(len(prof["z_m"])):
                w.writerow([f"{prof['z_m'][k] * 1e6:.6g}"] + [f"{prof[p][k]:.6g}" for p in
                                                              ("am", "cbd", "pore", "porosity")])
