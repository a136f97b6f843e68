"""Mesh quality report: cell count, dihedral angles, per-tag volumes and per-particle interface
areas against their analytic values (on rank 0, from the gmsh model)."""

from __future__ import annotations

import numpy as np

from .gmsh_model import INTERFACE_TAG_OFFSET, PARTICLE_TAG_OFFSET, PORE, SEPARATOR
from .repair import Pieces
from .voxel_mesh import CBD_TAG


def _node_table(gmsh):
    """(lookup from gmsh node tag to row, coordinates) of the current mesh."""
    ntags, xyz, _ = gmsh.model.mesh.getNodes()
    lookup = np.zeros(int(ntags.max()) + 1, dtype=np.int64)
    lookup[ntags] = np.arange(len(ntags))
    return lookup, xyz.reshape(-1, 3)


def _tets(gmsh, dim_tag, nodes):
    """Vertex coordinates (n, 4, 3) of the tetrahedra (or (n, 3, 3) triangles) of a group."""
    lookup, xyz = nodes
    k = 4 if dim_tag[0] == 3 else 3
    coords = []
    for ent in gmsh.model.getEntitiesForPhysicalGroup(*dim_tag):
        types, _, tags = gmsh.model.mesh.getElements(dim_tag[0], ent)
        for t, tg in zip(types, tags, strict=True):
            nn = gmsh.model.mesh.getElementProperties(t)[3]
            coords.append(xyz[lookup[np.asarray(tg, np.int64)]].reshape(-1, nn, 3)[:, :k])
    return np.concatenate(coords) if coords else np.zeros((0, k, 3))


def tet_volumes(t):
    return np.abs(np.einsum("ij,ij->i", t[:, 1] - t[:, 0],
                            np.cross(t[:, 2] - t[:, 0], t[:, 3] - t[:, 0]))) / 6.0


def triangle_areas(t):
    return 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)


def min_dihedral_deg(t) -> float:
    """Smallest dihedral angle (degrees) over the tetrahedra ``t`` (n, 4, 3): with outward
    unit normals n_a, n_b of two faces, the dihedral angle on their edge is pi - angle(n_a, n_b).
    """
    if len(t) == 0:
        return float("nan")
    normals = []
    for a in range(4):
        i, j, k = (b for b in range(4) if b != a)
        n = np.cross(t[:, j] - t[:, i], t[:, k] - t[:, i])
        outward = np.sign(np.einsum("ij,ij->i", n, t[:, i] - t[:, a]))
        normals.append(n * (outward / np.linalg.norm(n, axis=1))[:, None])
    worst = np.pi
    for a in range(4):
        for b in range(a + 1, 4):
            cos = np.clip(np.einsum("ij,ij->i", normals[a], normals[b]), -1.0, 1.0)
            worst = min(worst, float(np.min(np.pi - np.arccos(cos))))
    return float(np.degrees(worst))


def _fibonacci_sphere(n):
    k = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * k / n)
    theta = np.pi * (1 + 5**0.5) * k
    return np.column_stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi),
                            np.cos(phi)])


def _in_necks(p, pieces, which):
    """Points ``p`` inside any of the necks ``which``."""
    out = np.zeros(len(p), bool)
    for k in which:
        a, b, r = pieces.neck_p0[k], pieces.neck_p1[k], pieces.neck_radii[k]
        d = b - a
        t = np.clip((p - a) @ d / (d @ d), 0.0, 1.0)
        inside_len = ((p - a) @ d >= 0) & ((p - a) @ d <= d @ d)
        out |= inside_len & (np.linalg.norm(p - a - t[:, None] * d, axis=1) <= r)
    return out


def _in_spheres(p, pieces, which):
    out = np.zeros(len(p), bool)
    for j in which:
        out |= np.linalg.norm(p - pieces.centres[j], axis=1) <= pieces.radii[j]
    return out


