"""Drying-rate study (paper 000, Lombardo et al., Figs. 2-3 and 5): one manufacturing recipe
dried at several drying rates (relative shrinking factors RSF2/RSF3 of the centre and top CBD
zones) over several seeds. Each seed's slurry is simulated once and shared by its rates, so
the rates differ only in the drying. Every run is a ``lammps_bridge`` chain folder; the
analysis reads those folders only.

Outputs (``DIR/``): ``seed<S>/rsf<R2>_<R3>/`` (chain folders), ``drying_rate.csv`` (one row
per run: freeze time, dried and calendered thickness and porosities, final CBD fraction per
zone, the top zone's largest fraction during drying), ``drying_rate_summary.csv`` (mean and
standard deviation over the seeds per rate), ``zone_fractions.png`` (Fig. 2B: CBD fraction per
zone against normalised time, seed-averaged), ``profiles_dried.png`` (Fig. 3A: AM and CBD
volume fractions along the thickness), ``info.json`` with the trend verdict.
"""

from __future__ import annotations

import copy
import csv
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FIELDS = ("seed", "rsf2", "rsf3", "freeze_time", "dried_thickness_um", "dried_bulk_porosity",
          "dried_overall_porosity", "cbd_bottom", "cbd_centre", "cbd_top", "cbd_top_max",
          "calendered_thickness_um", "calendered_bulk_porosity", "achieved_degree")


class DryingStudyError(ValueError):
    """A drying-rate study that cannot run (named before anything runs)."""


@dataclass(frozen=True)
class DryingRateStudy:
    recipe: dict                       # a manufacturing recipe (TOML table)
    rates: tuple[tuple[float, float], ...]   # (RSF2, RSF3), slow to fast
    seeds: tuple[int, ...]

    def __post_init__(self):
        from lammps_bridge.recipe import parse_manufacture_recipe

        if not self.rates:
            raise DryingStudyError("no drying rates given")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise DryingStudyError(f"seeds must be distinct and at least one, got "
                                   f"{list(self.seeds)}")
        if len(set(self.rates)) != len(self.rates):
            raise DryingStudyError(f"repeated drying rate in {list(self.rates)}")
        for r in self.rates:
            parse_manufacture_recipe(self.run_recipe(self.seeds[0], r))  # RecipeError named

    def run_recipe(self, seed: int, rate: tuple[float, float]) -> dict:
        d = copy.deepcopy(self.recipe)
        d["seed"] = seed
        d.setdefault("drying", {})
        d["drying"]["mode"] = "heterogeneous"
        d["drying"]["schedule"] = [{"fraction": 1.0, "rsf2": rate[0], "rsf3": rate[1]}]
        return d


def parse_rates(text: str) -> tuple[tuple[float, float], ...]:
    """``"1.02/1.08,1.2/1.8"`` -> ((1.02, 1.08), (1.2, 1.8))."""
    out = []
    for item in text.split(","):
        try:
            a, b = (float(v) for v in item.split("/"))
        except ValueError:
            raise DryingStudyError(f"drying rate {item!r} is not RSF2/RSF3 (e.g. 1.1/1.4)"
                                   ) from None
        out.append((a, b))
    return tuple(out)


def _run_dir(out: Path, seed: int, rate) -> Path:
    return out / f"seed{seed}" / f"rsf{rate[0]:g}_{rate[1]:g}"


def run_drying_study(study: DryingRateStudy, out: str | Path, *, nprocs: int = 1,
                     fresh: bool = False, echo: Callable[[str], None] | None = None) -> dict:
    """Run every (seed, rate) chain into ``out`` (finished runs are read back unless
    ``fresh``), then analyse. Returns the summary written to ``info.json``."""
    from lammps_bridge.chain import run_chain
    from lammps_bridge.recipe import parse_manufacture_recipe

    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for seed in study.seeds:
        first = None
        for rate in study.rates:
            run = _run_dir(out, seed, rate)
            if fresh and run.exists():
                shutil.rmtree(run)
            if (run / "observables.json").exists():
                first = first or run
                continue
            if first is not None and not (run / "slurry" / "slurry.data").exists():
                shutil.copytree(first / "slurry", run / "slurry", dirs_exist_ok=True)
            if echo:
                echo(f"seed {seed}, RSF {rate[0]:g}/{rate[1]:g}")
            run_chain(parse_manufacture_recipe(study.run_recipe(seed, rate)), run,
                      nprocs=nprocs, resume=True)
            first = first or run
    summary = analyse(out, study)
    from ..provenance import write_info

    write_info(out / "info.json", "study drying-rate",
               {"recipe": study.recipe, "rates": study.rates, "seeds": study.seeds,
                "nprocs": nprocs}, t0, summary)
    return summary


