"""The gmsh (OpenCASCADE) model of an electrode: box + separator slab + clipped AM spheres.

Physical groups (volumes): one per AM particle (tag = ``PARTICLE_TAG_OFFSET + id``), the pore
electrolyte (``PORE``), the separator (``SEPARATOR``). Physical groups (surfaces): current
collector, counter-electrode face, lateral faces, electrode/separator plane, AM/AM contacts and,
per particle, its interface with the electrolyte (``INTERFACE_TAG_OFFSET + id``).

The CBD is not meshed: it reaches the solver as a per-cell volume fraction (see ``cbd.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .repair import Pieces

PORE, SEPARATOR = 1, 2
PARTICLE_TAG_OFFSET = 1000
CURRENT_COLLECTOR, COUNTER_ELECTRODE, LATERAL, SEPARATOR_PLANE, AM_CONTACT = 1, 2, 3, 4, 5
INTERFACE_TAG_OFFSET = 100000
CURVATURE_ELEMENTS = 28


@dataclass(frozen=True)
class SizeOptions:
    """Element sizes (m): ``interface`` near AM surfaces, ``bulk`` far from them; ``refine``
    divides both (convergence studies)."""

    interface: float = 1.0e-6
    bulk: float = 3.0e-6
    refine: float = 1.0

    def __post_init__(self):
        if not (0 < self.interface <= self.bulk) or self.refine <= 0:
            raise ValueError("need 0 < interface size <= bulk size and refine > 0")

    def scaled(self, factor: float) -> SizeOptions:
        return SizeOptions(self.interface * factor, self.bulk * factor, self.refine)


def build_model(gmsh, pieces: Pieces, box: np.ndarray, separator_thickness: float,
                size: SizeOptions) -> dict:
    """Add the geometry, physical groups and size fields to the current gmsh model.

    Returns the map particle id -> gmsh volume tags.
    """
    occ = gmsh.model.occ
    Lx, Ly, Lz = box
    electrode = occ.addBox(0, 0, 0, Lx, Ly, Lz)
    separator = occ.addBox(0, 0, Lz, Lx, Ly, separator_thickness) \
        if separator_thickness > 0 else None
    def clipped(tag, lo, hi):
        if np.all(lo > 0) and np.all(hi < box):
            return tag
        cut = occ.addBox(0, 0, 0, Lx, Ly, Lz)  # a fresh copy of the electrode box
        out, _ = occ.intersect([(3, tag)], [(3, cut)])
        return out[0][1] if out else None

    solids, owners = [], []
    for c, r, pid in zip(pieces.centres, pieces.radii, pieces.particle_ids, strict=True):
        solids.append(clipped(occ.addSphere(*c, r), c - r, c + r))
        owners.append(int(pid))
    for a, b, r, pid in zip(pieces.neck_p0, pieces.neck_p1, pieces.neck_radii,
                            pieces.neck_ids, strict=True):
        cyl = occ.addCylinder(*a, *(b - a), r)
        solids.append(clipped(cyl, np.minimum(a, b) - r, np.maximum(a, b) + r))
        owners.append(int(pid))
    tools = [(3, s) for s in solids if s is not None]
    objects = [(3, electrode)] + ([(3, separator)] if separator is not None else [])
    out, out_map = occ.fragment(objects, tools)
    occ.synchronize()

    # volumes of each input after fragmentation: a region shared by several spheres/necks goes
    # to the first (spheres before necks, in input order)
    owner: dict[int, int] = {}
    k = len(objects)
    for s, pid in zip(solids, owners, strict=True):
        if s is None:
            continue
        for _dim, tag in out_map[k]:
            owner.setdefault(tag, pid)
        k += 1
    sep_vols = {t for _, t in out_map[1]} if separator is not None else set()
    pore_vols = [t for _, t in out_map[0] if t not in owner]
    particle_vols: dict[int, list[int]] = {}
    for tag, pid in owner.items():
        particle_vols.setdefault(pid, []).append(tag)

    gmsh.model.addPhysicalGroup(3, pore_vols, PORE, name="pore")
    if sep_vols:
        gmsh.model.addPhysicalGroup(3, sorted(sep_vols), SEPARATOR, name="separator")
    for pid, vols in sorted(particle_vols.items()):
        gmsh.model.addPhysicalGroup(3, vols, PARTICLE_TAG_OFFSET + pid, name=f"particle_{pid}")

    _surface_groups(gmsh, box, separator_thickness, owner, set(pore_vols), sep_vols)
    _size_fields(gmsh, [t for vols in particle_vols.values() for t in vols], size)
    return particle_vols


def _surface_groups(gmsh, box, sep_thickness, owner, pore_vols, sep_vols):
    Lx, Ly, Lz = box
    top = Lz + sep_thickness
    tol = 1e-6 * max(box) + 1e-6  # OCC pads bounding boxes by its tolerance
    groups: dict[int, list[int]] = {}
    for _, s in gmsh.model.getEntities(2):
        up, _down = gmsh.model.getAdjacencies(2, s)
        up = list(up)
        xmin, ymin, zmin, xmax, ymax, zmax = gmsh.model.getBoundingBox(2, s)
        flat_z = abs(zmax - zmin) < tol
        if len(up) == 1:
            if flat_z and abs(zmin) < tol:
                groups.setdefault(CURRENT_COLLECTOR, []).append(s)
            elif flat_z and abs(zmin - top) < tol:
                groups.setdefault(COUNTER_ELECTRODE, []).append(s)
            else:
                groups.setdefault(LATERAL, []).append(s)
            continue
        a, b = up[0], up[1]
        pa, pb = owner.get(a), owner.get(b)
        if pa is not None and pb is not None:
            if pa != pb:
                groups.setdefault(AM_CONTACT, []).append(s)
        elif pa is not None or pb is not None:
            pid = pa if pa is not None else pb
            groups.setdefault(INTERFACE_TAG_OFFSET + pid, []).append(s)
        elif ({a, b} & sep_vols) and ({a, b} & pore_vols):
            groups.setdefault(SEPARATOR_PLANE, []).append(s)
    names = {CURRENT_COLLECTOR: "current_collector", COUNTER_ELECTRODE: "counter_electrode",
             LATERAL: "lateral", SEPARATOR_PLANE: "separator_plane", AM_CONTACT: "am_contact"}
    for tag, surfs in sorted(groups.items()):
        name = names.get(tag, f"interface_{tag - INTERFACE_TAG_OFFSET}")
        gmsh.model.addPhysicalGroup(2, surfs, tag, name=name)


def _size_fields(gmsh, particle_volumes, size: SizeOptions):
    h_min = size.interface / size.refine
    h_max = size.bulk / size.refine
    surfaces = sorted({s for v in particle_volumes
                       for _, s in gmsh.model.getBoundary([(3, v)], oriented=False)})
    f = gmsh.model.mesh.field
    dist = f.add("Distance")
    f.setNumbers(dist, "SurfacesList", surfaces)
    f.setNumber(dist, "Sampling", 20)
    thr = f.add("Threshold")
    f.setNumber(thr, "InField", dist)
    f.setNumber(thr, "SizeMin", h_min)
    f.setNumber(thr, "SizeMax", h_max)
    f.setNumber(thr, "DistMin", h_min)
    f.setNumber(thr, "DistMax", 4 * h_max)
    f.setAsBackgroundMesh(thr)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    # small particles need elements finer than the interface size: a sphere of radius r gets
    # about 2 pi r / CURVATURE_ELEMENTS
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", CURVATURE_ELEMENTS)
    gmsh.option.setNumber("Mesh.MeshSizeMax", h_max)