def analytic_particle(pieces: Pieces, pid: int, box, n_points: int = 40000):
    """Volume and electrolyte-facing area of a particle, by quadrature and sampling.

    Volume: its sphere pieces inside the box, less the lenses that earlier pieces own, plus its
    necks outside every sphere and earlier neck. Area: its sphere surface inside the box and
    outside every other sphere and every neck, its necks' mantles outside every sphere and
    other neck, plus flat cuts at the separator plane."""
    sel = np.flatnonzero(pieces.particle_ids == pid)
    others = np.flatnonzero(pieces.particle_ids != pid)
    all_spheres = np.arange(len(pieces.radii))
    all_necks = np.arange(len(pieces.neck_radii))
    u = _fibonacci_sphere(n_points)
    rng = np.random.default_rng(0)
    vol = area = 0.0
    for k in sel:
        c, r = pieces.centres[k], pieces.radii[k]
        # a lens shared with an earlier piece belongs to that piece (see gmsh_model)
        for j in others[others < k]:
            vol -= _lens_volume(r, pieces.radii[j], np.linalg.norm(pieces.centres[j] - c))
        p = c + r * u
        near = [j for j in others if np.linalg.norm(pieces.centres[j] - c)
                < r + pieces.radii[j]]
        keep = np.all((p >= 0) & (p <= box), axis=1) & ~_in_spheres(p, pieces, near) & \
            ~_in_necks(p, pieces, all_necks)
        area += 4 * np.pi * r * r * np.count_nonzero(keep) / n_points
        vol += _sphere_box_volume(c, r, box)
        if c[2] + r > box[2]:  # flat cut against the separator
            area += _disc_box_area(c, r, box, box[2])
    for k in np.flatnonzero(pieces.neck_ids == pid):
        a, b, rho = pieces.neck_p0[k], pieces.neck_p1[k], pieces.neck_radii[k]
        d = b - a
        length = np.linalg.norm(d)
        e1 = np.cross(d, [1.0, 0, 0] if abs(d[0]) < 0.9 * length else [0, 1.0, 0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(d / length, e1)
        t, phi = rng.random(n_points), 2 * np.pi * rng.random(n_points)
        rad = rho * np.sqrt(rng.random(n_points))
        inner = a + t[:, None] * d + (rad * np.cos(phi))[:, None] * e1 + \
            (rad * np.sin(phi))[:, None] * e2
        own = np.all((inner >= 0) & (inner <= box), axis=1) & \
            ~_in_spheres(inner, pieces, all_spheres) & ~_in_necks(inner, pieces, all_necks[:k])
        vol += np.pi * rho**2 * length * np.count_nonzero(own) / n_points
        mantle = a + t[:, None] * d + (rho * np.cos(phi))[:, None] * e1 + \
            (rho * np.sin(phi))[:, None] * e2
        free = np.all((mantle >= 0) & (mantle <= box), axis=1) & \
            ~_in_spheres(mantle, pieces, all_spheres) & \
            ~_in_necks(mantle, pieces, np.delete(all_necks, k))
        area += 2 * np.pi * rho * length * np.count_nonzero(free) / n_points
    return vol, area


def _lens_volume(r1, r2, d):
    """Volume common to two spheres of radii r1, r2 whose centres are d apart."""
    if d >= r1 + r2:
        return 0.0
    if d <= abs(r1 - r2):
        return 4 / 3 * np.pi * min(r1, r2) ** 3
    return np.pi * (r1 + r2 - d) ** 2 * (d * d + 2 * d * (r1 + r2) - 3 * (r1 - r2) ** 2) / (12 * d)


def _sphere_box_volume(c, r, box, n=400):
    x = np.linspace(c[0] - r, c[0] + r, n + 1)
    y = np.linspace(c[1] - r, c[1] + r, n + 1)
    xm, ym = 0.5 * (x[1:] + x[:-1]), 0.5 * (y[1:] + y[:-1])
    X, Y = np.meshgrid(xm, ym, indexing="ij")
    h2 = r * r - (X - c[0]) ** 2 - (Y - c[1]) ** 2
    h = np.sqrt(np.clip(h2, 0, None))
    dz = np.clip(np.minimum(c[2] + h, box[2]) - np.maximum(c[2] - h, 0.0), 0, None)
    ok = (X >= 0) & (X <= box[0]) & (Y >= 0) & (Y <= box[1]) & (h2 > 0)
    return float(np.sum(dz[ok]) * (x[1] - x[0]) * (y[1] - y[0]))


def _disc_box_area(c, r, box, z, n=400):
    rho2 = r * r - (z - c[2]) ** 2
    if rho2 <= 0:
        return 0.0
    rho = np.sqrt(rho2)
    x = np.linspace(c[0] - rho, c[0] + rho, n + 1)
    y = np.linspace(c[1] - rho, c[1] + rho, n + 1)
    X, Y = np.meshgrid(0.5 * (x[1:] + x[:-1]), 0.5 * (y[1:] + y[:-1]), indexing="ij")
    ok = ((X - c[0]) ** 2 + (Y - c[1]) ** 2 <= rho2) & (X >= 0) & (X <= box[0]) & \
        (Y >= 0) & (Y <= box[1])
    return float(np.count_nonzero(ok) * (x[1] - x[0]) * (y[1] - y[0]))


def quality_report(gmsh, pieces: Pieces, box, separator_thickness: float,
                   unit: float = 1.0) -> dict:
    """Figures of the meshed model; lengths in the model are multiplied by ``unit`` (m)."""
    box = np.asarray(box, float)
    v3, a2 = unit**3, unit**2
    groups = {tag: name for (dim, tag) in gmsh.model.getPhysicalGroups(3)
              for name in [gmsh.model.getPhysicalName(dim, tag)]}
    nodes = _node_table(gmsh)
    volumes, all_tets = {}, []
    for tag in groups:
        t = _tets(gmsh, (3, tag), nodes)
        all_tets.append(t)
        volumes[tag] = float(tet_volumes(t).sum())
    tets = np.concatenate(all_tets)
    particles = {}
    for pid in np.unique(pieces.particle_ids):
        pid = int(pid)
        v_ref, a_ref = analytic_particle(pieces, pid, box)
        tri = _tets(gmsh, (2, INTERFACE_TAG_OFFSET + pid), nodes) if (
            2, INTERFACE_TAG_OFFSET + pid) in gmsh.model.getPhysicalGroups(2) else np.zeros(
            (0, 3, 3))
        a_mesh = float(triangle_areas(tri).sum())
        particles[pid] = {"volume_mesh_m3": volumes.get(PARTICLE_TAG_OFFSET + pid, 0.0) * v3,
                          "volume_analytic_m3": v_ref * v3,
                          "interface_area_mesh_m2": a_mesh * a2,
                          "interface_area_analytic_m2": float(a_ref * a2)}
    am_mesh = sum(p["volume_mesh_m3"] for p in particles.values())
    electrode = float(np.prod(box)) * v3
    volumes = {k: v * v3 for k, v in volumes.items()}
    rel = [abs(p["volume_mesh_m3"] / p["volume_analytic_m3"] - 1) for p in particles.values()
           if p["volume_analytic_m3"] > 0]
    rel_a = [abs(p["interface_area_mesh_m2"] / p["interface_area_analytic_m2"] - 1)
             for p in particles.values() if p["interface_area_analytic_m2"] > 0]
    return {
        "n_cells": int(len(tets)),
        "n_nodes": int(len(gmsh.model.mesh.getNodes()[0])),
        "min_dihedral_deg": min_dihedral_deg(tets),
        "volume_m3": {"pore": volumes.get(PORE, 0.0), "separator": volumes.get(SEPARATOR, 0.0),
                      "cbd": volumes.get(CBD_TAG, 0.0), "am": am_mesh},
        "volume_analytic_m3": {"separator": float(box[0] * box[1] * separator_thickness) * v3,
                               "electrode_box": electrode},
        "electrode_volume_error": abs(volumes.get(PORE, 0.0) + volumes.get(CBD_TAG, 0.0)
                                      + am_mesh - electrode) / electrode,
        "max_particle_volume_error": max(rel) if rel else 0.0,
        "max_particle_interface_area_error": max(rel_a) if rel_a else 0.0,
        "particles": {str(k): v for k, v in particles.items()},
    }


def image_report(gmsh, unit: float = 1.0) -> dict:
    """Figures of a meshed label image (no analytic reference): cells, nodes, min dihedral
    angle, phase volumes, per-particle volume and electrolyte interface area."""
    v3, a2 = unit**3, unit**2
    nodes = _node_table(gmsh)
    volumes, all_tets, particles = {}, [], {}
    for dim, tag in gmsh.model.getPhysicalGroups(3):
        t = _tets(gmsh, (dim, tag), nodes)
        all_tets.append(t)
        volumes[tag] = float(tet_volumes(t).sum()) * v3
    surfaces = {tag for _, tag in gmsh.model.getPhysicalGroups(2)}
    for tag, vol in volumes.items():
        if tag >= PARTICLE_TAG_OFFSET:
            pid = tag - PARTICLE_TAG_OFFSET
            itag = INTERFACE_TAG_OFFSET + pid
            tri = _tets(gmsh, (2, itag), nodes) if itag in surfaces else np.zeros((0, 3, 3))
            particles[str(pid)] = {"volume_mesh_m3": vol,
                                   "interface_area_mesh_m2": float(triangle_areas(tri).sum())
                                   * a2}
    tets = np.concatenate(all_tets)
    return {"n_cells": int(len(tets)), "n_nodes": int(len(gmsh.model.mesh.getNodes()[0])),
            "min_dihedral_deg": min_dihedral_deg(tets),
            "volume_m3": {"pore": volumes.get(PORE, 0.0), "separator": volumes.get(SEPARATOR, 0.0),
                          "cbd": volumes.get(CBD_TAG, 0.0),
                          "am": sum(v["volume_mesh_m3"] for v in particles.values())},
            "particles": particles}
