"""The CGAL route: a label image -> conformal, graded tetrahedral mesh (CGAL Mesh_3 through
pygalmesh), for structures the OpenCASCADE route cannot handle (dense packings with thousands of
near-tangencies, LAMMPS dumps, tomography).

The image (pore 1, separator 2, one label per particle) is padded by one voxel and meshed with
surface sizes near the interfaces and a coarser cell size inside; CGAL finds each interface by
bisection between differently labelled voxels, so it needs no geometry repair: a contact is
simply a face between two particle labels. Afterwards, on rank 0:

1. coordinates are mapped back to the box; nodes of boundary facets are snapped onto the box
   faces they lie within a voxel of (CGAL rounds the box edges slightly; the loss is reported
   in the volume closure);
2. when the source is a ``Microstructure`` of spheres, every node of a particle's interface
   with the electrolyte is projected onto that particle's sphere (in-plane onto the circle
   where it meets a box face), unless it also belongs to a contact with another particle. A
   move that would invert or flatten a tetrahedron is undone. The interfaces are then the
   spheres' inscribed triangulations instead of voxel-smoothed staircases;
3. cells are tagged by the image label under their centroid (per CGAL subdomain, by
   majority), facets by the pair of cell tags on their two sides or by the box face they lie
   on (tags as in ``gmsh_model``).

CGAL comes from Debian's ``libcgal-dev`` (pygalmesh builds against it); see docs/meshing.md.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .gmsh_model import COUNTER_ELECTRODE, CURRENT_COLLECTOR, LATERAL, PARTICLE_TAG_OFFSET
from .gmsh_model import PORE as PORE_TAG
from .gmsh_model import SEPARATOR as SEPARATOR_TAG
from .morph import box_face, compact, project_on_spheres, signed_volumes, snap_to_box
from .voxel_mesh import _pair_tag

# the four faces of a tetrahedron (local vertex indices)
_FACES = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])


@dataclass(frozen=True)
class CGALOptions:
    """Sizes in m. ``interface``: surface Delaunay ball radius on interfaces (edges come out
    about 1.5x longer); ``bulk``: largest cell circumradius; ``facet_distance``: largest
    distance between a surface facet and the voxel interface (default interface / 6);
    ``voxel_size``: raster step of a Microstructure (default interface / 6, at most 0.25 um);
    ``refine`` divides the sizes; ``seed`` makes CGAL's refinement order reproducible;
    ``mesh_cbd``: the CBD becomes its own region (cell tag 3, conducting and nanoporous, as in
    the voxel route) instead of pore cells carrying a CBD fraction (fibrous CBD meshed
    conformally needs ~4x the cells); ``perturb_slivers``: run CGAL's sliver perturber
    before the exuder (which always runs, without a time limit). It removes a few more slivers
    (paper 004 mesh: 199 instead of 234 cells under 5 degrees) but CGAL stops it after the
    refinement's own wall time, so the mesh then depends on the machine's load
    (docs/meshing.md). Without it the mesh is the same on every run for a given ``seed``."""

    interface: float = 1.5e-6
    bulk: float = 4.0e-6
    facet_distance: float | None = None
    voxel_size: float | None = None
    refine: float = 1.0
    seed: int = 0
    mesh_cbd: bool = False
    perturb_slivers: bool = False

    def __post_init__(self):
        if not (0 < self.interface <= self.bulk) or self.refine <= 0:
            raise ValueError("need 0 < interface size <= bulk size and refine > 0")
        for name in ("facet_distance", "voxel_size"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ValueError(f"{name} must be positive, got {v}")

    @property
    def sizes(self) -> tuple[float, float, float]:
        """(interface, bulk, facet distance) after refinement."""
        f = 1.0 / self.refine
        fd = self.facet_distance if self.facet_distance is not None else self.interface / 6
        return self.interface * f, self.bulk * f, fd * f

    def raster_step(self) -> float:
        if self.voxel_size is not None:
            return self.voxel_size / self.refine
        return min(self.sizes[0] / 6, 0.25e-6)


@contextmanager
def _silenced():
    """CGAL prints its progress on the C++ streams: silence file descriptors 1 and 2."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (null, *saved):
            os.close(fd)


def run_cgal(labels: np.ndarray, spacing_um: np.ndarray, options: CGALOptions, unit: float):
    """Mesh the label image (uint16, 0 = outside) with CGAL; returns (points in the image's
    index*spacing frame, tets, CGAL subdomain index per tet)."""
    try:
        import pygalmesh
    except ImportError as e:
        raise RuntimeError("the CGAL route needs pygalmesh (pip install pygalmesh, which builds "
                           "against Debian's libcgal-dev): " + str(e)) from e
    interface, bulk, fd = (s / unit for s in options.sizes)
    # generate_from_inr by keyword: pygalmesh 0.10's generate_from_array hands ``verbose`` and
    # ``seed`` on by position into the exuder's time limit and sliver bound
    with tempfile.TemporaryDirectory() as tmp, _silenced():
        inr = os.path.join(tmp, "labels.inr")
        pygalmesh.save_inr(labels, tuple(float(s) for s in spacing_um), inr)
        m = pygalmesh.generate_from_inr(
            inr, perturb=options.perturb_slivers, exude=True,
            max_facet_distance=float(fd), max_radius_surface_delaunay_ball=float(interface),
            max_cell_circumradius=float(bulk), min_facet_angle=25.0,
            max_circumradius_edge_ratio=3.0,
            exude_time_limit=0.0,  # 0: no limit (the perturber's is CGAL's refinement time)
            exude_sliver_bound=0.0, verbose=False, seed=int(options.seed))
    if "tetra" not in m.cells_dict:
        raise RuntimeError("CGAL produced no tetrahedra")
    return (np.asarray(m.points, float), np.asarray(m.cells_dict["tetra"], np.int64),
            np.asarray(m.cell_data_dict["medit:ref"]["tetra"], np.int64))


