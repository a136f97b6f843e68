"""Analysis of a process -> property map study (paper 002) from its structure records alone:
per-structure rows, per-condition means and standard deviations (paper 002's averaged data
points), a regressor from the process variables to each property with its held-out accuracy,
and the maps (paper 002, Figs 4-9)."""

from __future__ import annotations

import csv
import json
import math
import warnings
from pathlib import Path

import numpy as np

from .rate_analysis import AnalysisError

# property -> axis label. tau is the square root of the tortuosity factor (paper 002's tau,
# "the square root of the tortuosity factor"); both are stored.
PROPERTIES = {
    "porosity": "porosity $\\varepsilon$ (measured)",
    "tau_liquid": "$\\tau_{liq}$ = $\\sqrt{\\mathrm{tortuosity\\ factor}}$ (electrolyte)",
    "tau_factor_liquid": "tortuosity factor, electrolyte",
    "tau_pore": "$\\tau$ of the pore phase (CBD sealed)",
    "tau_factor_pore": "tortuosity factor, pore phase",
    "tau_solid": "$\\tau_{sol}$ = $\\sqrt{\\mathrm{tortuosity\\ factor}}$ (AM + CBD)",
    "tau_factor_solid": "tortuosity factor, solid",
    "macmullin_liquid": "MacMullin number $N_M$",
    "sigma_eff_S_m": "$\\sigma_{eff}$ (S/m), ionic",
    "cc_coverage_am_pct": "CC covered by AM (%)",
    "cc_coverage_cbd_pct": "CC covered by CBD (%)",
    "active_surface_pct": "active surface (% of AM surface)",
    "electronic_conductivity_S_m": "electronic conductivity (S/m)",
}
# mapped (plotted); the tortuosity factors and the MacMullin number are fitted and tabulated
MAPPED = ("tau_liquid", "tau_pore", "tau_solid", "sigma_eff_S_m", "cc_coverage_am_pct",
          "cc_coverage_cbd_pct", "active_surface_pct", "electronic_conductivity_S_m")
# fitted in log space: it spans decades as the CBD network percolates or not
LOG_PROPERTIES = ("electronic_conductivity_S_m",)


def structure_row(rec: dict, sigma_bulk: float) -> dict:
    """One structure's properties from its record. Liquid = the electrolyte medium (pores and
    the CBD's nanopores, Bruggeman inside the CBD); sigma_eff = sigma_bulk eps / tau_factor
    (MacMullin, paper 002 eq. 1) with eps the electrolyte fraction."""
    t = rec["tortuosity"]

    def factor(medium):
        v = t[f"{medium}_z"]["tortuosity_factor"]
        return math.inf if v is None else float(v)

    eps = float(t["electrolyte_z"]["volume_fraction"])
    liq, pore, sol = factor("electrolyte"), factor("pore"), factor("solid")
    vf = rec["volume_fractions"]
    return {"condition": rec["condition"], "seed": rec["seed"], **rec["variables"],
            "eps_cal": rec["eps_cal"], "thickness_cal_um": rec["thickness_cal_um"],
            "porosity": eps, "am_fraction": vf["am"], "cbd_fraction": vf["cbd"],
            "pore_fraction": vf["pore"], "n_particles": rec["n_particles"],
            "tau_liquid": math.sqrt(liq), "tau_factor_liquid": liq,
            "tau_pore": math.sqrt(pore), "tau_factor_pore": pore,
            "tau_solid": math.sqrt(sol), "tau_factor_solid": sol,
            "macmullin_liquid": liq / eps, "sigma_eff_S_m": sigma_bulk * eps / liq,
            "cc_coverage_am_pct": 100.0 * rec["coverage"]["cc_coverage_am"],
            "cc_coverage_cbd_pct": 100.0 * rec["coverage"]["cc_coverage_cbd"],
            "active_surface_pct": 100.0 * rec["active_surface_fraction"],
            "electronic_conductivity_S_m": rec["electronic_conductivity_S_m"],
            "generate_s": rec["generate_s"], "characterise_s": rec["characterise_s"]}


