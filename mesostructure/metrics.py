"""Voxel metrics: tortuosity, effective conductivity, profiles, coverage, heterogeneity.

Definitions (docs/characterisation.md has the long form):
- media for transport: "pore" (pore phase, D = 1), "electrolyte" (pore D = 1 plus CBD with
  D = eps_n^1.5, Bruggeman inside the nanoporous CBD), "solid" (AM and CBD, D = 1).
- D_rel = D_eff / D_bulk from a steady solve (``transport.solve_transport``).
- tortuosity factor tau = eps / D_rel with eps the medium's volume fraction: pore phase fraction
  ("pore"), total electrolyte fraction eps_pore + eps_n * eps_cbd ("electrolyte"), AM + CBD
  fraction ("solid") -- the whole phase, percolating or not, as TauFactor does.
- MacMullin number N_M = 1 / D_rel = tau / eps; Bruggeman exponent b from D_rel = eps^b;
  geometric tortuosity tau_g = sqrt(eps / D_rel) = sqrt(tau) (paper 001).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .transport import solve_transport
from .voxel import AM, CBD, PORE, VoxelImage

MEDIA = ("pore", "electrolyte", "solid")
AXES = {"x": 0, "y": 1, "z": 2}
SIGMA_AM_S_M = 0.005  # paper 001
SIGMA_CBD_S_M = 15.93  # paper 001


@dataclass(frozen=True)
class Tortuosity:
    medium: str
    axis: str
    volume_fraction: float
    percolating_fraction: float
    d_rel: float
    tortuosity_factor: float
    macmullin: float
    bruggeman_exponent: float
    geometric_tortuosity: float
    flux_imbalance: float

    def as_dict(self) -> dict:
        return asdict(self)


def medium_field(image: VoxelImage, medium: str) -> tuple[np.ndarray, float]:
    """Relative diffusivity per voxel and the medium's volume fraction."""
    ph = image.phase
    if medium == "pore":
        return (ph == PORE).astype(float), image.fraction(PORE)
    if medium == "electrolyte":
        en = image.cbd_nanoporosity
        D = np.where(ph == PORE, 1.0, np.where(ph == CBD, en**1.5, 0.0))
        return D, image.fraction(PORE) + en * image.fraction(CBD)
    if medium == "solid":
        return (ph != PORE).astype(float), 1.0 - image.fraction(PORE)
    raise ValueError(f"unknown medium {medium!r}; choose one of {MEDIA}")


def _axis_index(axis) -> tuple[int, str]:
    if isinstance(axis, str):
        if axis not in AXES:
            raise ValueError(f"axis must be one of x, y, z, got {axis!r}")
        return AXES[axis], axis
    return int(axis), "xyz"[int(axis)]


def tortuosity(image: VoxelImage, medium: str = "pore", axis="z", *,
               periodic_lateral: bool = False) -> Tortuosity:
    a, name = _axis_index(axis)
    D, eps = medium_field(image, medium)
    per = (periodic_lateral, periodic_lateral, False)
    res = solve_transport(D, image.spacing, a, periodic=per)
    d_rel = res.d_eff
    if d_rel > 0:
        tau = eps / d_rel
        brugg = np.log(d_rel) / np.log(eps) if 0 < eps < 1 else float("nan")
    else:
        tau, brugg = float("inf"), float("inf")
    return Tortuosity(medium, name, eps, res.percolating_fraction, d_rel, tau,
                      1.0 / d_rel if d_rel > 0 else float("inf"), float(brugg),
                      float(np.sqrt(tau)), res.flux_imbalance)


def effective_conductivity(image: VoxelImage, axis="z", *, sigma_am: float = SIGMA_AM_S_M,
                           sigma_cbd: float = SIGMA_CBD_S_M,
                           periodic_lateral: bool = False) -> float:
    """Effective electronic conductivity (S/m) of the AM + CBD network along ``axis``."""
    if sigma_am < 0 or sigma_cbd < 0:
        raise ValueError("conductivities must be non-negative")
    a, _ = _axis_index(axis)
    ph = image.phase
    sigma = np.where(ph == AM, sigma_am, np.where(ph == CBD, sigma_cbd, 0.0))
    per = (periodic_lateral, periodic_lateral, False)
    return solve_transport(sigma, image.spacing, a, periodic=per).d_eff


