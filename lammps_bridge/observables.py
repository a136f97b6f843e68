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
    """Thickness (um, to the highest particle top), bulk porosity (pore phase only), overall
    porosity (pores + the CBD nanopores), density (g/cm3, when masses are known) of the film
    in that thickness, and its mean surface height (um)."""
    h = thickness_um(ps)
    area = float(np.prod(ps.bounds_um[:2, 1] - ps.bounds_um[:2, 0]))
    v = 4.0 / 3.0 * np.pi * ps.radius_um**3
    film = area * h
    v_am, v_cbd = float(v[ps.am].sum()), float(v[ps.cbd].sum())
    bulk = 1.0 - (v_am + v_cbd) / film
    out = {"thickness_um": h, "bulk_porosity": bulk,
           "overall_porosity": bulk + cbd_nanoporosity * v_cbd / film,
           "am_volume_fraction": v_am / film, "cbd_volume_fraction": v_cbd / film,
           "surface_height_um": surface_height_um(ps)}
    if masses_pg is not None:
        out["density_g_cm3"] = float(np.sum(masses_pg)) / film  # pg/um3 = g/cm3
    return out


def surface_height_um(ps: ParticleSet, grid_um: float = 0.5) -> float:
    """Mean height of the film's top surface above the current collector: the highest
    particle top above each point of a lateral grid (x, y periodic; 0 where no particle
    covers the point), averaged. Unlike ``thickness_um``, which one protruding particle sets,
    it is what the zones of a rough film are thirds of."""
    lo = ps.bounds_um[:, 0]
    size = ps.bounds_um[:2, 1] - lo[:2]
    n = np.maximum(np.rint(size / grid_um).astype(int), 1)
    gx, gy = (lo[a] + (np.arange(n[a]) + 0.5) * size[a] / n[a] for a in range(2))
    top = np.zeros((n[0], n[1]))
    for (cx, cy, cz), r in zip(ps.xyz_um, ps.radius_um, strict=True):
        dx = (gx - cx + size[0] / 2) % size[0] - size[0] / 2
        dy = (gy - cy + size[1] / 2) % size[1] - size[1] / 2
        ix, iy = np.flatnonzero(np.abs(dx) < r), np.flatnonzero(np.abs(dy) < r)
        if not (len(ix) and len(iy)):
            continue
        d2 = r * r - dx[ix, None] ** 2 - dy[None, iy] ** 2
        cap = np.where(d2 > 0, cz - lo[2] + np.sqrt(np.maximum(d2, 0.0)), 0.0)
        sub = np.ix_(ix, iy)
        top[sub] = np.maximum(top[sub], cap)
    return float(top.mean())


def cbd_zone_fractions(ps: ParticleSet, height_um: float | None = None) -> np.ndarray:
    """Fraction of the CBD (by dry mass: every CBD particle holds the same carbon and binder,
    whatever solvent it still carries) whose centre lies in the bottom, centre and top third of
    the film (paper 000, Fig. 2B), of height ``height_um`` (default: the mean surface height,
    ``surface_height_um``; CBD above it count as top)."""
    h = surface_height_um(ps) if height_um is None else height_um
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
