"""Geometry repair before meshing: what OpenCASCADE and the mesher choke on is changed, and
every change is reported.

- Periodic structures are unfolded: a sphere crossing a periodic face gets its images, and every
  piece is later clipped by the box (pieces keep their particle id).
- Near-tangent sphere pairs (a gap below ``min_gap`` or a contact disc smaller than
  ``min_contact_radius``) become a contact of that disc radius (if they overlap or their gap is
  below ``neck_below_gap``) or a gap of ``min_gap``, by changing both radii by the same amount.
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
    the contact disc where two spheres (or a sphere and a box face) meet (m); a contact is
    made rather than a gap opened when the gap is below ``neck_below_gap``."""

    min_gap: float = 0.4e-6
    min_contact_radius: float = 0.5e-6
    neck_below_gap: float = 0.2e-6

    def __post_init__(self):
        if self.min_gap <= 0 or self.min_contact_radius <= 0 or self.neck_below_gap < 0:
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

    Every sphere pair within reach and every sphere near a face gets a constraint on the radius
    changes: stay (or become) a contact of disc radius >= min_contact_radius, or stay (or
    become) apart by >= min_gap, whichever is nearer to the present state. The smallest total
    radius change meeting all constraints at once is found by linear programming, so fixing
    one contact never breaks another.
    """
    from scipy.optimize import linprog

    opt = options or RepairOptions()
    centres, radii, ids = unfold_periodic(ms)
    r0 = radii.copy()
    uniq, var = np.unique(ids, return_inverse=True)  # one radius change per particle
    n = len(uniq)
    rows, rhs = [], []
    counts = {"necks_widened": 0, "gaps_opened": 0, "face_crossings_deepened": 0,
              "face_gaps_opened": 0}
    tree = cKDTree(centres)
    for i, j in tree.query_pairs(2 * radii.max() + opt.min_gap, output_type="ndarray"):
        p, q = var[i], var[j]
        if p == q:
            continue
        d = np.linalg.norm(centres[i] - centres[j])
        overlap = radii[i] + radii[j] - d
        need = opt.min_overlap(radii[i] * radii[j] / (radii[i] + radii[j]))
        row = np.zeros(n)
        if overlap > -opt.neck_below_gap:  # contact: r_p + r_q >= d + need
            row[p] -= 1
            row[q] -= 1
            rows.append(row)
            rhs.append(overlap - need)
            counts["necks_widened"] += overlap < need
        else:  # apart: r_p + r_q <= d - min_gap
            row[p] += 1
            row[q] += 1
            rows.append(row)
            rhs.append(-opt.min_gap - overlap)
            counts["gaps_opened"] += overlap > -opt.min_gap
    box = ms.box
    for axis in range(3):
        for side, plane in ((-1, 0.0), (1, box[axis])):
            past = radii + side * (centres[:, axis] - plane)  # extent past the face
            for k in np.flatnonzero(past > -opt.min_gap - 2 * radii.max()):
                need = opt.min_overlap(radii[k])
                row = np.zeros(n)
                if past[k] > -opt.neck_below_gap:  # crossing: r + dr - ... >= need
                    row[var[k]] = -1
                    rows.append(row)
                    rhs.append(past[k] - need)
                    counts["face_crossings_deepened"] += past[k] < need
                else:
                    row[var[k]] = 1
                    rows.append(row)
                    rhs.append(-opt.min_gap - past[k])
                    counts["face_gaps_opened"] += past[k] > -opt.min_gap
    r_part = np.array([r0[var == v][0] for v in range(n)])
    delta = np.zeros(n)
    unresolved = 0
    if rows:
        A = np.array(rows)
        b = np.array(rhs)
        if np.any(A @ delta > b + 1e-15):
            # minimise sum |dr| + penalty * violations: variables [dr, t, s] with
            # -t <= dr <= t, A dr - s <= b, s >= 0 (always feasible; s > 0 is reported)
            m = len(b)
            eye, zn, zm = np.eye(n), np.zeros((n, m)), np.zeros((m, n))
            A_ub = np.block([[A, zm, -np.eye(m)], [eye, -eye, zn], [-eye, -eye, zn]])
            # in units of the mean radius: the solver's tolerances are absolute (~1e-7)
            scale = float(np.mean(r_part))
            b_ub = np.concatenate([b / scale, np.zeros(2 * n)])
            cost = np.concatenate([np.zeros(n), np.ones(n), np.full(m, 1e3)])
            bounds = [(-0.5 * r / scale, 0.3 * r / scale) for r in r_part] + \
                [(0, None)] * (n + m)
            res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
            if not res.success:
                raise RuntimeError(f"geometry repair failed: {res.message}")
            delta = res.x[:n] * scale
            unresolved = int(np.count_nonzero(res.x[2 * n:] * scale > 1e-3 * opt.min_gap))
    radii = r0 + delta[var]
    dv = {int(uniq[v]): float(4 / 3 * np.pi * ((r_part[v] + delta[v]) ** 3 - r_part[v] ** 3))
          for v in range(n) if abs(delta[v]) > 0}
    report = {
        **{k: int(v) for k, v in counts.items()},
        "unresolved_near_tangencies": unresolved,
        "n_pieces": int(len(radii)),
        "n_particles": int(n),
        "volume_change_m3": dv,
        "max_relative_radius_change": float(np.max(np.abs(delta / r_part))) if n else 0.0,
        "options": {"min_gap_m": opt.min_gap, "min_contact_radius_m": opt.min_contact_radius,
                    "neck_below_gap_m": opt.neck_below_gap},
    }
    return Pieces(centres, radii, ids, r0, report)


