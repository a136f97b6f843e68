"""Maps of a process -> property study, as paper 002's Figs 4-9: one panel per initial
porosity, the property against the calendering variable, one colour per AM fraction (the
fitted model as a line, the per-condition means with their standard deviations as points)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .property_analysis import MAPPED, PROPERTIES


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _panels(plt, study, ylabel: str, xlabel: str | None = None):
    n = len(study.eps_init)
    fig, axes = plt.subplots(1, n, figsize=(3.0 * n + 0.8, 3.2), squeeze=False, sharey=True)
    for ax, ei in zip(axes[0], study.eps_init, strict=True):
        ax.set_title(f"$\\varepsilon_{{init}}$ = {ei:g}", fontsize=10)
        ax.set_xlabel(xlabel or study.law.label, fontsize=8)
    axes[0][0].set_ylabel(ylabel, fontsize=9)
    colours = plt.cm.viridis(np.linspace(0.0, 0.85, len(study.am_wt)))
    return fig, axes[0], colours


def _save(fig, path: Path) -> None:
    fig.axes[0].legend(fontsize=7, title="AM wt %", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    fig.clf()


def _points(dataset, study, am, ei):
    rs = sorted((r for r in dataset if r["am_wt"] == am and r["eps_init"] == ei),
                key=lambda r: r[study.law.variable])
    return rs, np.array([r[study.law.variable] for r in rs])


def _line(study, am, ei, n=60):
    xs = np.linspace(min(study.calendering), max(study.calendering), n)
    return xs, np.column_stack([np.full(n, am), np.full(n, ei), xs])


def plot_maps(folder: Path, dataset: list[dict], study, models: dict, report: dict) -> None:
    """``<property>.png`` per mapped property, ``porosity_calendering.png`` (Fig. 4: the law and the
    measured porosity), ``sigma_eff_vs_porosity.png`` (Fig. 7) and ``fit_parity.png`` (CV
    predictions against the data, per property)."""
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    for prop in MAPPED:
        fig, axes, colours = _panels(plt, study, PROPERTIES[prop])
        for ax, ei in zip(axes, study.eps_init, strict=True):
            for am, col in zip(study.am_wt, colours, strict=True):
                rs, x = _points(dataset, study, am, ei)
                ax.errorbar(x, [r[f"{prop}_mean"] for r in rs],
                            yerr=[r[f"{prop}_std"] for r in rs], fmt="o", ms=4, capsize=2,
                            color=col, label=None if prop in models else f"{am:g}")
                if prop in models:
                    xs, X = _line(study, am, ei)
                    ax.plot(xs, models[prop].predict(X), "-", lw=1.2, color=col,
                            label=f"{am:g}")
        _save(fig, folder / f"{prop}.png")

    # Fig. 4: the calendering law and the porosity the generator reached
    fig, axes, colours = _panels(plt, study, "porosity after calendering")
    for ax, ei in zip(axes, study.eps_init, strict=True):
        xs = np.linspace(min(study.calendering), max(study.calendering), 60)
        ax.plot(xs, [study.law.apply(ei, x)[0] for x in xs], "k-", lw=1, label="law")
        for am, col in zip(study.am_wt, colours, strict=True):
            rs, x = _points(dataset, study, am, ei)
            ax.errorbar(x, [r["porosity_mean"] for r in rs],
                        yerr=[r["porosity_std"] for r in rs], fmt="o", ms=4, capsize=2,
                        color=col, label=f"{am:g}")
    _save(fig, folder / "porosity_calendering.png")

    # Fig. 7: sigma_eff against the calendered porosity
    fig, axes, colours = _panels(plt, study, PROPERTIES["sigma_eff_S_m"],
                                 "porosity after calendering")
    for ax, ei in zip(axes, study.eps_init, strict=True):
        for am, col in zip(study.am_wt, colours, strict=True):
            rs, _ = _points(dataset, study, am, ei)
            ax.errorbar([r["porosity_mean"] for r in rs], [r["sigma_eff_S_m_mean"] for r in rs],
                        xerr=[r["porosity_std"] for r in rs],
                        yerr=[r["sigma_eff_S_m_std"] for r in rs], fmt="o", ms=4, capsize=2,
                        color=col, label=f"{am:g}")
            if "sigma_eff_S_m" in models:
                xs, X = _line(study, am, ei)
                ax.plot([study.law.apply(ei, x)[0] for x in xs],
                        models["sigma_eff_S_m"].predict(X), "-", lw=1.2, color=col)
    _save(fig, folder / "sigma_eff_vs_porosity.png")

    fitted = [p for p in PROPERTIES if "parity" in report.get(p, {})]
    if fitted:
        cols = 4
        rows = -(-len(fitted) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.8 * rows), squeeze=False)
        for ax in axes.flat[len(fitted):]:
            ax.set_visible(False)
        for ax, prop in zip(axes.flat, fitted, strict=False):
            p = report[prop]["parity"]
            ax.plot(p["true"], p["cv_predicted"], "o", ms=3)
            lo, hi = min(p["true"] + p["cv_predicted"]), max(p["true"] + p["cv_predicted"])
            ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
            cv = report[prop]["cv"]
            ax.set_title(f"{prop}\nCV R$^2$ {cv['r2']:.3f}" if cv["r2"] is not None
                         else prop, fontsize=8)
            ax.tick_params(labelsize=7)
        fig.supxlabel("condition mean", fontsize=9)
        fig.supylabel(f"{report[fitted[0]]['cv']['folds']}-fold CV prediction", fontsize=9)
        fig.tight_layout()
        fig.savefig(folder / "fit_parity.png", dpi=110)
    plt.close("all")