def condition_means(rows: list[dict], study) -> list[dict]:
    """Mean and sample standard deviation of every property per condition, over the seeds
    whose value is finite (a medium that does not percolate has an infinite tortuosity)."""
    out = []
    for c in study.conditions():
        rs = [r for r in rows if r["condition"] == c.id]
        row = {"condition": c.id, **c.variables(), "eps_cal": c.eps_cal,
               "thickness_cal_um": c.thickness_cal_um, "n_structures": len(rs),
               "n_non_percolating": sum(not all(math.isfinite(r[k]) for k in PROPERTIES)
                                        for r in rs)}
        for k in PROPERTIES:
            v = np.array([r[k] for r in rs], float)
            v = v[np.isfinite(v)]
            row[f"{k}_mean"] = float(v.mean()) if len(v) else math.nan
            row[f"{k}_std"] = float(v.std(ddof=1)) if len(v) > 1 else math.nan
        out.append(row)
    return out


# ---- regression -------------------------------------------------------------------------------

def make_model(kind: str, n_inputs: int, seed: int, log: bool = False):
    """A regressor for small, smooth data on standardised inputs: a Gaussian process
    (anisotropic RBF + white noise, its hyper-parameters by maximum likelihood) or a quadratic
    polynomial with ridge regularisation chosen by leave-one-out CV; ``log``: of log(y)."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    if kind == "polynomial_ridge":
        from sklearn.linear_model import RidgeCV

        model = make_pipeline(StandardScaler(), PolynomialFeatures(2),
                              RidgeCV(alphas=np.logspace(-6, 2, 17)))
    else:
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        kernel = ConstantKernel(1.0, (1e-3, 1e4)) * RBF(np.ones(n_inputs), (1e-2, 1e4)) \
            + WhiteKernel(1e-2, (1e-8, 1.0))
        model = make_pipeline(StandardScaler(), GaussianProcessRegressor(
            kernel, normalize_y=True, n_restarts_optimizer=1, random_state=seed))
    return TransformedTargetRegressor(model, func=np.log, inverse_func=np.exp,
                                      check_inverse=False) if log else model


def _describe(model) -> str:
    est = getattr(model, "regressor_", model)[-1]
    kind = f"GP {est.kernel_}" if hasattr(est, "kernel_") else \
        f"quadratic ridge, alpha {est.alpha_:.3g}"
    return kind + (" (of log y)" if hasattr(model, "regressor_") else "")


def _scores(y, pred) -> dict:
    """R^2 and the accuracy 100 (1 - mean |pred - y| / |y|) %, the complement of the mean
    absolute percentage error."""
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    out = {"n": int(len(y)), "mae": float(np.mean(np.abs(pred - y)))}
    ss = float(np.sum((y - y.mean()) ** 2))
    out["r2"] = 1.0 - float(np.sum((pred - y) ** 2)) / ss if len(y) > 1 and ss > 0 else None
    nz = np.abs(y) > 0
    out["accuracy_pct"] = 100.0 * (1.0 - float(np.mean(np.abs(pred - y)[nz] / np.abs(y[nz])))) \
        if nz.any() else None
    return out


def fit_properties(dataset: list[dict], study) -> tuple[dict, dict]:
    """Per property: the held-out scores of a seeded random train/test split, the k-fold CV
    scores, and the model refitted on every condition (for the maps). Returns
    (report, models)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, cross_val_predict, train_test_split
    from threadpoolctl import threadpool_limits

    fo = study.fit
    inputs = ["am_wt", "eps_init", study.law.variable]
    report, models = {}, {}
    for prop in PROPERTIES:
        rows = [r for r in dataset if math.isfinite(r[f"{prop}_mean"])]
        X = np.array([[r[k] for k in inputs] for r in rows], float)
        y = np.array([r[f"{prop}_mean"] for r in rows], float)
        n_test = math.ceil(fo.test_fraction * len(y))
        if len(y) < 4 or len(y) - n_test < 2:
            report[prop] = {"skipped": f"{len(y)} conditions with a finite mean; a fit needs 4"}
            continue
        # one BLAS thread: on matrices this small, threads cost ten times the work
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", ConvergenceWarning)
            log = prop in LOG_PROPERTIES and bool(np.all(y > 0))
            Xa, Xb, ya, yb = train_test_split(X, y, test_size=n_test, random_state=fo.seed)
            model = make_model(fo.model, len(inputs), fo.seed, log).fit(Xa, ya)
            test = _scores(yb, model.predict(Xb))
            folds = min(fo.cv_folds, len(y))
            cv_pred = cross_val_predict(make_model(fo.model, len(inputs), fo.seed, log), X, y,
                                        cv=KFold(folds, shuffle=True, random_state=fo.seed))
            full = make_model(fo.model, len(inputs), fo.seed, log).fit(X, y)
        models[prop] = full
        report[prop] = {"n_conditions": len(y), "n_train": len(ya), "test": test,
                        "cv": {"folds": folds, **_scores(y, cv_pred)},
                        "train": _scores(y, full.predict(X)),
                        "model": _describe(full),
                        "parity": {"true": y.tolist(), "cv_predicted": cv_pred.tolist()}}
    return report, models


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


