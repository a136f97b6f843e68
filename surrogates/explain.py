"""Tree SHAP explanations of a surrogate: values, summary and dependence plots (PNG)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .models import Surrogate, design_matrix


@dataclass(frozen=True)
class Explanation:
    values: np.ndarray          # (rows, features) SHAP values
    expected_value: float
    features: tuple[str, ...]
    x: np.ndarray               # the features, SI (as in the dataset)


def shap_values(model: Surrogate, data: Dataset) -> Explanation:
    """Exact tree SHAP values of ``model`` on ``data`` (on the scaled inputs the estimator
    sees; a rescaled feature has the same SHAP values)."""
    import shap

    explainer = shap.TreeExplainer(model.estimator)
    vals = np.asarray(explainer.shap_values(design_matrix(data, model.features)))
    ev = float(np.ravel(explainer.expected_value)[0])
    return Explanation(vals, ev, model.features, data.features(model.features))


def write_plots(expl: Explanation, folder: str | Path) -> list[Path]:
    """``shap_summary.png`` and one ``shap_dependence_<feature>.png`` per feature."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import shap

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    shap.summary_plot(expl.values, expl.x, feature_names=list(expl.features), show=False)
    p = folder / "shap_summary.png"
    plt.gcf().savefig(p, dpi=120, bbox_inches="tight")
    plt.close("all")
    out.append(p)
    for i, name in enumerate(expl.features):
        fig, ax = plt.subplots(figsize=(4.5, 3.5))
        sc = ax.scatter(expl.x[:, i], expl.values[:, i], s=6, c=expl.x[:, 0], cmap="viridis")
        fig.colorbar(sc, ax=ax, label=expl.features[0])
        ax.set_xlabel(name)
        ax.set_ylabel(f"SHAP value of {name}")
        p = folder / f"shap_dependence_{name}.png"
        fig.savefig(p, dpi=120, bbox_inches="tight")
        plt.close(fig)
        out.append(p)
    return out
