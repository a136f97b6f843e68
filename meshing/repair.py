"""Geometry repair before meshing: what OpenCASCADE and the mesher choke on is changed, and
every change is reported.

Dense random packings are full of near-tangencies: contacts whose disc is tiny and gaps far
thinner than an element, each a wedge of slivers. Changing radii to clear them all is
over-constrained (growing a particle for one contact closes a gap with another), so:

1. Periodic structures are shifted laterally (exactly, since they are periodic) to the cut
   position with the fewest spheres grazing the lateral faces, then unfolded: a sphere crossing
   a periodic face gets its images, every piece clipped by the box later (pieces keep the
   particle id).
2. A sphere grazing a box face (its cap past the plane thinner than ``min_cap`` or its gap to
   the plane below ``min_gap``) has its radius changed to the nearer of the two states (a
   sphere resting on the current collector is made to cross it: it touches it).
3. Every sphere pair whose gap is below ``min_gap`` or whose contact disc is narrower than
   sqrt(2 r_eff min_gap) (a sharp wedge around the contact) gets a *neck*: a cylinder of AM
   along the line of centres whose radius leaves a gap of ``min_gap`` at its rim
   (rho^2 = 2 r_eff (min_gap + overlap)). Necks are local: adding one never spoils another.
   They join particles that were closer than ``min_gap``: such particles touch electronically.
The report lists the counts, the radius changes, the necks and the volume each particle gains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from mesostructure import Microstructure


@dataclass(frozen=True)
class RepairOptions:
    """min_gap: smallest gap left between surfaces (m); min_cap: thinnest cap of a sphere cut
    by a box face (m); max_neck_fraction: largest neck radius as a fraction of the smaller
    sphere's radius."""

    min_gap: float = 0.4e-6
    min_cap: float = 0.3e-6
    max_neck_fraction: float = 0.6

    def __post_init__(self):
        if self.min_gap <= 0 or self.min_cap <= 0 or not 0 < self.max_neck_fraction < 1:
            raise ValueError("min_gap and min_cap must be positive and max_neck_fraction in "
                             "(0, 1)")


@dataclass
class Pieces:
    """What to mesh: sphere pieces (a periodic particle may have several) and necks."""

    centres: np.ndarray
    radii: np.ndarray
    particle_ids: np.ndarray
    original_radii: np.ndarray
    neck_p0: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    neck_p1: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    neck_radii: np.ndarray = field(default_factory=lambda: np.zeros(0))
    neck_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    shift: np.ndarray = field(default_factory=lambda: np.zeros(3))
    report: dict = field(default_factory=dict)

    def scaled(self, factor: float) -> Pieces:
        return Pieces(self.centres * factor, self.radii * factor, self.particle_ids,
                      self.original_radii * factor, self.neck_p0 * factor,
                      self.neck_p1 * factor, self.neck_radii * factor, self.neck_ids,
                      self.shift * factor, self.report)


def unfold_periodic(centres, radii, ids, box, periodic):
    """Centres, radii and ids of every sphere and periodic image that reaches into the box."""
    cs, rs, ii = [centres], [radii], [ids]
    for sx in (-1, 0, 1):
        for sy in (-1, 0, 1):
            if (sx, sy) == (0, 0) or (sx and not periodic[0]) or (sy and not periodic[1]):
                continue
            cc = centres + np.array([sx * box[0], sy * box[1], 0.0])
            reach = np.all((cc[:, :2] + radii[:, None] > 0) &
                           (cc[:, :2] - radii[:, None] < box[:2]), axis=1)
            cs.append(cc[reach])
            rs.append(radii[reach])
            ii.append(ids[reach])
    return np.concatenate(cs), np.concatenate(rs), np.concatenate(ii)


def _grazing(c, r, plane, opt):
    """Radius change that clears a sphere grazing ``plane`` along one axis (0 if none)."""
    cap = r - np.abs(c - plane)  # > 0: the sphere crosses the plane by this much
    out = np.zeros_like(r)
    cross = (cap > 0) & (cap < opt.min_cap)
    near = (cap <= 0) & (cap > -opt.min_gap)
    # crossing a little: cross by min_cap, or clear the plane, whichever is nearer
    grow = cross & (opt.min_cap - cap < cap + opt.min_gap)
    out[grow] = opt.min_cap - cap[grow]
    out[cross & ~grow] = -(cap[cross & ~grow] + opt.min_gap)
    # apart by less than min_gap: touch (cross by min_cap) or open the gap, whichever nearer
    touch = near & (opt.min_cap - cap < cap + opt.min_gap)
    out[touch] = opt.min_cap - cap[touch]
    out[near & ~touch] = -(cap[near & ~touch] + opt.min_gap)
    return out