def profile_planes(nz: int, n_planes: int) -> np.ndarray:
    """Indices of the planes of a separator-to-plane tortuosity profile (0 = whole electrode,
    the last keeps two voxel layers)."""
    return np.unique(np.linspace(0, nz - 2, n_planes).round().astype(int))


def plane_tortuosity(image: VoxelImage, k: int, medium: str = "electrolyte") -> float:
    """Through-plane tortuosity factor of the sub-volume between voxel plane ``k`` and the
    separator face (TauFactor on that sub-volume, as paper 004)."""
    sub = VoxelImage(image.phase[:, :, k:], image.spacing,
                     cbd_nanoporosity=image.cbd_nanoporosity)
    return tortuosity(sub, medium, "z").tortuosity_factor


def tortuosity_profile(image: VoxelImage, medium: str = "electrolyte", n_planes: int = 10):
    """Tortuosity factor from the separator face (top) down to planes z_k (paper 004).

    Returns (z_k in m, tau_k): tau_k is the through-plane tortuosity factor of the sub-volume
    between plane z_k and the top of the electrode.
    """
    ks = profile_planes(image.shape[2], n_planes)
    return ks * image.spacing[2], np.array([plane_tortuosity(image, k, medium) for k in ks])


def phase_profiles(image: VoxelImage) -> dict[str, np.ndarray]:
    """Volume fraction of each phase per slice along z, and the electrolyte (porosity incl.
    CBD nanopores)."""
    ph = image.phase
    prof = {name: np.mean(ph == lab, axis=(0, 1)) for name, lab in
            (("am", AM), ("cbd", CBD), ("pore", PORE))}
    prof["porosity"] = prof["pore"] + image.cbd_nanoporosity * prof["cbd"]
    prof["z_m"] = image.z_centres()
    return prof


def boundary_coverage(image: VoxelImage) -> dict:
    """Current-collector coverage by AM and CBD (first voxel layer, z = 0) and the electrolyte
    fraction at the separator face (last layer), as in paper 002."""
    bottom, top = image.phase[:, :, 0], image.phase[:, :, -1]
    en = image.cbd_nanoporosity
    return {
        "cc_coverage_am": float(np.mean(bottom == AM)),
        "cc_coverage_cbd": float(np.mean(bottom == CBD)),
        "separator_face_pore_fraction": float(np.mean(top == PORE)),
        "separator_face_electrolyte_fraction": float(np.mean(top == PORE)
                                                     + en * np.mean(top == CBD)),
    }


def heterogeneity_factor(carbon_fractions, am_masses) -> float:
    """Paper 003, eq. 3: delta = sum_i (w_i / w_t) |f_i - f_t| / f_t, with w_i the AM mass of
    layer i, f_i its carbon fraction and f_t the AM-mass-weighted mean carbon fraction."""
    f = np.asarray(carbon_fractions, float)
    w = np.asarray(am_masses, float)
    if f.shape != w.shape or f.ndim != 1 or len(f) == 0:
        raise ValueError("carbon_fractions and am_masses need one entry per layer")
    if np.any(w < 0) or w.sum() <= 0 or np.any(f < 0):
        raise ValueError("masses and fractions must be non-negative (some mass positive)")
    ft = float(np.sum(w * f) / w.sum())
    if ft == 0:
        return 0.0
    return float(np.sum(w / w.sum() * np.abs(f - ft) / ft))


def relative_phase_difference(profile: dict, reference: dict, n: int = 50) -> dict:
    """Paper 000's RPD: phase fraction of an electrode divided by that of a reference, both on
    the normalised thickness (0 = current collector, 1 = separator)."""
    s = (np.arange(n) + 0.5) / n
    out = {"normalised_thickness": s}
    for phase in ("am", "cbd", "pore"):
        za = profile["z_m"] / (profile["z_m"][-1] + profile["z_m"][0])
        zb = reference["z_m"] / (reference["z_m"][-1] + reference["z_m"][0])
        a = np.interp(s, za, profile[phase])
        b = np.interp(s, zb, reference[phase])
        with np.errstate(divide="ignore", invalid="ignore"):
            out[phase] = np.where(b > 0, a / b, np.nan)
    return out