# ---- the study folder -------------------------------------------------------------------------

def _write_csv(path: Path, rows: list[dict]) -> None:
    """Floats at full precision (repr), so that derived columns can be checked exactly."""
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows({k: repr(v) if isinstance(v, float) else v for k, v in r.items()}
                    for r in rows)


def analyse(output: str | Path, study, plots: bool = True) -> dict:
    """structures.csv, dataset.csv, fit.json and (``plots``) the maps from
    ``output/structures/``."""
    from .property_map import _read_record

    output = Path(output)
    rows, failed = [], []
    for c in study.conditions():
        for seed in study.seed_values():
            path = output / "structures" / f"{c.id}_s{seed}.json"
            rec = _read_record(path, study.recipe_for(c, seed))
            if rec is None:
                raise AnalysisError(f"{path} is missing or was computed from another recipe: "
                                    "run the study first")
            if rec["status"] != "ok":
                failed.append({"condition": c.id, "seed": seed, "error": rec["error"]})
                continue
            rows.append(structure_row(rec, study.sigma_bulk_S_m))
    if not rows:
        raise AnalysisError(f"no structure of the study could be generated: {failed[:3]}")
    dataset = condition_means(rows, study)
    _write_csv(output / "structures.csv", rows)
    _write_csv(output / "dataset.csv", dataset)
    report, models = fit_properties(dataset, study)
    fit = {"model": study.fit.model, "inputs": ["am_wt", "eps_init", study.law.variable],
           "fitted_to": "per-condition means (dataset.csv)",
           "test_split": f"random {study.fit.test_fraction:g} of the conditions, seed "
                         f"{study.fit.seed}",
           "accuracy_pct": "100 (1 - mean |predicted - true| / |true|)",
           "scikit-learn": _version("scikit-learn"), "properties": report}
    (output / "fit.json").write_text(json.dumps(fit, indent=2))
    if plots:
        from .property_plots import plot_maps

        plot_maps(output / "maps", dataset, study, models, report)
    t = np.array([r["generate_s"] + r["characterise_s"] for r in rows])
    return {"n_conditions": len(dataset), "n_structures_ok": len(rows), "failed": failed,
            "tau": "tau_* = sqrt(tortuosity factor) (paper 002); tau_factor_* = the factor",
            "seconds_per_structure": {"mean": float(t.mean()), "max": float(t.max())},
            "fit": {p: ({f"{k}_{m}": r[k][m] for k in ("test", "cv")
                         for m in ("r2", "accuracy_pct")} if "skipped" not in r else r)
                    for p, r in report.items()}}