def _row(run: Path, seed: int, rate) -> dict:
    obs = json.loads((run / "observables.json").read_text())
    st = obs["stages"]
    zones = np.loadtxt(run / "cbd_zone_fractions.csv", delimiter=",", skiprows=1, ndmin=2)
    return {"seed": seed, "rsf2": rate[0], "rsf3": rate[1], "freeze_time": obs["freeze_time"],
            "dried_thickness_um": st["drying"]["thickness_um"],
            "dried_bulk_porosity": st["drying"]["bulk_porosity"],
            "dried_overall_porosity": st["drying"]["overall_porosity"],
            "cbd_bottom": zones[-1, 1], "cbd_centre": zones[-1, 2], "cbd_top": zones[-1, 3],
            "cbd_top_max": float(zones[:, 3].max()),
            "calendered_thickness_um": st["calendering"]["thickness_um"],
            "calendered_bulk_porosity": st["calendering"]["bulk_porosity"],
            "achieved_degree": st["calendering"]["achieved_degree"]}


def analyse(out: str | Path, study: DryingRateStudy) -> dict:
    """Tables, plots and the trend verdict from the run folders in ``out``."""
    out = Path(out)
    rows = [_row(_run_dir(out, s, r), s, r) for s in study.seeds for r in study.rates]
    with open(out / "drying_rate.csv", "w", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        w.writerows(rows)
    stats = []
    for r in study.rates:
        sel = [x for x in rows if (x["rsf2"], x["rsf3"]) == r]
        rec = {"rsf2": r[0], "rsf3": r[1], "n_seeds": len(sel)}
        for k in FIELDS[3:]:
            vals = np.array([np.nan if x[k] is None else x[k] for x in sel], dtype=float)
            rec[f"{k}_mean"] = float(np.nanmean(vals)) if np.isfinite(vals).any() else None
            rec[f"{k}_sd"] = float(np.nanstd(vals)) if np.isfinite(vals).any() else None
        stats.append(rec)
    with open(out / "drying_rate_summary.csv", "w", newline="") as f:
        w = csv.DictWriter(f, list(stats[0]))
        w.writeheader()
        w.writerows(stats)
    top = [s["cbd_top_mean"] for s in stats]
    order = np.argsort([r[1] for r in study.rates])  # by RSF3
    increasing = bool(np.all(np.diff(np.array(top)[order]) > 0))
    _plots(out, study)
    return {"per_rate": stats,
            "top_zone_cbd_increases_with_rate": increasing,
            "paper000": "higher drying rate, more CBD in the top zone (Fig. 2B); bulk porosity "
                        "0.458 +- 0.004 dried, 0.243 +- 0.006 after 25 % compression"}


def _plots(out: Path, study: DryingRateStudy) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    styles = (":", "--", "-")
    for i, r in enumerate(study.rates):
        zs = [np.loadtxt(_run_dir(out, s, r) / "cbd_zone_fractions.csv", delimiter=",",
                         skiprows=1, ndmin=2) for s in study.seeds]
        n = min(len(z) for z in zs)
        z = np.mean([z[:n] for z in zs], axis=0)
        for k in range(3):
            ax.plot(z[:, 0], z[:, k + 1], styles[k], color=f"C{i}",
                    label=f"{r[0]:g}/{r[1]:g}" if k == 2 else None)
    ax.set_xlabel("normalised drying time")
    ax.set_ylabel("CBD fraction (dotted bottom, dashed centre, full top)")
    ax.legend(title="RSF2/RSF3")
    fig.tight_layout()
    fig.savefig(out / "zone_fractions.png", dpi=120)
    plt.close(fig)

    fig, axs = plt.subplots(1, 2, figsize=(8, 4), sharey=True)
    for i, r in enumerate(study.rates):
        prof = np.loadtxt(_run_dir(out, study.seeds[0], r) / "profiles_dried.csv",
                          delimiter=",", skiprows=1, ndmin=2)
        zn = prof[:, 0] / prof[-1, 0]
        axs[0].plot(prof[:, 1], zn, color=f"C{i}", label=f"{r[0]:g}/{r[1]:g}")
        axs[1].plot(prof[:, 2], zn, color=f"C{i}")
    axs[0].set_xlabel("AM volume fraction")
    axs[1].set_xlabel("CBD volume fraction")
    axs[0].set_ylabel("normalised thickness (0 = collector)")
    axs[0].legend(title="RSF2/RSF3")
    fig.tight_layout()
    fig.savefig(out / "profiles_dried.png", dpi=120)
    plt.close(fig)
