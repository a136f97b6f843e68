"""Per-particle neighbourhood features on a voxel image (issue 6, beyond paper 004's five):
local porosity around each particle, distance to the nearest CBD, number of AM neighbours.

Conventions (docs/characterisation.md has the long form):
- ``periodic`` holds the (x, y) flags: a periodic lateral axis wraps (minimum image), a sealed
  one clips. z is never periodic: the current collector is at iz = 0 and the separator face at
  iz = nz, and nothing lies beyond them, so neighbourhoods are clipped there.
- Distances are between voxel centres (m); a particle's surface is taken half a voxel outside
  the centres of its boundary voxels.
- Electrolyte: the pore phase (fraction 1) plus the CBD's nanopores (fraction ε_n, the image's
  ``cbd_nanoporosity``), as for the electrode porosity; AM (of other particles) is solid.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .voxel import CBD, PORE, VoxelImage

SHELL_UNITS = ("radius", "m")


def check_shell(shell: float, unit: str) -> None:
    """Refuse a local-porosity shell that is not a positive, finite thickness in a known unit."""
    if unit not in SHELL_UNITS:
        raise ValueError(f"local shell unit must be one of {SHELL_UNITS}, got {unit!r}")
    if isinstance(shell, bool) or not isinstance(shell, (int, float, np.number)) \
            or not math.isfinite(shell) or shell <= 0:
        raise ValueError(f"local shell thickness must be a positive finite number, got "
                         f"{shell!r}")


def _periodic_xy(periodic) -> tuple[bool, bool]:
    flags = tuple(bool(p) for p in periodic)
    if len(flags) != 2:
        raise ValueError(f"periodic takes the (x, y) flags (z never wraps), got {periodic!r}")
    return flags  # type: ignore[return-value]


def _need_labels(image: VoxelImage) -> None:
    if image.particle is None:
        raise ValueError("per-particle neighbourhood features need a particle label image")


def periodic_distance(mask: np.ndarray, spacing, periodic=(False, False)) -> np.ndarray:
    """Euclidean distance (m) from every voxel centre to the nearest voxel centre of ``mask``
    (0 on ``mask``), by the exact EDT of scipy.ndimage; along periodic lateral axes the nearest
    periodic image counts. Infinite everywhere when ``mask`` is empty."""
    mask = np.asarray(mask, bool)
    if mask.ndim != 3:
        raise ValueError(f"mask must be 3-D, got shape {mask.shape}")
    per = _periodic_xy(periodic)
    if not mask.any():
        return np.full(mask.shape, np.inf)
    # the nearest image lies within half a period: wrapping n // 2 + 1 voxels each side is exact
    pads = [(n // 2 + 1,) * 2 if a < 2 and per[a] else (0, 0)
            for a, n in enumerate(mask.shape)]
    d = ndimage.distance_transform_edt(np.pad(~mask, pads, mode="wrap"),
                                       sampling=np.broadcast_to(spacing, (3,)))
    return d[tuple(slice(p, p + n) for (p, _), n in zip(pads, mask.shape, strict=True))]


def _face_pairs(labels: np.ndarray, periodic: tuple[bool, bool]):
    """Label arrays (a, b) of face-adjacent voxels, one axis (and wrapped face) at a time."""
    for ax, n in enumerate(labels.shape):
        v = np.moveaxis(labels, ax, 0)
        yield v[:-1].ravel(), v[1:].ravel()
        if ax < 2 and periodic[ax] and n > 2:
            yield v[-1].ravel(), v[0].ravel()


def particle_contacts(image: VoxelImage, periodic=(False, False)) -> dict[int, dict]:
    """Per particle: ``n_am_neighbours`` (other particles sharing a voxel face with it) and
    ``touches_cbd`` (a CBD voxel shares a face with it), wrapping periodic lateral axes."""
    _need_labels(image)
    per = _periodic_xy(periodic)
    lab = np.where(image.particle > 0, image.particle.astype(np.int64),
                   np.where(image.phase == CBD, -1, 0))
    top = int(lab.max(initial=0)) + 1
    am_keys, cbd = [], []
    for a, b in _face_pairs(lab, per):
        m = (a > 0) & (b > 0) & (a != b)
        am_keys.append(np.unique(np.minimum(a[m], b[m]) * top + np.maximum(a[m], b[m])))
        cbd.append(np.unique(np.concatenate([a[(a > 0) & (b == -1)], b[(b > 0) & (a == -1)]])))
    keys = np.unique(np.concatenate(am_keys))  # each touching pair once
    n_nb = np.bincount(np.concatenate([keys // top, keys % top]), minlength=top)
    cbd_ids = set(np.concatenate(cbd).tolist())
    ids = np.unique(image.particle[image.particle > 0])
    return {int(k): {"n_am_neighbours": int(n_nb[k]), "touches_cbd": int(k) in cbd_ids}
            for k in ids}


def distance_to_cbd(image: VoxelImage, periodic=(False, False),
                    touching: dict[int, dict] | None = None) -> dict[int, float]:
    """Per particle: gap (m) between its surface and the nearest CBD voxel, 0 when a CBD voxel
    shares a face with it; inf when the image has no CBD.

    The gap is the least centre-to-centre distance from a particle voxel to a CBD voxel minus
    the voxel edge (the distance between facing voxel faces; exact for a gap along an axis),
    floored at 0. Periodic lateral axes wrap. ``touching``: the :func:`particle_contacts`
    table of the same image and flags, if already at hand."""
    _need_labels(image)
    per = _periodic_xy(periodic)
    ids = np.unique(image.particle[image.particle > 0])
    if not len(ids):
        return {}
    d = periodic_distance(image.phase == CBD, image.spacing, per)
    dmin = np.atleast_1d(ndimage.minimum(d, labels=image.particle, index=ids))
    touch = touching if touching is not None else particle_contacts(image, per)
    h = float(image.spacing.min())
    return {int(k): 0.0 if touch[int(k)]["touches_cbd"] else float(max(v - h, 0.0))
            for k, v in zip(ids, dmin, strict=True)}


def _unwrapped(coords: np.ndarray, n: int, periodic: bool) -> np.ndarray:
    """Coordinates of one particle along one axis, unwrapped so that a particle cut by a
    periodic face is contiguous (it starts after the largest empty gap of the axis)."""
    if not periodic:
        return coords
    u = np.unique(coords)
    if len(u) == n:
        return coords
    gaps = np.diff(np.append(u, u[0] + n))
    start = u[(int(np.argmax(gaps)) + 1) % len(u)]
    return np.where(coords < start, coords + n, coords)


def local_porosity(image: VoxelImage, shell: float = 1.0, unit: str = "radius",
                   periodic=(False, False)) -> dict[int, dict]:
    """Electrolyte volume fraction in a shell around each particle.

    The shell holds the voxels (not of the particle itself) whose centres lie within ``shell``
    of the particle's surface: ``unit = "radius"`` counts ``shell`` in the particle's
    equivalent-sphere radius (3V / 4π)^(1/3), ``unit = "m"`` in metres. It always holds at least
    the voxels sharing a face with the particle. Periodic lateral axes wrap (a voxel is counted
    once, however many images of it are near); the shell is clipped at the current collector
    and the separator face. The fraction is (N_pore + ε_n N_CBD) / N_shell, other particles' AM
    counting as solid. Returns per particle ``local_porosity`` and ``shell_m`` (the thickness
    used)."""
    check_shell(shell, unit)
    _need_labels(image)
    per = (*_periodic_xy(periodic), False)
    shape = np.array(image.shape)
    h = image.spacing
    flat = image.particle.ravel()
    order = np.argsort(flat, kind="stable")
    bounds = np.searchsorted(flat[order], np.arange(flat.max(initial=0) + 2))
    ph = image.phase.ravel()
    out = {}
    for k in range(1, len(bounds) - 1):
        idx = order[bounds[k]:bounds[k + 1]]
        if not len(idx):
            continue
        c = np.column_stack(np.unravel_index(idx, image.shape))
        if unit == "radius":
            s = (3.0 * len(idx) * image.voxel_volume / (4.0 * np.pi)) ** (1.0 / 3.0) * shell
        else:
            s = float(shell)
        reach = max(s + 0.5 * h.min(), h.max() * (1 + 1e-9))  # on voxel centres
        c = np.column_stack([_unwrapped(c[:, a], shape[a], per[a]) for a in range(3)])
        pad = np.ceil(reach / h).astype(int) + 1
        # the nearest image of a voxel lies within half a period of the particle
        pad = np.where(per, np.minimum(pad, shape // 2 + 1), pad)
        lo, hi = c.min(axis=0) - pad, c.max(axis=0) + pad
        lo = np.where(per, lo, np.maximum(lo, 0))
        hi = np.where(per, hi, np.minimum(hi, shape - 1))
        own = np.zeros(hi - lo + 1, bool)
        own[tuple((c - lo).T)] = True  # this copy only: the distance is to this copy
        d = ndimage.distance_transform_edt(~own, sampling=h)
        near = np.argwhere((d > 0) & (d <= reach)) + lo
        g = np.unique(np.ravel_multi_index(tuple(np.mod(near, shape).T), image.shape))
        g = g[flat[g] != k]  # an image of one of the particle's own voxels
        n_pore = np.count_nonzero(ph[g] == PORE)
        n_cbd = np.count_nonzero(ph[g] == CBD)
        eps = (n_pore + image.cbd_nanoporosity * n_cbd) / len(g) if len(g) else float("nan")
        out[k] = {"local_porosity": float(eps), "shell_m": float(s)}
    return out


def particle_neighbourhood(image: VoxelImage, shell: float = 1.0, unit: str = "radius",
                           periodic=(False, False)) -> dict[int, dict]:
    """All of this module's per-particle features: ``local_porosity``, ``local_shell_m``,
    ``distance_to_cbd_m``, ``n_am_neighbours``."""
    lp = local_porosity(image, shell, unit, periodic)
    nb = particle_contacts(image, periodic)
    dc = distance_to_cbd(image, periodic, nb)
    return {k: {"local_porosity": lp[k]["local_porosity"], "local_shell_m": lp[k]["shell_m"],
                "distance_to_cbd_m": dc[k], "n_am_neighbours": nb[k]["n_am_neighbours"]}
            for k in lp}
