"""Placing the carbon-binder domain (CBD) around packed AM spheres.

Every placer works on the phase image at the generator's control voxel size and adds primitives
until the CBD phase of the layer's slab reaches its target voxel count, so the achieved fraction
is measured, not estimated.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from .raster import paint_capsules, paint_spheres
from .voxel import AM, CBD


class CBDPlacementError(RuntimeError):
    pass


def _unit_vectors(rng, n):
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1)[:, None]


def place_fibres(phase, spacing, box, centres, radii, slab_mask, target, spec, rng,
                 z_range) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fibres (capsules of fixed length and diameter) anchored on AM surfaces, random direction
    pointing away from the anchoring particle, kept inside the box along z."""
    length = spec.fibre_length_um * 1e-6
    rad = 0.5 * spec.fibre_diameter_um * 1e-6
    periodic = (True, True, False)
    count = int(np.count_nonzero((phase == CBD) & slab_mask))
    p0s, p1s = [], []
    weights = radii**2 / np.sum(radii**2)
    misses = 0
    while count < target:
        batch = 64
        k = rng.choice(len(radii), size=batch, p=weights)
        normal = _unit_vectors(rng, batch)
        direction = _unit_vectors(rng, batch)
        flip = np.sum(direction * normal, axis=1) < 0
        direction[flip] *= -1
        p0 = centres[k] + normal * radii[k, None]
        p1 = p0 + direction * length
        for a, b in zip(p0, p1, strict=True):
            if count >= target:
                break
            if not (z_range[0] <= a[2] <= z_range[1]):
                continue
            b = b.copy()
            b[2] = np.clip(b[2], rad, box[2] - rad)
            a = a.copy()
            a[2] = np.clip(a[2], rad, box[2] - rad)
            new = paint_capsules(phase, spacing, periodic, a[None], b[None], np.array([rad]),
                                 CBD, count_mask=slab_mask)
            if new == 0:
                misses += 1
                if misses > 200000:
                    raise CBDPlacementError("no room left for CBD fibres")
                continue
            count += new
            p0s.append(a)
            p1s.append(b)
    return np.array(p0s).reshape(-1, 3), np.array(p1s).reshape(-1, 3), np.full(len(p0s), rad)


def place_bridges(phase, spacing, box, centres, radii, all_centres, all_radii, slab_mask,
                  target, spec, rng):
    """Necks joining near-contact AM pairs (and particles to the current collector): a capsule
    along the line of centres, radius ``f * min(r_i, r_j)``; f grows if the target needs it."""
    periodic = (True, True, False)
    count = int(np.count_nonzero((phase == CBD) & slab_mask))
    if count >= target:
        return np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)
    # candidate pairs: every layer particle with any AM particle within a gap of 0.5 r_min
    size = np.array([box[0], box[1], 1e3 * box[2] + 1.0])
    tree = cKDTree(np.mod(all_centres, size), boxsize=size)
    mine = cKDTree(np.mod(centres, size), boxsize=size)
    near = mine.query_ball_tree(tree, r=2.5 * all_radii.max())
    a_list, b_list, r_list = [], [], []
    for i, js in enumerate(near):
        for j in js:
            d = all_centres[j] - centres[i]
            d[:2] -= box[:2] * np.round(d[:2] / box[:2])
            dist = np.linalg.norm(d)
            if dist < 1e-12:
                continue  # itself
            gap = dist - radii[i] - all_radii[j]
            rmin = min(radii[i], all_radii[j])
            if gap < 0.5 * rmin:
                a_list.append(centres[i])
                b_list.append(centres[i] + d)
                r_list.append(rmin)
        gap_cc = centres[i][2] - radii[i]
        if gap_cc < 0.5 * radii[i]:
            a_list.append(centres[i])
            b_list.append(np.array([centres[i][0], centres[i][1], 0.0]))
            r_list.append(radii[i])
    if not a_list:
        raise CBDPlacementError("no AM contacts to bridge: the packing is too loose for "
                                "'bridges'; use 'fibres' or 'film'")
    a_arr, b_arr, r_arr = np.array(a_list), np.array(b_list), np.array(r_list)
    f = spec.bridge_radius_fraction
    voxel = float(np.prod(spacing))
    p0s, p1s, rads = [], [], []
    while count < target:
        order = rng.permutation(len(r_arr))
        for k in order:
            if count >= target:
                break
            rad = f * r_arr[k] * rng.uniform(0.8, 1.2)
            seg = (phase, spacing, periodic, a_arr[k:k + 1], b_arr[k:k + 1])
            length = np.linalg.norm(b_arr[k] - a_arr[k])
            most = (np.pi * rad**2 * length + 4 / 3 * np.pi * rad**3) / voxel + 1
            if count + most > target and count + paint_capsules(
                    *seg, np.array([rad]), CBD, count_mask=slab_mask, dry_run=True) > target:
                # the last bridge: shrink it to what is missing
                lo, hi = 0.0, rad
                for _ in range(20):
                    mid = 0.5 * (lo + hi)
                    if paint_capsules(*seg, np.array([mid]), CBD, count_mask=slab_mask,
                                      dry_run=True) > target - count:
                        hi = mid
                    else:
                        lo = mid
                rad = hi
            new = paint_capsules(*seg, np.array([rad]), CBD, count_mask=slab_mask)
            if new:
                count += new
                p0s.append(a_arr[k])
                p1s.append(b_arr[k])
                rads.append(rad)
        f *= 1.25
        if f > 1.5 and count < target:
            raise CBDPlacementError(
                f"bridges of up to {f:.2f} x the particle radius hold only {count} of {target} "
                f"CBD voxels; use 'fibres' or 'film' for this much CBD")
    return np.array(p0s).reshape(-1, 3), np.array(p1s).reshape(-1, 3), np.array(rads)


def film_thickness(phase, spacing, centres, radii, slab_mask, target) -> float:
    """Uniform coating thickness whose CBD voxels in the slab reach ``target``."""
    periodic = (True, True, False)
    base_count = int(np.count_nonzero((phase == CBD) & slab_mask))
    need = target - base_count
    if need <= 0:
        return 0.0
    free = (phase != AM) & (phase != CBD) & slab_mask
    dist = ndimage.distance_transform_edt(phase != AM, sampling=spacing)
    cand = np.sort(dist[free])
    if need > len(cand):
        raise CBDPlacementError("the slab has fewer free voxels than the CBD target")
    t_est = float(cand[need - 1])

    def count(t):
        ph = phase.copy()
        return paint_spheres(ph, spacing, periodic, centres, radii + t, CBD,
                             count_mask=slab_mask)

    lo, hi = 0.5 * t_est, 1.5 * t_est + spacing.max()
    while count(hi) < need:
        hi *= 1.5
    for _ in range(25):
        mid = 0.5 * (lo + hi)
        if count(mid) < need:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-3 * spacing.min():
            break
    return hi
