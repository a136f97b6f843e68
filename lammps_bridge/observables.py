"""Observables of a particle set: thickness, bulk/overall porosity, density, CBD fraction per
drying zone (paper 000, Fig. 2B), phase profiles along z and the RPD between two electrodes.

Porosities here are analytic (sum of sphere volumes over the film volume; overlaps counted
twice); the profiles come from the rasterised ``Microstructure`` (mesostructure.metrics).
"""

from __future__ import annotations

import numpy as np

from mesostructure.metrics import phase_profiles, relative_phase_difference
from mesostructure.microstructure import Microstructure

from .io import ParticleSet


def thickness_um(ps: ParticleSet) -> float:
    """Film thickness: the highest particle top above the current collector (z = lo)."""
    return float(np.max(ps.xyz_um[:, 2] + ps.radius_um) - ps.bounds_um[2, 0])


def bulk_observables(ps: ParticleSet, cbd_nanoporosity: float,
                     masses_pg: np.ndarray | None = None) -> dict:
    """Thickness (um), bulk porosity (pore phase only), overall porosity (pores + the CBD
    nanopores) and density (g/cm3, when masses are known) of the film."""
    h = thickness_um(ps)
    area = float(np.prod(ps.bounds_um[:2, 1] - ps.bounds_um[:2, 0]))
    v = 4.0 / 3.0 * np.pi * ps.radius_um**3
    film = area * h
    v_am, v_cbd = float(v[ps.am].sum()), float(v[ps.cbd].sum())
    bulk = 1.0 - (v_am + v_cbd) / film
    out = {"thickness_um": h, "bulk_porosity": bulk,
           "overall_porosity": bulk + cbd_nanoporosity * v_cbd / film,
           "am_volume_fraction": v_am / film, "cbd_volume_fraction": v_cbd / film}
    if masses_pg is not None:
        out["density_g_cm3"] = float(np.sum(masses_pg)) / film  # pg/um3 = g/cm3
    return out


def cbd_zone_fractions(ps: ParticleSet) -> np.ndarray:
    """Fraction of the CBD (by dry mass: every CBD particle holds the same carbon and binder,
    whatever solvent it still carries) whose centre lies in the bottom, centre and top third of
    the current film thickness (paper 000, Fig. 2B)."""
    h = thickness_um(ps)
    zone = np.clip((ps.xyz_um[:, 2] - ps.bounds_um[2, 0]) / h * 3, 0, 2.999).astype(int)
    n = np.count_nonzero(ps.cbd)
    if n == 0:
        return np.zeros(3)
    return np.array([np.count_nonzero(ps.cbd & (zone == k)) / n for k in range(3)])


def profiles(ms: Microstructure, voxel_size_m: float) -> dict:
    """AM/CBD/pore volume fractions per z slice (mesostructure.metrics.phase_profiles)."""
    return phase_profiles(ms.rasterize(voxel_size_m))


def rpd(ms: Microstructure, reference: Microstructure, voxel_size_m: float, n: int = 50) -> dict:
    """Relative phase difference of ``ms`` against ``reference`` on the normalised thickness
    (paper 000, Fig. 5)."""
    return relative_phase_difference(profiles(ms, voxel_size_m),
                                     profiles(reference, voxel_size_m), n)
