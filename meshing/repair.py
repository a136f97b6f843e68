"""Geometry repair before meshing: what OpenCASCADE and the mesher choke on is changed, and
every change is reported.

- Periodic structures are unfolded: a sphere crossing a periodic face gets its images, and every
  piece is later clipped by the box (pieces keep their particle id).
- Near-tangent sphere pairs (a gap below ``min_gap`` or a contact disc smaller than
  ``min_contact_radius``) become a contact of that disc radius or a gap of ``min_gap``, by
  changing radii (the least total change over the whole structure, see ``repair_spheres``).
- Spheres nearly tangent to a box face are treated the same way against the plane (they are
  then clipped by the box).
The volume change of each particle is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from mesostructure import Microstructure


@dataclass(frozen=True)
class RepairOptions:
    """min_gap: smallest gap kept between surfaces (m); min_contact_radius: smallest radius of
    the contact disc where two spheres (or a sphere and a box face) meet (m)."""

    min_gap: float = 0.4e-6
    min_contact_radius: float = 0.5e-6

    def __post_init__(self):
        if self.min_gap <= 0 or self.min_contact_radius <= 0:
            raise ValueError("min_gap and min_contact_radius must be positive")

    def min_overlap(self, r_eff: float) -> float:
        """Overlap giving a contact disc of radius min_contact_radius: a^2 ~ 2 r_eff delta."""
        return self.min_contact_radius**2 / (2.0 * r_eff)


@dataclass
class Pieces:
    """Spheres to mesh: one row per piece (a periodic particle may have several)."""

    centres: np.ndarray
    radii: np.ndarray
    particle_ids: np.ndarray
    original_radii: np.ndarray
    report: dict = field(default_factory=dict)

    def scaled(self, factor: float) -> Pieces:
        return Pieces(self.centres * factor, self.radii * factor, self.particle_ids,
                      self.original_radii * factor, self.report)


def unfold_periodic(ms: Microstructure) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres, radii and ids of every sphere and periodic image that reaches into the box."""
    c, r, ids = ms.particles.centres, ms.particles.radii, ms.particle_ids
    cs, rs, ii = [c], [r], [ids]
    shifts = []
    for sx in (-1, 0, 1):
        for sy in (-1, 0, 1):
            if (sx, sy) == (0, 0):
                continue
            if (sx and not ms.periodic[0]) or (sy and not ms.periodic[1]):
                continue
            shifts.append((sx, sy))
    for sx, sy in shifts:
        cc = c + np.array([sx * ms.box[0], sy * ms.box[1], 0.0])
        reach = np.all((cc[:, :2] + r[:, None] > 0) & (cc[:, :2] - r[:, None] < ms.box[:2]),
                       axis=1)
        cs.append(cc[reach])
        rs.append(r[reach])
        ii.append(ids[reach])
    return np.concatenate(cs), np.concatenate(rs), np.concatenate(ii)