def subdomain_labels(points, tets, subdomain, labels, spacing) -> np.ndarray:
    """The image label of each tet: per CGAL subdomain, the majority label under the
    centroids of its tets (``points`` in the CGAL frame, voxel i centred at i * spacing)."""
    centroid = points[tets].mean(axis=1)
    idx = np.clip(np.rint(centroid / spacing).astype(np.int64), 0,
                  np.array(labels.shape) - 1)
    under = labels[idx[:, 0], idx[:, 1], idx[:, 2]].astype(np.int64)
    out = np.empty_like(subdomain)
    for s in np.unique(subdomain):
        sel = subdomain == s
        vals, counts = np.unique(under[sel], return_counts=True)
        out[sel] = vals[np.argmax(counts)]
    return out


def tet_faces(tets: np.ndarray):
    """Unique triangles (sorted node triples) with the one or two tets on their sides
    (second = -1 on the boundary)."""
    faces = np.sort(tets[:, _FACES].reshape(-1, 3), axis=1)
    owner = np.repeat(np.arange(len(tets)), 4)
    uniq, inverse, counts = np.unique(faces, axis=0, return_inverse=True, return_counts=True)
    if np.any(counts > 2):
        raise RuntimeError("non-manifold tetrahedral mesh: a triangle has > 2 tetrahedra")
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    first = owner[order[starts]]
    second = np.where(counts == 2, owner[order[np.minimum(starts + 1, len(order) - 1)]], -1)
    return uniq, first, second


def facet_table(tets, tet_tag, p, box):
    """(triangles, tags): boundary triangles tagged by box face, interior ones between
    different tags by the pair (``voxel_mesh._pair_tag``)."""
    tris, first, second = tet_faces(tets)
    boundary = second < 0
    face = np.full(len(tris), -1)
    face[boundary], off_plane = box_face(p, tris[boundary], box)
    tags = np.zeros(len(tris), np.int64)
    tags[face == 4] = CURRENT_COLLECTOR
    tags[face == 5] = COUNTER_ELECTRODE
    tags[(face >= 0) & (face < 4)] = LATERAL
    inner = ~boundary
    a, b = tet_tag[first[inner]], tet_tag[second[inner]]
    diff = a != b
    t_inner = np.zeros(int(inner.sum()), np.int64)
    t_inner[diff] = _pair_tag(a[diff], b[diff])
    tags[inner] = t_inner
    keep = tags != 0
    return tris[keep], tags[keep], off_plane


def label_to_tag(label: np.ndarray, particle_ids: np.ndarray) -> np.ndarray:
    """Image labels (1 pore, 2 separator, 3 CBD, 4 + k particle k) -> cell tags."""
    from .voxel_mesh import CBD_TAG

    tag = np.choose(np.clip(label, 1, 4) - 1,
                    [PORE_TAG, SEPARATOR_TAG, CBD_TAG, 0]).astype(np.int64)
    am = label >= 4
    tag[am] = PARTICLE_TAG_OFFSET + particle_ids[label[am] - 4]
    return tag


def image_labels(phase, particle, separator_voxels: int, mesh_cbd: bool = True):
    """uint16 CGAL labels (pore 1, separator 2, CBD 3 (or 1 when not meshed), particle k at
    4 + k) padded by one voxel (edge values), and the particle ids in label order. AM voxels
    without a particle label are split into 6-connected clusters."""
    from scipy import ndimage

    from mesostructure import AM, CBD

    am = phase == AM
    if particle is None or np.any(particle[am] <= 0):
        particle, _ = ndimage.label(am)
    ids = np.unique(particle[am]).astype(np.int64)
    if len(ids) + 4 > np.iinfo(np.uint16).max:
        raise RuntimeError(f"{len(ids)} particles: more than the CGAL route's 16-bit labels")
    lab = np.ones(phase.shape, np.uint16)
    if mesh_cbd:
        lab[phase == CBD] = 3
    lab[am] = 4 + np.searchsorted(ids, particle[am])
    if separator_voxels:
        lab = np.concatenate([lab, np.full((*phase.shape[:2], separator_voxels), 2, np.uint16)],
                             axis=2)
    return np.pad(lab, 1, mode="edge"), ids