def _best_shift(c, r, box, periodic, opt, n_try: int = 64):
    """Lateral shift (periodic axes) with the fewest spheres grazing the cut faces."""
    shift = np.zeros(3)
    for a in (0, 1):
        if not periodic[a]:
            continue
        best = None
        for s in np.linspace(0, box[a], n_try, endpoint=False):
            x = np.mod(c[:, a] + s, box[a])
            d = np.minimum(x, box[a] - x)  # distance to the nearer cut face
            bad = np.count_nonzero(np.abs(r - d) < opt.min_gap + opt.min_cap)
            if best is None or bad < best[0]:
                best = (bad, s)
        shift[a] = best[1]
    return shift


def repair_spheres(ms: Microstructure, options: RepairOptions | None = None) -> Pieces:
    """Shift, unfold, clear the box faces and add necks (see the module docstring)."""
    opt = options or RepairOptions()
    box = ms.box
    c = ms.particles.centres.copy()
    r = ms.particles.radii.copy()
    shift = _best_shift(c, r, box, ms.periodic, opt)
    c[:, :2] = np.where(ms.periodic[:2], np.mod(c[:, :2] + shift[:2], box[:2]), c[:, :2])
    r0 = r.copy()
    # faces: the current collector (z = 0), the separator plane, and cut lateral faces
    for _ in range(3):  # a radius change for one face may graze another; settle
        dr = np.zeros_like(r)
        for a in range(3):  # periodic centres lie in [0, L): images meet the other face
            for plane in (0.0, box[a]):
                g = _grazing(c[:, a], r, plane, opt)
                dr = np.where(np.abs(g) > np.abs(dr), g, dr)
        if not np.any(dr):
            break
        r = r + dr
    if np.any(r <= 0):
        raise RuntimeError("clearing the box faces would shrink a particle to nothing")
    centres, radii, ids = unfold_periodic(c, r, ms.particle_ids, box, ms.periodic)
    p0, p1, nr, nid, n_contact, n_gap = _necks(centres, radii, ids, opt)
    r0_pieces = unfold_periodic(c, r0, ms.particle_ids, box, ms.periodic)[1]
    dv = {int(p): float(4 / 3 * np.pi * (rn**3 - ro**3))
          for p, rn, ro in zip(ms.particle_ids, r, r0, strict=True) if rn != ro}
    report = {
        "lateral_shift_m": shift[:2].tolist(),
        "radius_changes": len(dv),
        "volume_change_m3": dv,
        "max_relative_radius_change": float(np.max(np.abs(r / r0 - 1))) if len(r) else 0.0,
        "necks": int(len(nr)),
        "necks_at_contacts": n_contact,
        "necks_across_gaps": n_gap,
        "n_pieces": int(len(radii)),
        "n_particles": int(len(np.unique(ids))),
        "options": {"min_gap_m": opt.min_gap, "min_cap_m": opt.min_cap,
                    "max_neck_fraction": opt.max_neck_fraction},
    }
    return Pieces(centres, radii, ids, r0_pieces, p0, p1, nr, nid, shift, report)


def _necks(centres, radii, ids, opt):
    """Neck cylinders for every pair whose gap is below min_gap or whose contact is thinner
    than the neck it needs. Each neck runs from inside one sphere to inside the other and
    belongs to the first particle of the pair."""
    tree = cKDTree(centres)
    p0, p1, nr, nid = [], [], [], []
    n_contact = n_gap = 0
    for i, j in tree.query_pairs(2 * radii.max() + opt.min_gap, output_type="ndarray"):
        if ids[i] == ids[j]:
            continue
        d = centres[j] - centres[i]
        dist = np.linalg.norm(d)
        overlap = radii[i] + radii[j] - dist
        if overlap <= -opt.min_gap:
            continue
        r_eff = radii[i] * radii[j] / (radii[i] + radii[j])
        contact = np.sqrt(max(overlap, 0.0) * 2.0 * r_eff)  # contact disc radius now
        if contact >= np.sqrt(2.0 * r_eff * opt.min_gap):
            continue  # a contact as wide as the neck of a tangent pair: well formed
        rho = np.sqrt(2.0 * r_eff * (opt.min_gap + overlap))
        rho = min(rho, opt.max_neck_fraction * min(radii[i], radii[j]))
        u = d / dist
        # from the depth where sphere i's cross-section has radius rho, to the same in j
        hi = np.sqrt(max(radii[i] ** 2 - rho**2, 0.0))
        hj = np.sqrt(max(radii[j] ** 2 - rho**2, 0.0))
        a, b = centres[i] + u * 0.5 * hi, centres[j] - u * 0.5 * hj
        p0.append(a)
        p1.append(b)
        nr.append(rho)
        nid.append(ids[i])
        if overlap > 0:
            n_contact += 1
        else:
            n_gap += 1
    return (np.array(p0).reshape(-1, 3), np.array(p1).reshape(-1, 3), np.array(nr),
            np.array(nid, dtype=np.int64), n_contact, n_gap)
