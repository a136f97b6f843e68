"""Random forest / gradient boosting SOD surrogates: grouped cross-validation, metrics, and
save/load with the feature schema and training provenance."""

from __future__ import annotations

import json
import pickle
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .dataset import FEATURES, TARGET, Dataset

KINDS = ("random_forest", "gradient_boosting")
MODEL_FILE = "model.pkl"
INFO_FILE = "info.json"


class SchemaError(ValueError):
    """Inputs whose features differ from the ones the model was trained on."""


def input_scale(features: tuple[str, ...] = FEATURES) -> np.ndarray:
    """Factor from a feature's SI value to the value the estimators see: lengths in um, areas
    in um2, volumes in um3. scikit-learn's trees take a feature whose values differ by less
    than 1e-7 for constant (FEATURE_THRESHOLD): in SI, volumes (~1e-16 m3) and areas
    (~1e-11 m2) would never be split on."""
    return np.array([1e18 if f.endswith("_m3") else 1e12 if f.endswith("_m2")
                     else 1e6 if f.endswith("_m") else 1.0 for f in features])


def design_matrix(data: Dataset, features: tuple[str, ...] = FEATURES) -> np.ndarray:
    """The estimators' input: ``data``'s features scaled by :func:`input_scale`."""
    return data.features(features) * input_scale(features)


def make_estimator(kind: str, seed: int = 0):
    """A fresh scikit-learn regressor of ``kind``."""
    if kind == "random_forest":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(n_estimators=200, min_samples_leaf=2, random_state=seed,
                                     n_jobs=1)
    if kind == "gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05,
                                             random_state=seed)
    raise ValueError(f"unknown model kind {kind!r}; choose from {KINDS}")


@dataclass(frozen=True)
class Metrics:
    mae: float
    mean_relative_error: float
    n: int

    @staticmethod
    def of(y_true: np.ndarray, y_pred: np.ndarray, floor: float = 1e-3) -> Metrics:
        """MAE and mean relative error |e|/|y| (rows with |y| < ``floor`` left out of MRE)."""
        err = np.abs(y_pred - y_true)
        keep = np.abs(y_true) >= floor
        mre = float(np.mean(err[keep] / np.abs(y_true[keep]))) if keep.any() else float("nan")
        return Metrics(float(err.mean()), mre, int(len(y_true)))


@dataclass(frozen=True)
class Fold:
    test_electrodes: tuple[str, ...]
    train_electrodes: tuple[str, ...]
    model: Metrics
    mean_baseline: Metrics
    dod_baseline: Metrics


@dataclass(frozen=True)
class CVReport:
    kind: str
    folds: list[Fold]
    overall: Metrics
    overall_baseline: Metrics
    overall_dod_baseline: Metrics

    def to_json(self) -> dict:
        return asdict(self)


def grouped_splits(groups: np.ndarray, n_splits: int | None = None):
    """(train, test) index arrays; each electrode's rows are all in train or all in test."""
    from sklearn.model_selection import GroupKFold, LeaveOneGroupOut

    uniq = np.unique(groups)
    if len(uniq) < 2:
        raise ValueError(f"grouped cross-validation needs at least 2 electrodes, got {len(uniq)}")
    splitter = LeaveOneGroupOut() if n_splits is None or n_splits >= len(uniq) \
        else GroupKFold(n_splits=n_splits)
    x = np.zeros((len(groups), 1))
    yield from splitter.split(x, groups=groups)


def cross_validate(data: Dataset, kind: str = "random_forest", seed: int = 0,
                   n_splits: int | None = None) -> CVReport:
    """Grouped (by electrode) cross-validation. Baselines: the training rows' mean SOD, and
    their mean SOD at the row's DoD (what a model ignoring the structure could do)."""
    x, y, g = design_matrix(data), data.target(), data.groups()
    dod = data.columns["dod"].astype(float)
    folds, pred, base, dbase = [], np.empty_like(y), np.empty_like(y), np.empty_like(y)
    for tr, te in grouped_splits(g, n_splits):
        est = make_estimator(kind, seed).fit(x[tr], y[tr])
        pred[te] = est.predict(x[te])
        base[te] = y[tr].mean()
        for d in np.unique(dod[te]):
            seen = dod[tr] == d
            dbase[te[dod[te] == d]] = y[tr][seen].mean() if seen.any() else y[tr].mean()
        folds.append(Fold(tuple(sorted(set(g[te]))), tuple(sorted(set(g[tr]))),
                          Metrics.of(y[te], pred[te]), Metrics.of(y[te], base[te]),
                          Metrics.of(y[te], dbase[te])))
    return CVReport(kind, folds, Metrics.of(y, pred), Metrics.of(y, base),
                    Metrics.of(y, dbase))


@dataclass
class Surrogate:
    """A trained regressor with its feature schema and training provenance."""

    estimator: object
    kind: str
    features: tuple[str, ...] = FEATURES
    target: str = TARGET
    provenance: dict = field(default_factory=dict)

    @staticmethod
    def train(data: Dataset, kind: str = "random_forest", seed: int = 0,
              provenance: dict | None = None) -> Surrogate:
        est = make_estimator(kind, seed).fit(design_matrix(data), data.target())
        prov = {"seed": seed, "n_rows": len(data),
                "electrodes": sorted(set(data.groups().tolist())),
                "trained": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(provenance or {})}
        return Surrogate(est, kind, FEATURES, TARGET, prov)

    def check_schema(self, features: tuple[str, ...]) -> None:
        if tuple(features) != tuple(self.features):
            raise SchemaError(f"feature schema differs from the model's: got {list(features)}, "
                              f"model expects {list(self.features)}")

    def predict(self, data: Dataset, features: tuple[str, ...] = FEATURES) -> np.ndarray:
        self.check_schema(features)
        return self.estimator.predict(design_matrix(data, self.features))

    def save(self, folder: str | Path) -> Path:
        from electrode3d.provenance import versions

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / MODEL_FILE, "wb") as f:
            pickle.dump(self.estimator, f)
        info = {"kind": self.kind, "features": list(self.features), "target": self.target,
                "input_scale": input_scale(self.features).tolist(),
                "provenance": self.provenance,
                "versions": {**versions(), "scikit-learn": _sklearn_version()}}
        (folder / INFO_FILE).write_text(json.dumps(info, indent=2, default=str))
        return folder

    @staticmethod
    def load(folder: str | Path) -> Surrogate:
        folder = Path(folder)
        if not (folder / MODEL_FILE).is_file() or not (folder / INFO_FILE).is_file():
            raise FileNotFoundError(f"{folder} is not a surrogate model folder "
                                    f"(needs {MODEL_FILE} and {INFO_FILE})")
        info = json.loads((folder / INFO_FILE).read_text())
        if info.get("target") != TARGET or tuple(info.get("features", ())) != FEATURES:
            raise SchemaError(f"feature schema differs from this version's: model has "
                              f"{info.get('features')}, this code uses {list(FEATURES)}")
        if info.get("input_scale") != input_scale(FEATURES).tolist():
            raise SchemaError(f"feature schema differs from this version's: model scales its "
                              f"inputs by {info.get('input_scale')}, this code by "
                              f"{input_scale(FEATURES).tolist()}")
        with open(folder / MODEL_FILE, "rb") as f:
            est = pickle.load(f)  # noqa: S301 (own model files only)
        return Surrogate(est, info["kind"], tuple(info["features"]), info["target"],
                         info.get("provenance", {}))


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__
