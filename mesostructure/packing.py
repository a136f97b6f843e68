"""Dense random packing of polydisperse spheres by collective rearrangement.

Spheres start at random positions with shrunken radii; each sweep pushes overlapping pairs apart
along their line of centres (sharing the displacement in inverse proportion to volume) and
pushes spheres back inside the walls, while the radii grow back to their full size. The result
keeps every pair overlap below ``max_overlap`` times the smaller radius; such overlaps read as
sintered/calendered necks. x and y are periodic; z is bounded by walls at the current collector
and the top of the electrode, and each sphere's centre is confined to its layer's slab.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


class PackingError(RuntimeError):
    pass


def _pairs(pos, radii, box, scale):
    # periodic in x, y; z handled by a box size far beyond the walls
    size = np.array([box[0], box[1], 1e3 * box[2] + 1.0])
    p = pos.copy()
    p[:, 0] %= box[0]
    p[:, 1] %= box[1]
    tree = cKDTree(p, boxsize=size)
    cut = 2.0 * scale * radii.max()
    pairs = tree.query_pairs(cut, output_type="ndarray")
    if len(pairs) == 0:
        return pairs, np.zeros((0, 3)), np.zeros(0)
    d = p[pairs[:, 1]] - p[pairs[:, 0]]
    d[:, 0] -= box[0] * np.round(d[:, 0] / box[0])
    d[:, 1] -= box[1] * np.round(d[:, 1] / box[1])
    dist = np.linalg.norm(d, axis=1)
    return pairs, d, dist


def pack_spheres(radii: np.ndarray, z_bounds: np.ndarray, box: np.ndarray,
                 rng: np.random.Generator, max_overlap: float = 0.05,
                 max_sweeps: int = 4000, init: np.ndarray | None = None) -> np.ndarray:
    """Centres (n, 3) for spheres of ``radii`` with centre z in ``z_bounds[k]`` (n, 2).

    ``init`` (n, 3) warm-starts from earlier centres (rows of NaN are placed at random).

    Raises PackingError when the spheres cannot be packed with overlaps below ``max_overlap``.
    """
    n = len(radii)
    lo = np.maximum(z_bounds[:, 0], radii)
    hi = np.minimum(z_bounds[:, 1], box[2] - radii)
    bad = lo > hi
    if np.any(bad):
        raise PackingError(f"{int(bad.sum())} particles are larger than the slab that holds them")
    pos = np.column_stack([rng.uniform(0, box[0], n), rng.uniform(0, box[1], n),
                           rng.uniform(lo, hi)])
    scale = 0.7
    if init is not None:
        known = np.all(np.isfinite(init), axis=1)
        pos[known] = init[known]
        scale = 1.0
    vol = radii**3
    tol = max(max_overlap, 1e-3)
    for _sweep in range(max_sweeps):
        r = scale * radii
        pairs, d, dist = _pairs(pos, r, box, 1.0)
        worst = 0.0
        if len(pairs):
            i, j = pairs[:, 0], pairs[:, 1]
            rmin = np.minimum(r[i], r[j])
            over = r[i] + r[j] - dist
            # target a small slack below the tolerance so the loop settles
            target = 0.5 * tol * rmin
            push = over - target
            m = push > 0
            worst = float(np.max(over / rmin))
            if np.any(m):
                i, j, d, dist, push = i[m], j[m], d[m], dist[m], push[m]
                u = d / np.maximum(dist, 1e-300)[:, None]
                wi = vol[j] / (vol[i] + vol[j])
                disp = np.zeros_like(pos)
                cnt = np.zeros(n)
                np.add.at(disp, i, -(push * wi)[:, None] * u)
                np.add.at(disp, j, (push * (1 - wi))[:, None] * u)
                np.add.at(cnt, i, 1)
                np.add.at(cnt, j, 1)
                # damp crowded spheres: average rather than sum the pushes
                pos += disp / np.maximum(1.0, np.sqrt(cnt))[:, None]
        pos[:, 2] = np.clip(pos[:, 2], lo, hi)
        if scale >= 1.0 and worst <= tol:
            pos[:, 0] %= box[0]
            pos[:, 1] %= box[1]
            return pos
        if worst <= 2.0 * tol:
            scale = min(1.0, scale * 1.01)
    raise PackingError(
        f"could not pack {n} particles with overlaps below {max_overlap:.0%} of the smaller "
        f"radius (worst {worst:.1%} at radius scale {scale:.3f}); lower the AM fraction "
        f"(raise the porosity) or allow more overlap ([box].max_overlap)")