def particle_surfaces(p, tris, first, second, tet_tag):
    """(owner, area): per node, the particle whose surface (faces between its tets and
    non-AM tets) it lies on (0: none, or on a contact with another particle too); per particle
    id, that surface's area."""
    from .quality import triangle_areas

    inner = second >= 0
    a = tet_tag[first[inner]]
    b = tet_tag[second[inner]]
    tri = tris[inner]
    am_a, am_b = a >= PARTICLE_TAG_OFFSET, b >= PARTICLE_TAG_OFFSET
    surface = am_a ^ am_b
    pid = np.where(am_a, a, b)[surface] - PARTICLE_TAG_OFFSET
    owner = np.zeros(len(p), np.int64)
    clash = np.zeros(len(p), bool)
    for k in np.unique(pid):
        nodes = np.unique(tri[surface][pid == k])
        clash[nodes[(owner[nodes] != 0) & (owner[nodes] != k)]] = True
        owner[nodes] = k
    contact = am_a & am_b & (a != b)
    clash[np.unique(tri[contact])] = True
    owner[clash] = 0
    areas = np.bincount(pid, weights=triangle_areas(p[tri[surface]]),
                        minlength=int(pid.max(initial=0)) + 1)
    return owner, {int(k): float(areas[k]) for k in np.unique(pid)}


def mesh_image(gmsh, phase, particle, spacing, separator_thickness, options: CGALOptions,
               unit: float, spheres=None, volume_ref=None, say=lambda msg: None) -> dict:
    """Fill the gmsh model with the CGAL mesh of the image (box starting at the origin,
    ``spacing`` in m) and return the route's report. ``spheres``: (centres, radii, particle
    ids) in m, the unfolded spheres to project interface nodes on; ``volume_ref``: particle
    id -> volume (m^3) their polyhedra should keep."""
    from .voxel_mesh import add_discrete_mesh

    h = np.asarray(spacing, float) / unit
    n_sep = int(round(separator_thickness / spacing[2]))
    labels, ids = image_labels(phase, particle, n_sep, options.mesh_cbd)
    box = np.array(phase.shape, float) * h
    box[2] += n_sep * h[2]
    say(f"CGAL: {labels.size} voxels, {len(ids)} particles")
    pts, tets, sub = run_cgal(labels, h, options, unit)
    label = subdomain_labels(pts, tets, sub, labels, h)
    tag = label_to_tag(label, ids)
    p = pts - h / 2  # padded voxel i is centred at i*h; the box starts one voxel in
    neg = signed_volumes(p, tets) < 0
    tets[neg] = tets[neg][:, [0, 2, 1, 3]]
    tris, first, second = tet_faces(tets)
    boundary = np.unique(tris[second < 0])
    snap = snap_to_box(p, tets, boundary, box, tol=0.75 * float(h.max()))
    if snap["inverted_tets"]:
        raise RuntimeError(f"{snap['inverted_tets']} tetrahedra inverted when the boundary was "
                           f"put on the box faces; try a smaller interface size")
    flat = snap.pop("flat_tets")
    snap["flat_tets_dropped"] = int(flat.sum())
    p, tets, tag = compact(p, tets[~flat], tag[~flat])
    report = {"route": "cgal", "voxel_size_m": list(map(float, spacing)),
              "separator_thickness_m": n_sep * float(spacing[2]),
              "sizes_m": dict(zip(("interface", "bulk", "facet_distance"), options.sizes,
                                  strict=True)),
              "refine": options.refine, "seed": options.seed,
              "perturb_slivers": options.perturb_slivers, "snap": snap}
    if spheres is not None:
        tris, first, second = tet_faces(tets)
        owner, _ = particle_surfaces(p, tris, first, second, tag)
        c, r, pid = (np.asarray(a) for a in spheres)
        c, r = c / unit, r / unit
        if volume_ref is not None:
            volume_ref = {k: v / unit**3 for k, v in volume_ref.items()}
        node_piece = np.full(len(p), -1)
        on = np.flatnonzero(owner)
        for k in np.unique(owner[on]):
            nodes = on[owner[on] == k]
            pieces = np.flatnonzero(pid == k)
            if not len(pieces):
                continue
            gap = np.abs(np.linalg.norm(p[nodes, None, :] - c[None, pieces], axis=2)
                         - r[None, pieces])
            node_piece[nodes] = pieces[np.argmin(gap, axis=1)]
        tet_particle = np.where(tag >= PARTICLE_TAG_OFFSET, tag - PARTICLE_TAG_OFFSET, 0)
        report["projection"] = project_on_spheres(p, tets, tet_particle, node_piece,
                                                  (c, r, pid), box, tris[second < 0],
                                                  volume_ref)
    tris, tri_tags, off_plane = facet_table(tets, tag, p, box)
    report["box_edge_triangles"] = off_plane
    _, areas = particle_surfaces(p, *tet_faces(tets), tag)
    report["particle_surface_m2"] = {k: a * unit**2 for k, a in areas.items()}
    say(f"CGAL mesh: {len(p)} nodes, {len(tets)} tetrahedra")
    add_discrete_mesh(gmsh, p, tets, tag, tris, tri_tags)
    report["box_um"] = box.tolist()
    return report
