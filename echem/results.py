"""What a discharge produces: the discharge curve, per-particle states at reported depths of
discharge, the SOD profile along the thickness, conservation errors; written as plain CSV and
JSON (rank 0) so that downstream analysis needs no MPI or dolfinx."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

DEPLETED = 1e-3  # c_e / c_e0 below which the electrolyte counts as depleted


class Results:
    def __init__(self, info: dict, probe, window: tuple[float, float], lumped: bool = False):
        self.info = dict(info)
        self.lumped = lumped  # the vertex rule (ModelOptions.lumped): named in the notes
        self.probe = probe
        self.x_lo, self.x_hi = window
        self.time_s: list[float] = []
        self.current_A: list[float] = []
        self.voltage: list[float] = []
        self.capacity_mAh_cm2: list[float] = []
        self.capacity_mAh_g: list[float] = []
        self.stoichiometry_mean: list[float] = []
        self.errors = {"charge": [], "lithium_solid": [], "lithium_electrolyte": []}
        self.particle_states: dict[str, np.ndarray] = {}
        self.profiles: dict[str, np.ndarray] = {}
        self._jdt = np.zeros(len(probe.ids)) if probe is not None else None
        self._t = 0.0
        self.stop_reason: str | None = None
        self.stop_message = ""
        # the lowest c_e / c_e0 over the run and when it first fell below DEPLETED
        self.electrolyte = {"min_ratio": 1.0, "depleted_from_s": None}
        # the highest nodal stoichiometry and when it first passed 1 (a P1 overshoot)
        self.solid = {"max_x": 0.0, "above_one_from_s": None}

    # ---- filled during the run (collective calls: every rank runs them) ------------------
    def record(self, t, I, V, charge_As, x_mean, cc_area_m2, am_mass_g):  # noqa: E741
        self.time_s.append(float(t))
        self.current_A.append(float(I))
        self.voltage.append(float(V))
        self.capacity_mAh_cm2.append(charge_As / 3.6 / (cc_area_m2 * 1e4))
        self.capacity_mAh_g.append(charge_As / 3.6 / am_mass_g)
        self.stoichiometry_mean.append(float(x_mean))

    def conservation(self, charge, li_solid, li_elyte):
        for k, v in zip(self.errors, (charge, li_solid, li_elyte), strict=True):
            self.errors[k].append(float(v))

    def electrolyte_state(self, t: float, ce_min: float):
        """Track the lowest c_e / c_e0 (``ce_min``, over all ranks, at time ``t``)."""
        e = self.electrolyte
        e["min_ratio"] = min(e["min_ratio"], float(ce_min))
        if e["depleted_from_s"] is None and ce_min < DEPLETED:
            e["depleted_from_s"] = float(t)

    def solid_state(self, t: float, x_max: float):
        """Track the highest nodal stoichiometry (``x_max``, over all ranks, at time ``t``)."""
        d = self.solid
        d["max_x"] = max(d["max_x"], float(x_max))
        if d["above_one_from_s"] is None and x_max > 1.0:
            d["above_one_from_s"] = float(t)

    def overfull_note(self, lumped: bool) -> str:
        """What to add to a solver stop's message when a node's stoichiometry passed 1."""
        d = self.solid
        if d["above_one_from_s"] is None:
            return ""
        hint = "" if lumped else (": the reactions at the Gauss points let a node of a full "
                                  "surface overshoot; ModelOptions(lumped=True) (CLI --lumped, "
                                  "config [model] lumped) puts each node's kinetics on its own "
                                  "stoichiometry")
        return (f"; a particle surface is full (nodal x up to {d['max_x']:.6f}) since "
                f"t = {d['above_one_from_s']:.1f} s{hint}")

    def warnings(self) -> list[str]:
        """What makes a finished run's results doubtful, whatever its stop reason: a node
        past x = 1 holds more lithium than the material can (its particle's SOD, the capacity
        and the voltage are too high there)."""
        note = self.overfull_note(self.lumped)
        return [note.removeprefix("; ") + "; lithium beyond the maximum concentration counts "
                "in the capacity and the particles' SOD"] if note else []

    def depletion_note(self, lumped: bool) -> str:
        """What to add to a solver stop's message when the electrolyte is depleted."""
        e = self.electrolyte
        if e["depleted_from_s"] is None:
            return ""
        hint = "" if lumped else (": ModelOptions(lumped=True) (CLI --lumped, config "
                                  "[model] lumped) keeps a depleted electrolyte positive")
        return (f"; the electrolyte is depleted (c_e / c_e0 down to {e['min_ratio']:.1e}) "
                f"since t = {e['depleted_from_s']:.1f} s{hint}")

    def accumulate_reaction(self, j_per_particle: np.ndarray, dt: float):
        self._jdt += j_per_particle * dt
        self._t += dt

    def snapshot(self, dod: float, final: bool = False, states=None):
        """Per-particle and per-depth mean stoichiometry at ``dod`` (now, or ``states``:
        (per particle, per bin) interpolated by the caller to that depth)."""
        label = "end" if final else f"dod{round(100 * dod):d}"
        x_p, x_b = states if states is not None else self.probe.stoichiometry()
        self.particle_states[label] = x_p
        self.profiles[label] = x_b

    def finish(self, reason: str, message: str = ""):
        self.stop_reason = reason
        self.stop_message = message

    # ---- checkpoints ------------------------------------------------------------------
    _SERIES = ("time_s", "current_A", "voltage", "capacity_mAh_cm2", "capacity_mAh_g",
               "stoichiometry_mean")

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """What a checkpoint needs to carry on: JSON-able scalars and named arrays."""
        scalars = {k: getattr(self, k) for k in self._SERIES}
        scalars.update(errors=self.errors, t_reaction=self._t,
                       labels=list(self.particle_states), stop_reason=self.stop_reason,
                       stop_message=self.stop_message, electrolyte=self.electrolyte,
                       solid=self.solid)
        arrays = {f"particles_{k}": v for k, v in self.particle_states.items()}
        arrays.update({f"profile_{k}": v for k, v in self.profiles.items()})
        if self._jdt is not None:
            arrays["jdt"] = self._jdt
        return scalars, arrays

    def restore(self, scalars: dict, arrays: dict[str, np.ndarray]) -> None:
        for k in self._SERIES:
            setattr(self, k, [float(v) for v in scalars[k]])
        self.errors = {k: list(v) for k, v in scalars["errors"].items()}
        self._t = float(scalars["t_reaction"])
        self.stop_reason, self.stop_message = scalars["stop_reason"], scalars["stop_message"]
        self.electrolyte = dict(scalars.get("electrolyte", self.electrolyte))
        self.solid = dict(scalars.get("solid", self.solid))  # not in older checkpoints
        self.particle_states = {k: arrays[f"particles_{k}"] for k in scalars["labels"]}
        self.profiles = {k: arrays[f"profile_{k}"] for k in scalars["labels"]}
        if "jdt" in arrays:
            self._jdt = np.array(arrays["jdt"], dtype=float)

    # ---- derived ----------------------------------------------------------------------
    def sod(self, x: np.ndarray) -> np.ndarray:
        return (x - self.x_lo) / (self.x_hi - self.x_lo)

    @property
    def capacity_mAh_cm2_final(self) -> float:
        return self.capacity_mAh_cm2[-1]

    def summary(self) -> dict:
        e = {k: (max(v) if v else 0.0) for k, v in self.errors.items()}
        return {"capacity_mAh_cm2": self.capacity_mAh_cm2[-1],
                "capacity_mAh_g": self.capacity_mAh_g[-1],
                "final_voltage_V": self.voltage[-1], "time_s": self.time_s[-1],
                "stop_reason": self.stop_reason, "stop_message": self.stop_message,
                "min_electrolyte_concentration_ratio": self.electrolyte["min_ratio"],
                "electrolyte_depleted_from_s": self.electrolyte["depleted_from_s"],
                "max_stoichiometry": self.solid["max_x"],
                "stoichiometry_above_1_from_s": self.solid["above_one_from_s"],
                "warnings": self.warnings(), "max_relative_error": e}

    # ---- writers (rank 0) -------------------------------------------------------------
    def write(self, folder: str | Path, comm=None, extra_info: dict | None = None,
              plots: bool = True) -> Path | None:
        folder = Path(folder)
        if comm is not None and comm.rank != 0:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / "discharge.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["time_s", "current_A", "voltage_V", "capacity_mAh_cm2",
                        "capacity_mAh_g", "stoichiometry_mean"])
            for row in zip(self.time_s, self.current_A, self.voltage, self.capacity_mAh_cm2,
                           self.capacity_mAh_g, self.stoichiometry_mean, strict=True):
                w.writerow([f"{v:.10g}" for v in row])
        p = self.probe
        labels = list(self.particle_states)
        with open(folder / "particles.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["particle_id", "volume_m3", "centroid_z_m", "surface_m2",
                        "mean_abs_current_density_A_m2"]
                       + [f"{k}_{lab}" for lab in labels for k in ("stoichiometry", "sod")])
            jmean = self._jdt / max(self._t, 1e-300) / np.where(p.surface > 0, p.surface, 1)
            for i, pid in enumerate(p.ids):
                row = [int(pid), p.volume[i], p.centroid_z[i], p.surface[i], jmean[i]]
                for lab in labels:
                    x = self.particle_states[lab][i]
                    row += [x, self.sod(x)]
                w.writerow([v if isinstance(v, int) else f"{v:.8g}" for v in row])
        with open(folder / "sod_profile.csv", "w", newline="") as f:
            w = csv.writer(f)
            centres = 0.5 * (p.bin_edges[1:] + p.bin_edges[:-1])
            w.writerow(["z_m", "am_volume_m3"] + [f"sod_{lab}" for lab in labels])
            for i, z in enumerate(centres):
                w.writerow([f"{z:.6g}", f"{p.bin_volume[i]:.6g}"]
                           + [f"{self.sod(self.profiles[lab][i]):.6g}" for lab in labels])
        info = {**self.info, **(extra_info or {}), "summary": self.summary(),
                "conservation_per_step": self.errors}
        (folder / "info.json").write_text(json.dumps(info, indent=2, default=_json))
        if plots:
            from .plots import plot_results

            plot_results(self, folder)
        return folder

    @staticmethod
    def read_discharge(folder: str | Path) -> dict[str, np.ndarray]:
        data = np.genfromtxt(Path(folder) / "discharge.csv", delimiter=",", names=True)
        return {k: data[k] for k in data.dtype.names}


def _json(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    return str(o)
