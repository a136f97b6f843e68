"""Pictures of a discharge (matplotlib, off-screen): voltage vs capacity, SOD vs depth, and a
3D view of the particles coloured by their SOD at the end of discharge."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_results(res, folder: str | Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    out = []
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(res.capacity_mAh_cm2, res.voltage, "-")
    ax.set_xlabel("capacity [mAh/cm$^2$]")
    ax.set_ylabel("voltage [V]")
    fig.tight_layout()
    out.append(folder / "voltage.png")
    fig.savefig(out[-1], dpi=120)
    plt.close(fig)

    p = res.probe
    centres = 0.5 * (p.bin_edges[1:] + p.bin_edges[:-1]) * 1e6
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for lab, xb in res.profiles.items():
        m = p.bin_volume > 0
        ax.plot(centres[m], res.sod(xb[m]), "o-", ms=3, label=lab)
    ax.set_xlabel("distance from the current collector [µm]")
    ax.set_ylabel("SOD")
    ax.legend(fontsize=7)
    fig.tight_layout()
    out.append(folder / "sod_profile.png")
    fig.savefig(out[-1], dpi=120)
    plt.close(fig)

    if "end" in res.particle_states and len(p.ids):
        fig = plt.figure(figsize=(5, 5))
        ax = fig.add_subplot(projection="3d")
        r = np.cbrt(3 * p.volume / (4 * np.pi)) * 1e6
        xy = res.info.get("particle_xy_um")
        xs = np.asarray(xy)[:, 0] if xy is not None else np.zeros_like(r)
        ys = np.asarray(xy)[:, 1] if xy is not None else np.zeros_like(r)
        sc = ax.scatter(xs, ys, p.centroid_z * 1e6, s=(r * 6) ** 2,
                        c=res.sod(res.particle_states["end"]), cmap="viridis", vmin=0, vmax=1)
        fig.colorbar(sc, ax=ax, shrink=0.6, label="SOD at end of discharge")
        ax.set_xlabel("x [µm]")
        ax.set_ylabel("y [µm]")
        ax.set_zlabel("z [µm]")
        out.append(folder / "particles_sod.png")
        fig.savefig(out[-1], dpi=120)
        plt.close(fig)
    return out
