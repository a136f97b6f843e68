"""Rasterising analytic primitives, each inside its own bounding box.

Voxel (i, j, k) has its centre at ((i + 1/2) hx, (j + 1/2) hy, (k + 1/2) hz). Periodic axes
wrap indices; other axes clip the primitive at the box.
"""

from __future__ import annotations

import numpy as np


def _axis_indices(lo: float, hi: float, h: float, n: int, periodic: bool):
    """Voxel indices whose centres lie in [lo, hi] along one axis (a slice when they do not
    wrap), and the centres' coordinates."""
    i0 = int(np.ceil(lo / h - 0.5))
    i1 = int(np.floor(hi / h - 0.5))
    if not periodic:
        i0, i1 = max(i0, 0), min(i1, n - 1)
    if i1 < i0:
        return None, None
    if i1 - i0 + 1 > n:  # wider than a periodic box: keep one period
        i1 = i0 + n - 1
    coords = (np.arange(i0, i1 + 1) + 0.5) * h
    if 0 <= i0 and i1 < n:
        return slice(i0, i1 + 1), coords
    return np.mod(np.arange(i0, i1 + 1), n), coords


def _box_region(lo, hi, spacing, shape, periodic):
    out = [_axis_indices(lo[a], hi[a], spacing[a], shape[a], periodic[a]) for a in range(3)]
    if any(o[0] is None for o in out):
        return None
    (ix, x), (iy, y), (iz, z) = out
    if all(isinstance(i, slice) for i in (ix, iy, iz)):
        sl = (ix, iy, iz)  # a view: writes go straight to the image
    else:
        idx = [np.arange(i.start, i.stop) if isinstance(i, slice) else i for i in (ix, iy, iz)]
        sl = np.ix_(*idx)
    return sl, x[:, None, None], y[None, :, None], z[None, None, :]


def paint_spheres(phase, spacing, periodic, centres, radii, value, *, particle=None, ids=None,
                  best=None, count_mask=None) -> int:
    """Set ``phase = value`` inside the spheres, where no AM (label 1) is already present
    (unless painting AM). With ``particle``/``ids``/``best`` the particle label is set by least
    power distance. Returns how many voxels changed phase (inside ``count_mask`` if given)."""
    changed = 0
    for k in range(len(radii)):
        c, r = centres[k], radii[k]
        reg = _box_region(c - r, c + r, spacing, phase.shape, periodic)
        if reg is None:
            continue
        sl, x, y, z = reg
        power = (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 - r * r
        inside = power <= 0.0
        changed += _apply(phase, sl, inside, value, count_mask)
        if particle is not None:
            sub_best = best[sl]
            win = inside & (power < sub_best)
            sub_best[win] = power[win]
            best[sl] = sub_best
            sub_p = particle[sl]
            sub_p[win] = ids[k]
            particle[sl] = sub_p
    return changed


def capsule_distance(x, y, z, p0, p1):
    """Distance from points to the segment p0-p1 (broadcast over x, y, z)."""
    d = p1 - p0
    dd = float(d @ d)
    px, py, pz = x - p0[0], y - p0[1], z - p0[2]
    if dd == 0.0:
        return np.sqrt(px * px + py * py + pz * pz)
    t = np.clip((px * d[0] + py * d[1] + pz * d[2]) / dd, 0.0, 1.0)
    qx, qy, qz = px - t * d[0], py - t * d[1], pz - t * d[2]
    return np.sqrt(qx * qx + qy * qy + qz * qz)


def paint_capsules(phase, spacing, periodic, p0, p1, radii, value, count_mask=None,
                   dry_run: bool = False) -> int:
    changed = 0
    for k in range(len(radii)):
        r = radii[k]
        lo = np.minimum(p0[k], p1[k]) - r
        hi = np.maximum(p0[k], p1[k]) + r
        reg = _box_region(lo, hi, spacing, phase.shape, periodic)
        if reg is None:
            continue
        sl, x, y, z = reg
        inside = capsule_distance(x, y, z, p0[k], p1[k]) <= r
        changed += _apply(phase, sl, inside, value, count_mask, dry_run)
    return changed


def _apply(phase, sl, inside, value, count_mask, dry_run=False) -> int:
    sub = phase[sl]
    if value == 1:  # AM overrides everything
        target = inside
    else:
        target = inside & (sub != 1)
    new = target & (sub != value)
    n = int(np.count_nonzero(new if count_mask is None else new & count_mask[sl]))
    if dry_run:
        return n
    sub[target] = value
    phase[sl] = sub
    return n
