"""Plots of a rate-capability study: capacity and energy against current (log-log, with the
Peukert fits) and the state of discharge against the distance to the separator."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_study(output: Path, rows: list[dict], depth: list[dict], fits: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["electrode"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((axes[0], "capacity", "capacity (mAh/cm$^2$)"),
                           (axes[1], "energy", "energy (mWh/cm$^2$)")):
        col = "capacity_mAh_cm2" if key == "capacity" else "energy_mWh_cm2"
        for name in names:
            rs = [r for r in rows if r["electrode"] == name]
            i = np.array([r["current_density_mA_cm2"] for r in rs])
            f = fits[name].get(key)
            line = ax.loglog(i, [r[col] for r in rs], "o", label=name if f is None else
                             f"{name}: $\\gamma$ = {f['gamma']:.3f}")[0]
            if f is not None:
                ii = np.geomspace(i.min(), i.max(), 50)
                ax.loglog(ii, f["beta"] * ii ** -f["alpha"], "-", color=line.get_color(), lw=1)
        ax.set_xlabel("current density (mA/cm$^2$)")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.suptitle("rate capability, Y = $\\beta I^{-\\alpha}$, $\\gamma = 2^{-\\alpha}$")
    fig.tight_layout()
    fig.savefig(output / "rate_capability.png", dpi=120)
    plt.close(fig)

    rates = sorted({d["c_rate"] for d in depth})
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6), squeeze=False,
                             sharey=True)
    for ax, name in zip(axes[0], names, strict=True):
        for c in rates:
            ds = [d for d in depth if d["electrode"] == name and d["c_rate"] == c
                  and d["am_volume_m3"] > 0]
            ax.plot([d["distance_to_separator_m"] * 1e6 for d in ds],
                    [d["sod_end"] for d in ds], "-", label=f"{c:g}C")
        ax.set_title(name)
        ax.set_xlabel("distance to the separator (µm)")
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("SOD at the cut-off")
    fig.tight_layout()
    fig.savefig(output / "sod_depth.png", dpi=120)
    plt.close(fig)
