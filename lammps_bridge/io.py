"""LAMMPS dumps and data files <-> ``Microstructure``.

Particle types: 1 = AM, 2/3/4 = CBD in the bottom/centre/top drying zone (paper 000). LAMMPS
files are in um (units micro); a ``Microstructure`` is in metres. Malformed files are refused
with a ``LammpsFileError`` naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mesostructure.microstructure import Microstructure, Spheres

UM = 1e-6
AM_TYPE = 1
CBD_TYPES = (2, 3, 4)
_TOL_UM = 1e-6


class LammpsFileError(ValueError):
    """A dump or data file that cannot be read, naming the line."""


@dataclass
class ParticleSet:
    """Particles in LAMMPS units: box bounds (3, 2) in um, ids, types, positions and radii in um,
    densities in g/cm3 (= pg/um3; NaN when the file does not hold them)."""

    bounds_um: np.ndarray
    ids: np.ndarray
    types: np.ndarray
    xyz_um: np.ndarray
    radius_um: np.ndarray
    density_g_cm3: np.ndarray

    @property
    def masses_pg(self) -> np.ndarray:
        return self.density_g_cm3 * 4.0 / 3.0 * np.pi * self.radius_um**3

    @property
    def am(self) -> np.ndarray:
        return self.types == AM_TYPE

    @property
    def cbd(self) -> np.ndarray:
        return np.isin(self.types, CBD_TYPES)


def _floats(parts: list[str], path: Path, lineno: int, what: str) -> list[float]:
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise LammpsFileError(f"{path}, line {lineno}: {what} is not numeric: "
                              f"{' '.join(parts)!r}") from None
    if not all(np.isfinite(vals)):
        raise LammpsFileError(f"{path}, line {lineno}: {what} holds NaN or inf: "
                              f"{' '.join(parts)!r}")
    return vals


def _check_row(path, lineno, typ, xyz, r, bounds, periodic) -> None:
    if typ not in (AM_TYPE, *CBD_TYPES):
        raise LammpsFileError(f"{path}, line {lineno}: unknown particle type {typ} "
                              f"(1 = AM, 2-4 = CBD)")
    if not r > 0:
        raise LammpsFileError(f"{path}, line {lineno}: radius must be positive, got {r}")
    for k in range(3):
        lo, hi = bounds[k]
        if periodic[k]:
            continue
        if not lo - _TOL_UM <= xyz[k] <= hi + _TOL_UM:
            raise LammpsFileError(f"{path}, line {lineno}: particle outside the box along "
                                  f"{'xyz'[k]} ({xyz[k]:g} not in [{lo:g}, {hi:g}])")


def read_dump(path: str | Path, periodic=(True, True, False)) -> ParticleSet:
    """Last snapshot of a text dump with columns ``id type x y z radius`` (any order, more
    columns allowed). Positions along periodic axes are wrapped into the box."""
    path = Path(path)
    lines = path.read_text().splitlines()
    starts = [i for i, ln in enumerate(lines) if ln.startswith("ITEM: TIMESTEP")]
    if not starts:
        raise LammpsFileError(f"{path}: no 'ITEM: TIMESTEP' header; not a LAMMPS dump")
    i = starts[-1]
    try:
        if not lines[i + 2].startswith("ITEM: NUMBER OF ATOMS"):
            raise LammpsFileError(f"{path}, line {i + 3}: expected 'ITEM: NUMBER OF ATOMS'")
        n = int(lines[i + 3])
        if not lines[i + 4].startswith("ITEM: BOX BOUNDS"):
            raise LammpsFileError(f"{path}, line {i + 5}: expected 'ITEM: BOX BOUNDS'")
        bounds = np.array([_floats(lines[i + 5 + k].split()[:2], path, i + 6 + k, "box bounds")
                           for k in range(3)])
        header = lines[i + 8]
    except (IndexError, ValueError):
        raise LammpsFileError(f"{path}, line {i + 1}: truncated snapshot header") from None
    if not header.startswith("ITEM: ATOMS"):
        raise LammpsFileError(f"{path}, line {i + 9}: expected 'ITEM: ATOMS id type x y z "
                              f"radius', got {header!r}")
    cols = header.split()[2:]
    missing = [c for c in ("id", "type", "x", "y", "z", "radius") if c not in cols]
    if missing:
        raise LammpsFileError(f"{path}, line {i + 9}: missing column(s) {', '.join(missing)} "
                              f"(need id type x y z radius)")
    idx = [cols.index(c) for c in ("id", "type", "x", "y", "z", "radius")]
    rows = lines[i + 9:i + 9 + n]
    if len(rows) < n:
        raise LammpsFileError(f"{path}: {n} atoms announced, {len(rows)} lines present")
    data = np.empty((n, 6))
    for j, ln in enumerate(rows):
        lineno = i + 10 + j
        parts = ln.split()
        if len(parts) != len(cols):
            raise LammpsFileError(f"{path}, line {lineno}: {len(parts)} columns, expected "
                                  f"{len(cols)} ({' '.join(cols)})")
        vals = _floats([parts[k] for k in idx], path, lineno, "atom line")
        _check_row(path, lineno, int(vals[1]), vals[2:5], vals[5], bounds, periodic)
        data[j] = vals
    density = np.full(n, np.nan)
    if "mass" in cols:
        k = cols.index("mass")
        mass = np.array([float(ln.split()[k]) for ln in rows])
        density = mass / (4.0 / 3.0 * np.pi * data[:, 5] ** 3)
    return _particle_set(bounds, data, density, periodic)


def _particle_set(bounds, data, density, periodic) -> ParticleSet:
    xyz = data[:, 2:5].copy()
    for k in range(3):
        if periodic[k]:
            lo, hi = bounds[k]
            xyz[:, k] = lo + np.mod(xyz[:, k] - lo, hi - lo)
    return ParticleSet(np.asarray(bounds, float), data[:, 0].astype(np.int64),
                       data[:, 1].astype(np.int64), xyz, data[:, 5].copy(), density)


def read_data(path: str | Path, periodic=(True, True, False)) -> ParticleSet:
    """A data file written by ``write_data`` (or LAMMPS ``write_data``, atom_style sphere:
    ``id type diameter density x y z``)."""
    path = Path(path)
    lines = path.read_text().splitlines()
    bounds = np.full((3, 2), np.nan)
    n = None
    atoms_at = None
    for i, ln in enumerate(lines):
        s = ln.split("#")[0].split()
        if len(s) == 2 and s[1] == "atoms":
            n = int(s[0])
        for k, ax in enumerate("xyz"):
            if len(s) == 4 and s[2:] == [f"{ax}lo", f"{ax}hi"]:
                bounds[k] = _floats(s[:2], path, i + 1, "box bounds")
        if s and s[0] == "Atoms":
            atoms_at = i
            break
    if n is None or atoms_at is None or np.isnan(bounds).any():
        raise LammpsFileError(f"{path}: not a LAMMPS data file (need 'N atoms', box bounds "
                              f"and an 'Atoms' section)")
    data = np.empty((n, 6))
    density = np.empty(n)
    j, i = 0, atoms_at + 1
    while j < n:
        if i >= len(lines):
            raise LammpsFileError(f"{path}: {n} atoms announced, {j} found")
        s = lines[i].split("#")[0].split()
        i += 1
        if not s:
            continue
        if len(s) not in (7, 10):
            raise LammpsFileError(f"{path}, line {i}: {len(s)} columns, expected 7 "
                                  f"(id type diameter density x y z [ix iy iz])")
        v = _floats(s[:7], path, i, "atom line")
        _check_row(path, i, int(v[1]), v[4:7], v[2] / 2, bounds, periodic)
        data[j] = [v[0], v[1], v[4], v[5], v[6], v[2] / 2]
        density[j] = v[3]
        j += 1
    return _particle_set(bounds, data, density, periodic)


def write_data(path: str | Path, ps: ParticleSet, title: str = "electrode3d") -> Path:
    """Write a LAMMPS data file (atom_style sphere) holding ``ps``."""
    path = Path(path)
    if np.any(~np.isfinite(ps.density_g_cm3)) or np.any(ps.density_g_cm3 <= 0):
        raise ValueError("write_data needs a positive density for every particle")
    out = [f"# {title}", "", f"{len(ps.ids)} atoms", f"{max(CBD_TYPES)} atom types", ""]
    for k, ax in enumerate("xyz"):
        out.append(f"{ps.bounds_um[k, 0]:.10g} {ps.bounds_um[k, 1]:.10g} {ax}lo {ax}hi")
    out += ["", "Atoms # sphere", ""]
    for i in range(len(ps.ids)):
        x, y, z = ps.xyz_um[i]
        out.append(f"{ps.ids[i]} {ps.types[i]} {2 * ps.radius_um[i]:.10g} "
                   f"{ps.density_g_cm3[i]:.10g} {x:.10g} {y:.10g} {z:.10g}")
    path.write_text("\n".join(out) + "\n")
    return path


def to_microstructure(ps: ParticleSet, *, cbd_nanoporosity: float,
                      densities_kg_m3: dict | None = None, metadata: dict | None = None
                      ) -> Microstructure:
    """The particle set as a ``Microstructure`` (metres; box from z = 0 up to the highest
    particle top, so the thickness is the film's)."""
    lo = ps.bounds_um[:, 0]
    xyz = (ps.xyz_um - lo) * UM
    r = ps.radius_um * UM
    box = (ps.bounds_um[:, 1] - lo) * UM
    box[2] = float(np.max(xyz[:, 2] + r)) if len(r) else box[2]
    am, cbd = ps.am, ps.cbd
    meta = dict(metadata or {})
    meta["cbd_zone"] = (ps.types[cbd] - 1).tolist()
    return Microstructure(box=box, particles=Spheres(xyz[am], r[am]),
                          particle_ids=ps.ids[am], cbd_spheres=Spheres(xyz[cbd], r[cbd]),
                          periodic=(True, True, False), cbd_nanoporosity=cbd_nanoporosity,
                          densities_kg_m3=densities_kg_m3 or {}, metadata=meta)


def from_microstructure(ms: Microstructure, am_density_g_cm3: float,
                        cbd_density_g_cm3: float, headroom: float = 1.0) -> ParticleSet:
    """A ``Microstructure`` (e.g. from the stochastic generator) as LAMMPS particles, so it can
    be calendered. CBD capsules and films are not represented (refused when present)."""
    if len(ms.cbd_capsules) or np.any(ms.cbd_film_thickness > 0):
        raise ValueError("only sphere-made microstructures (AM and CBD spheres) can be sent "
                         "to LAMMPS; this one holds CBD capsules or films")
    xyz = np.vstack([ms.particles.centres, ms.cbd_spheres.centres]) / UM
    r = np.concatenate([ms.particles.radii, ms.cbd_spheres.radii]) / UM
    n_am, n_cbd = len(ms.particles), len(ms.cbd_spheres)
    types = np.concatenate([np.full(n_am, AM_TYPE), np.full(n_cbd, CBD_TYPES[0])])
    dens = np.concatenate([np.full(n_am, am_density_g_cm3), np.full(n_cbd, cbd_density_g_cm3)])
    box = ms.box / UM
    top = float(np.max(xyz[:, 2] + r)) if len(r) else box[2]
    bounds = np.array([[0, box[0]], [0, box[1]], [0, max(box[2], top) * (1 + headroom)]])
    return ParticleSet(bounds, np.arange(1, len(r) + 1), types, xyz, r, dens)
