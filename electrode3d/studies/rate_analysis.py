"""Analysis of a rate-capability study from its folders alone (a study run on a cluster can be
analysed on a laptop): Peukert fits (paper 003, eq. 6), layer utilisation from the particles'
states of discharge, the disparity coefficient psi (eq. 8) measured and as estimated by the
paper's eq. 7-8 from standalone single layers, the heterogeneity factor delta (eq. 3),
comparisons with the reference electrode, SOD against depth, plots."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..pipeline import energy_mWh_cm2, peukert_fit


class AnalysisError(ValueError):
    pass


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        raise AnalysisError(f"{path} is missing: was the discharge finished?")
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.8g}" if isinstance(v, float) else v) for k, v in r.items()})


def layer_bounds(ms, split_fraction: float = 0.5) -> tuple[list[str], float]:
    """Names of the (bottom, top) layers and the height (m) that separates them: the
    structure's own layer interface when it has two layers, else ``split_fraction`` of the
    thickness."""
    if len(ms.layers) == 2:
        return [ms.layers[0].name, ms.layers[1].name], float(ms.layers[0].z_max)
    if len(ms.layers) > 2:
        raise AnalysisError(f"layer analysis handles one or two layers, the structure has "
                            f"{len(ms.layers)}")
    return ["bottom", "top"], float(split_fraction * ms.box[2])


def layer_utilisation(particles: list[dict], z_split: float, label: str = "end") -> dict:
    """AM-volume-weighted mean SOD of the particles below and above ``z_split`` (by their
    centroid), their AM volume shares omega, and psi = U1 / (U1 + U2): paper 003's disparity
    coefficient (eq. 8) with the layers' utilisations measured instead of inferred (0.5: both
    layers equally used; > 0.5: the bottom layer more)."""
    v = np.array([float(p["volume_m3"]) for p in particles])
    z = np.array([float(p["centroid_z_m"]) for p in particles])
    s = np.array([float(p[f"sod_{label}"]) for p in particles])
    if len(v) == 0 or v.sum() <= 0:
        raise AnalysisError("no particle with a volume in particles.csv")
    bottom = z < z_split

    def mean(m):  # NaN for a layer without particles (e.g. a single particle)
        return float(np.sum(v[m] * s[m]) / np.sum(v[m])) if m.any() else float("nan")

    u1, u2 = mean(bottom), mean(~bottom)
    w1 = float(v[bottom].sum() / v.sum())
    return {"utilisation_bottom": u1, "utilisation_top": u2, "omega_bottom": w1,
            "omega_top": 1.0 - w1, "utilisation": float(np.sum(v * s) / v.sum()),
            "psi": u1 / (u1 + u2) if u1 + u2 > 0 else float("nan")}


def psi_from_standalones(q_t: float, q_1: float, q_2: float, w_1: float, w_2: float) -> dict:
    """Paper 003, eq. 7-8: the top layer's utilisation coefficient u2 (with u1 = 1) from the
    bilayer's specific capacity Q_t and those of its layers alone, Q_1 (bottom) and Q_2 (top),
    and psi = w2 / (w2 - w1 + Q_t / Q_1)."""
    u2 = (q_t - w_1 * q_1) / (w_2 * q_2)
    return {"u2_eq7": u2, "psi_eq8": w_2 / (w_2 - w_1 + q_t / q_1)}


def heterogeneity(ms, particles: list[dict], z_split: float) -> float | None:
    """delta (paper 003, eq. 3) of a two-layer generated electrode: the recipe's carbon
    fraction of each layer weighted by the AM volume the mesh holds in it."""
    from mesostructure.metrics import heterogeneity_factor
    from mesostructure.recipe import parse_recipe

    src = ms.metadata.get("recipe")
    if len(ms.layers) != 2 or not src:
        return None
    rec = parse_recipe(src)
    fc = [ly.composition_wt.get("carbon", 0.0) / 100.0 for ly in rec.layers]
    v = np.array([float(p["volume_m3"]) for p in particles])
    z = np.array([float(p["centroid_z_m"]) for p in particles])
    return heterogeneity_factor(fc, [v[z < z_split].sum(), v[z >= z_split].sum()])


def _within(row: dict) -> bool:
    """No node of the run passed x = 1 (unknown for older runs: counted as within)."""
    return not row["max_stoichiometry"] > 1.0


def _electrode_rows(folder: Path, name: str, study) -> tuple[list[dict], list[dict], dict]:
    from mesostructure import Microstructure

    ms = Microstructure.load(folder / "structure.h5")
    names, z_split = layer_bounds(ms, study.split_fraction)
    rows, depth, delta = [], [], None
    for c in study.c_rates:
        run = folder / f"discharge_{c:g}C"
        info = json.loads((run / "info.json").read_text())
        particles = _read_csv(run / "particles.csv")
        lay = layer_utilisation(particles, z_split)
        s = info["summary"]
        usable = info["usable_capacity_mAh_cm2"]
        delta = heterogeneity(ms, particles, z_split) if delta is None else delta
        i = info["current_density_A_m2"] / 10.0
        disc = np.genfromtxt(run / "discharge.csv", delimiter=",", names=True)
        energy = energy_mWh_cm2(disc["time_s"], disc["voltage_V"], disc["current_A"],
                                info["cc_area_m2"])
        rows.append({"electrode": name, "c_rate": c, "current_density_mA_cm2": i,
                     "capacity_mAh_cm2": s["capacity_mAh_cm2"],
                     "capacity_mAh_g": s["capacity_mAh_g"], "energy_mWh_cm2": energy,
                     "utilisation": s["capacity_mAh_cm2"] / usable,
                     "utilisation_from_particles": lay["utilisation"],
                     "utilisation_bottom": lay["utilisation_bottom"],
                     "utilisation_top": lay["utilisation_top"],
                     "omega_bottom": lay["omega_bottom"], "psi": lay["psi"],
                     "stop_reason": s["stop_reason"],
                     # a nodal x above 1 (Gauss-point reactions): lithium beyond capacity
                     # counted; NaN for runs from before it was recorded
                     "max_stoichiometry": s.get("max_stoichiometry", float("nan"))})
        for p in _read_csv(run / "sod_profile.csv"):
            depth.append({"electrode": name, "c_rate": c, "z_m": float(p["z_m"]),
                          "distance_to_separator_m": float(ms.box[2]) - float(p["z_m"]),
                          "am_volume_m3": float(p["am_volume_m3"]),
                          "sod_end": float(p["sod_end"])})
    meta = {"layers": names, "z_split_m": z_split, "thickness_m": float(ms.box[2]),
            "delta": delta}
    return rows, depth, meta


def analyse(output: str | Path, study) -> dict:
    """Write the study tables and plots in ``output`` from its run folders; return the summary
    (Peukert fits, delta, verdicts against the reference)."""
    output = Path(output)
    rows, depth, meta = [], [], {}
    for e in study.electrodes:
        r, d, m = _electrode_rows(output / e.name, e.name, study)
        rows += r
        depth += d
        meta[e.name] = m
    by = {e.name: [r for r in rows if r["electrode"] == e.name] for e in study.electrodes}
    fits = {}
    for name, rs in by.items():
        cur = [r["current_density_mA_cm2"] for r in rs]
        fits[name] = dict(meta[name])
        if len(rs) >= 2:  # one rate: comparisons, no Peukert fit
            fits[name].update(
                capacity=peukert_fit(cur, [r["capacity_mAh_cm2"] for r in rs]),
                energy=peukert_fit(cur, [r["energy_mWh_cm2"] for r in rs]))
    comparison = []
    if study.reference is not None:
        ref = {r["c_rate"]: r for r in by[study.reference]}
        for name, rs in by.items():
            if name == study.reference:
                continue
            if "energy" in fits[name]:
                g, g_ref = fits[name]["energy"]["gamma"], fits[study.reference]["energy"]["gamma"]
                # paper 003, Fig. 3d: above the single layer's gamma (energy) = constructive
                fits[name]["versus_reference"] = {
                    "gamma_energy_difference": g - g_ref,
                    "verdict": "constructive" if g > g_ref else "destructive"}
            for r in rs:
                q = ref[r["c_rate"]]
                comparison.append({"electrode": name, "c_rate": r["c_rate"],
                                   "capacity_ratio": r["capacity_mAh_cm2"]
                                   / q["capacity_mAh_cm2"],
                                   "energy_ratio": r["energy_mWh_cm2"] / q["energy_mWh_cm2"],
                                   "psi": r["psi"], "psi_reference": q["psi"],
                                   # a ratio to or of a run stopped early (solver, time) is
                                   # not a capacity ratio at the cut-off
                                   "both_at_cutoff": r["stop_reason"] == "cutoff"
                                   and q["stop_reason"] == "cutoff",
                                   "both_within_capacity": _within(r) and _within(q)})
    eq7 = []
    for e in study.electrodes:
        if e.standalone is None:
            continue
        b = {r["c_rate"]: r for r in by[e.standalone[0]]}
        t = {r["c_rate"]: r for r in by[e.standalone[1]]}
        for r in by[e.name]:
            c = r["c_rate"]
            est = psi_from_standalones(r["capacity_mAh_g"], b[c]["capacity_mAh_g"],
                                       t[c]["capacity_mAh_g"], r["omega_bottom"],
                                       1.0 - r["omega_bottom"])
            eq7.append({"electrode": e.name, "c_rate": c, **est, "psi_measured": r["psi"],
                        "u1_measured": r["utilisation_bottom"] / b[c]["utilisation"],
                        "u2_measured": r["utilisation_top"] / t[c]["utilisation"]})
    _write_csv(output / "rate_capability.csv", rows)
    _write_csv(output / "sod_depth.csv", depth)
    _write_csv(output / "comparison.csv", comparison)
    _write_csv(output / "layers_eq7.csv", eq7)
    summary = {"fits": fits, "current": "current density, mA/cm2",
               "reference": study.reference,
               "not_at_cutoff": [{k: r[k] for k in ("electrode", "c_rate", "stop_reason")}
                                 for r in rows if r["stop_reason"] != "cutoff"],
               "overfull": [{k: r[k] for k in ("electrode", "c_rate", "max_stoichiometry")}
                            for r in rows if not _within(r)]}
    (output / "summary.json").write_text(json.dumps(summary, indent=2))
    from .rate_plots import plot_study

    plot_study(output, rows, depth, fits)
    return summary
