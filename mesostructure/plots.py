"""PNG plots of characterisation results (matplotlib, off-screen)."""

from __future__ import annotations

from pathlib import Path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_profiles(metrics, path: Path) -> None:
    plt = _plt()
    p = metrics.profiles
    fig, ax = plt.subplots(figsize=(5, 4))
    z = p["z_m"] * 1e6
    for key, colour in (("am", "tab:red"), ("cbd", "tab:blue"), ("pore", "tab:green"),
                        ("porosity", "k")):
        ax.plot(z, p[key], color=colour, label=key, ls="--" if key == "porosity" else "-")
    ax.set_xlabel("z from the current collector (µm)")
    ax.set_ylabel("volume fraction")
    ax.set_ylim(0, 1)
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_tortuosity_profile(metrics, path: Path) -> None:
    plt = _plt()
    t = metrics.tortuosity_profile
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(t["z_m"] * 1e6, t["tortuosity_factor"], "o-")
    ax.set_xlabel("plane z (µm)")
    ax.set_ylabel("electrolyte tortuosity factor, separator → plane")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_rpd(rpd: dict, path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5, 4))
    s = rpd["normalised_thickness"] * 100
    for key, colour in (("am", "tab:red"), ("cbd", "tab:blue"), ("pore", "tab:green")):
        ax.plot(s, rpd[key], color=colour, label=key)
    ax.axhline(1.0, color="k", ls=":")
    ax.set_xlabel("normalised thickness (%)")
    ax.set_ylabel("relative phase difference")
    ax.legend(frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
