"""Per-particle SOD dataset: one row per particle per depth of discharge (paper 004).

Structure features come from :func:`mesostructure.characterize` on the run's Microstructure;
the target (state of discharge) is read as data from the run's ``particles.csv``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# snapshot label in particles.csv -> depth of discharge; "end" is the final state (DoD 100 %)
DOD_LABELS = {"dod25": 0.25, "dod50": 0.50, "dod75": 0.75, "end": 1.00}

FEATURES = ("dod", "volume_m3", "active_surface_m2", "cbd_contact_m2", "am_contact_m2",
            "position_z_rel", "electrolyte_tortuosity_from_separator",
            "distance_to_separator_m", "local_porosity", "distance_to_cbd_m",
            "n_am_neighbours")
# copied from the per-particle table of mesostructure.characterize as they are
_STRUCTURE = ("volume_m3", "active_surface_m2", "cbd_contact_m2", "am_contact_m2",
              "electrolyte_tortuosity_from_separator", "distance_to_separator_m",
              "local_porosity", "distance_to_cbd_m", "n_am_neighbours")
# how the structure features are characterised (recorded in the dataset's info.json)
FEATURE_OPTIONS = {"directions": "z", "media": ("electrolyte",), "local_shell": 1.0,
                   "local_shell_unit": "radius"}
TARGET = "sod"
META = ("electrode", "particle_id", "cut_by_box", "touches_current_collector")
COLUMNS = META + FEATURES + (TARGET,)


class DatasetError(ValueError):
    """A run folder or dataset file that cannot be used."""


@dataclass(frozen=True)
class Dataset:
    """Rows of the per-particle table as columns (numpy arrays keyed by COLUMNS)."""

    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.columns[TARGET])

    def select(self, mask: np.ndarray) -> Dataset:
        return Dataset({k: v[mask] for k, v in self.columns.items()})

    def without_cut(self) -> Dataset:
        """Drop particles cut by the box faces (their features are truncated)."""
        return self.select(~self.columns["cut_by_box"].astype(bool))

    def features(self, names: tuple[str, ...] = FEATURES) -> np.ndarray:
        return np.column_stack([self.columns[n].astype(float) for n in names])

    def target(self) -> np.ndarray:
        return self.columns[TARGET].astype(float)

    def groups(self) -> np.ndarray:
        return self.columns["electrode"]

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for i in range(len(self)):
                w.writerow([_fmt(self.columns[c][i]) for c in COLUMNS])
        return path

    @staticmethod
    def read(path: str | Path) -> Dataset:
        path = Path(path)
        if not path.is_file():
            raise DatasetError(f"dataset file {path} does not exist")
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise DatasetError(f"dataset {path} has no rows")
        missing = [c for c in COLUMNS if c not in rows[0]]
        if missing:
            raise DatasetError(f"dataset {path} lacks columns {missing}")
        cols = {"electrode": np.array([r["electrode"] for r in rows]),
                "particle_id": np.array([int(r["particle_id"]) for r in rows]),
                "cut_by_box": np.array([r["cut_by_box"] in ("1", "True") for r in rows]),
                "touches_current_collector": np.array(
                    [r["touches_current_collector"] in ("1", "True") for r in rows])}
        for c in FEATURES + (TARGET,):
            cols[c] = np.array([float(r[c]) for r in rows])
        return Dataset(cols)

    @staticmethod
    def concat(parts: list[Dataset]) -> Dataset:
        if not parts:
            raise DatasetError("no datasets to concatenate")
        return Dataset({c: np.concatenate([p.columns[c] for p in parts]) for c in COLUMNS})


def _fmt(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return str(v)


def read_particles_csv(run_dir: str | Path) -> list[dict]:
    """The per-particle results a discharge run wrote (``particles.csv``)."""
    path = Path(run_dir) / "particles.csv"
    if not path.is_file():
        raise DatasetError(f"{run_dir} is not a discharge run folder: no particles.csv")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def structure_particle_table(structure, voxel_size: float) -> tuple[list[dict], float]:
    """Per-particle structure features of a Microstructure and the electrode thickness [m]."""
    from mesostructure import CharacterizationOptions, characterize

    opts = CharacterizationOptions(**FEATURE_OPTIONS, workers=1)
    m = characterize(structure, voxel_size, options=opts)
    return m.particles, float(m.scalars["size_m"][2])


def rows_from_run(electrode: str, particles: list[dict], structure_rows: list[dict],
                  thickness_m: float) -> Dataset:
    """Join run results and structure features: one row per particle per DoD snapshot."""
    by_id = {int(r["particle_id"]): r for r in structure_rows}
    labels = [lab for lab in DOD_LABELS if particles and f"sod_{lab}" in particles[0]]
    if not labels:
        raise DatasetError(f"electrode {electrode}: particles.csv has no sod_<dod> columns "
                           f"(expected some of {[f'sod_{k}' for k in DOD_LABELS]})")
    cols: dict[str, list] = {c: [] for c in COLUMNS}
    unknown = []
    for p in particles:
        pid = int(p["particle_id"])
        s = by_id.get(pid)
        if s is None:
            unknown.append(pid)
            continue
        for lab in labels:
            sod = float(p[f"sod_{lab}"])
            if math.isfinite(sod):
                _append(cols, electrode, s, thickness_m, DOD_LABELS[lab], sod)
    if unknown:
        raise DatasetError(f"electrode {electrode}: particles {unknown[:5]} of the run are not "
                           "in the structure; run and structure do not match")
    return Dataset({k: np.asarray(v) for k, v in cols.items()})


def rows_for_prediction(electrode: str, structure_rows: list[dict], thickness_m: float,
                        dods: list[float]) -> Dataset:
    """Feature rows of every particle at each DoD in ``dods``; the target column is NaN."""
    bad = [d for d in dods if not 0.0 < d <= 1.0]
    if bad or not dods:
        raise DatasetError(f"depths of discharge must be in (0, 1], got {dods}")
    cols: dict[str, list] = {c: [] for c in COLUMNS}
    for s in structure_rows:
        for d in dods:
            _append(cols, electrode, s, thickness_m, d, float("nan"))
    return Dataset({k: np.asarray(v) for k, v in cols.items()})


def _append(cols: dict[str, list], electrode: str, s: dict, thickness_m: float, dod: float,
            sod: float) -> None:
    cols["electrode"].append(electrode)
    cols["particle_id"].append(int(s["particle_id"]))
    cols["cut_by_box"].append(bool(s["cut_by_box"]))
    cols["touches_current_collector"].append(bool(s["touches_current_collector"]))
    cols["dod"].append(dod)
    for k in _STRUCTURE:
        v = float(s[k])
        # not finite (an electrode without CBD: distance inf; no electrolyte path: tortuosity
        # inf) is stored as missing, NaN, which the tree models route down one branch
        cols[k].append(v if math.isfinite(v) else float("nan"))
    cols["position_z_rel"].append(float(s["centroid_z_m"]) / thickness_m)
    cols[TARGET].append(sod)


def discharge_facts(run_dir: str | Path) -> dict:
    """What the discharge in ``run_dir`` says about its targets (from its ``info.json``): its
    rate, where it ended (``end_dod``: the charge passed / the usable capacity; the rows
    labelled DoD 1.0 are at this depth), why, and the highest nodal stoichiometry (above 1:
    lithium beyond capacity counted in the SODs)."""
    import json

    path = Path(run_dir) / "info.json"
    if not path.is_file():
        raise DatasetError(f"{run_dir} is not a discharge run folder: no info.json")
    info = json.loads(path.read_text())
    s = info["summary"]
    return {"c_rate": info["c_rate"], "current_density_mA_cm2":
            info["current_density_A_m2"] / 10.0,
            "end_dod": s["capacity_mAh_cm2"] / info["usable_capacity_mAh_cm2"],
            "stop_reason": s["stop_reason"],
            "max_stoichiometry": s.get("max_stoichiometry", float("nan"))}


def build_from_pipeline(run_root: str | Path, voxel_size: float,
                        discharge: str = "discharge", electrode: str | None = None) -> Dataset:
    """Dataset rows of one ``electrode3d run`` folder (``structure.h5`` + ``discharge/``)."""
    from mesostructure import Microstructure

    root = Path(run_root)
    if not (root / "structure.h5").is_file():
        raise DatasetError(f"{root} has no structure.h5; give an `electrode3d run` folder")
    particles = read_particles_csv(root / discharge)
    ms = Microstructure.load(root / "structure.h5")
    table, thickness = structure_particle_table(ms, voxel_size)
    return rows_from_run(electrode or root.name, particles, table, thickness)