def repair_spheres(ms: Microstructure, options: RepairOptions | None = None) -> Pieces:
    """Unfold, then remove near-tangencies between spheres and with the box faces.

    Every sphere pair within reach and every sphere near a face is a constraint on the radius
    changes; pairs clear of the forbidden band must stay so; each pair in the band (gap below
    min_gap or contact disc below min_contact_radius) becomes a contact or a gap; the radius
    changes are the least total change meeting every constraint at once (a linear program), so
    fixing one contact never breaks another. Dense random packings can leave constraints that
    no radius change meets: they are counted in the report (``unresolved_near_tangencies``)
    and the mesher copes with them at the cost of element quality.
    """
    opt = options or RepairOptions()
    centres, radii, ids = unfold_periodic(ms)
    r0 = radii.copy()
    uniq, var = np.unique(ids, return_inverse=True)  # one radius change per particle
    n = len(uniq)
    cons = []  # (variables, extent now, contact need)
    tree = cKDTree(centres)
    for i, j in tree.query_pairs(2 * radii.max() + opt.min_gap, output_type="ndarray"):
        if var[i] == var[j]:
            continue
        d = np.linalg.norm(centres[i] - centres[j])
        need = opt.min_overlap(radii[i] * radii[j] / (radii[i] + radii[j]))
        cons.append(((var[i], var[j]), radii[i] + radii[j] - d, need, "pair"))
    box = ms.box
    for axis in range(3):
        for plane in (0.0, box[axis]):
            # how far the sphere reaches across the plane (a disc of radius^2 = r^2 - dist^2)
            past = radii - np.abs(centres[:, axis] - plane)
            for k in np.flatnonzero(past > -opt.min_gap - 2 * radii.max()):
                cons.append(((var[k],), past[k], opt.min_overlap(radii[k]), "face"))
    r_part = np.array([r0[var == v][0] for v in range(n)])
    delta, chosen, unresolved = _solve_radii(cons, n, r_part, opt) if cons else \
        (np.zeros(n), [], 0)
    counts = {"necks_widened": 0, "gaps_opened": 0, "face_crossings_deepened": 0,
              "face_gaps_opened": 0}
    for (_vs, x, need, kind), contact in zip(cons, chosen, strict=True):
        if -opt.min_gap < x < need:
            key = ("necks_widened" if kind == "pair" else "face_crossings_deepened") \
                if contact else ("gaps_opened" if kind == "pair" else "face_gaps_opened")
            counts[key] += 1
    radii = r0 + delta[var]
    dv = {int(uniq[v]): float(4 / 3 * np.pi * ((r_part[v] + delta[v]) ** 3 - r_part[v] ** 3))
          for v in range(n) if abs(delta[v]) > 0}
    report = {
        **counts,
        "n_pieces": int(len(radii)),
        "n_particles": int(n),
        "volume_change_m3": dv,
        "max_relative_radius_change": float(np.max(np.abs(delta / r_part))) if n else 0.0,
        "unresolved_near_tangencies": unresolved,
        "options": {"min_gap_m": opt.min_gap, "min_contact_radius_m": opt.min_contact_radius},
    }
    return Pieces(centres, radii, ids, r0, report)


def _solve_radii(cons, n, r_part, opt, max_rounds: int = 12):
    """Radius change per particle, per constraint whether it ends as a contact, and how many
    constraints are left unmet.

    Each constraint in the band starts as whichever of contact/gap is nearer; a linear program
    (least sum |dr| plus heavily penalised violations) is solved; band constraints it could
    not meet flip their choice and the program runs again, up to ``max_rounds``; the round
    with the fewest unmet constraints wins."""
    from scipy.optimize import linprog

    scale = float(np.mean(r_part))  # solver tolerances are absolute: work in mean radii
    g = opt.min_gap / scale
    xs = np.array([c[1] for c in cons]) / scale
    needs = np.array([c[2] for c in cons]) / scale
    band = (xs > -g) & (xs < needs)
    contact = np.where(band, needs - xs < xs + g, xs >= needs)
    if not band.any():
        return np.zeros(n), list(contact), 0
    m = len(cons)
    S = np.zeros((m, n))
    for k, (vs, *_rest) in enumerate(cons):
        for v in vs:
            S[k, v] += 1.0
    eye = np.eye(n)
    bounds = [(-0.5 * r / scale, 0.3 * r / scale) for r in r_part] + [(0, None)] * (n + m)
    cost = np.concatenate([np.zeros(n), np.ones(n), np.full(m, 1e3)])
    best = None
    for _round in range(max_rounds):
        # contact: -(S dr) - s <= x - need;  gap: S dr - s <= -g - x
        sign = np.where(contact, -1.0, 1.0)
        A = np.block([[sign[:, None] * S, np.zeros((m, n)), -np.eye(m)],
                      [eye, -eye, np.zeros((n, m))], [-eye, -eye, np.zeros((n, m))]])
        b = np.concatenate([np.where(contact, xs - needs, -g - xs), np.zeros(2 * n)])
        res = linprog(cost, A_ub=A, b_ub=b, bounds=bounds, method="highs")
        if not res.success:
            raise RuntimeError(f"geometry repair failed: {res.message}")
        unmet = res.x[2 * n:] > 1e-6
        if best is None or unmet.sum() < best[2]:
            best = (res.x[:n] * scale, list(contact), int(unmet.sum()))
        flip = unmet & band
        if not unmet.any() or not flip.any():
            break
        contact = np.where(flip, ~contact, contact)
    return best
