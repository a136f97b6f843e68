"""Moving the nodes of a tetrahedral mesh without tangling it: the CGAL route puts its
boundary nodes on the box faces (CGAL's image domain ends half a voxel outside the box) and
its interface nodes on the spheres.

Prescribed displacements are extended into the mesh harmonically (graph Laplacian, Dirichlet
data on the prescribed nodes, every other node free), so neighbouring elements share the
move instead of one layer absorbing it. Tets that would still be flattened (below half their
volume and below ``floor`` times their longest edge cubed) have their nodes put back, a few
passes deep.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

_EDGES = [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]


def signed_volumes(p, tets):
    a, b, c, d = (p[tets[:, i]] for i in range(4))
    return np.einsum("ij,ij->i", b - a, np.cross(c - a, d - a)) / 6.0


def keep_volume(p, tets, min_ratio: float = 0.5, floor: float = 2e-3):
    """Smallest acceptable volume of each (positively oriented) tet after a move."""
    lmax = np.max([np.linalg.norm(p[tets[:, i]] - p[tets[:, j]], axis=1) for i, j in _EDGES],
                  axis=0)
    return np.minimum(min_ratio * signed_volumes(p, tets), floor * lmax**3)


def harmonic_displacement(n_nodes, tets, fixed, disp_fixed):
    """Displacement of every node: ``disp_fixed`` on ``fixed`` nodes, the graph-harmonic
    extension elsewhere (each free node at the mean displacement of its neighbours)."""
    pairs = tets[:, [0, 1, 0, 2, 0, 3, 1, 2, 1, 3, 2, 3]].reshape(-1, 2)
    adj = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                            shape=(n_nodes, n_nodes)).tocsr()
    adj = ((adj + adj.T) > 0).astype(float)
    lap = sparse.diags(np.asarray(adj.sum(axis=1)).ravel()) - adj
    is_fixed = np.zeros(n_nodes, bool)
    is_fixed[fixed] = True
    free = np.flatnonzero(~is_fixed)
    disp = np.zeros((n_nodes, 3))
    disp[fixed] = disp_fixed
    if len(free):
        a = lap[free][:, free].tocsc()
        rhs = -(lap[free][:, fixed] @ disp[fixed])
        disp[free] = _solve(a, rhs)
    return disp


def _solve(a, rhs):
    import pyamg

    # pyamg draws its spectral-radius start vectors from numpy's global generator: seed it
    # for a reproducible mesh, and give the caller's state back
    state = np.random.get_state()  # noqa: NPY002 (the global one pyamg uses)
    try:
        np.random.seed(0)  # noqa: NPY002
        ml = pyamg.smoothed_aggregation_solver(a.tocsr(), symmetry="symmetric")
    finally:
        np.random.set_state(state)  # noqa: NPY002
    return np.column_stack([ml.solve(rhs[:, k], tol=1e-10, accel="cg", maxiter=500)
                            for k in range(rhs.shape[1])])


def guarded_morph(p, tets, fixed, target, box=None, floor: float = 2e-3,
                  max_passes: int = 10) -> int:
    """Move ``fixed`` nodes to ``target`` and the others harmonically, in place; then put back
    the nodes of tets the move flattened (that were not flat before, and, given the ``box``,
    do not lie wholly on one of its faces); returns how many nodes were put back."""
    old = p.copy()
    keep = keep_volume(p, tets, floor=floor)
    flat_before = signed_volumes(p, tets) < keep
    p += harmonic_displacement(len(p), tets, fixed, target - p[fixed])
    back_total = np.zeros(len(p), bool)
    for _ in range(max_passes):
        worse = (signed_volumes(p, tets) < keep) & ~flat_before
        if box is not None:
            worse &= ~on_one_face(p, tets, box)
        back = np.unique(tets[worse])
        back = back[np.any(p[back] != old[back], axis=1)]
        if not len(back):
            break
        p[back] = old[back]
        back_total[back] = True
    return int(back_total.sum())


def snap_to_box(p, tets, boundary_nodes, box, tol) -> dict:
    """Put boundary nodes within ``tol`` of a box plane on it (the faces must be planes: the
    current collector is z = 0), morphing the interior along; nodes whose move would tangle
    the mesh stay. Slivers lying on a face (all four nodes on it) are flat afterwards and are
    returned for dropping: they hold no volume, and their two other triangles tile the face.
    """
    nodes = np.unique(boundary_nodes)
    target = p[nodes].copy()
    for a in range(3):
        for plane in (0.0, box[a]):
            target[np.abs(target[:, a] - plane) < tol, a] = plane
    # planar faces come first: any tet that keeps a positive volume is accepted
    put_back = guarded_morph(p, tets, nodes, target, box, floor=1e-6)
    flat = on_one_face(p, tets, box)
    vol = signed_volumes(p, tets)
    off = np.zeros(len(nodes), bool)
    for a in range(3):
        on_any = np.zeros(len(nodes), bool)
        for plane in (0.0, box[a]):
            on_any |= p[nodes, a] == plane
        off |= (target[:, a] != p[nodes, a]) & ~on_any
    return {"snapped_nodes": int(len(nodes)), "nodes_put_back": put_back,
            "boundary_nodes_off_plane": int(off.sum()), "flat_tets": flat,
            "inverted_tets": int(np.count_nonzero((vol <= 0) & ~flat))}


def on_one_face(p, tets, box):
    """Tets whose four nodes lie on one box face."""
    flat = np.zeros(len(tets), bool)
    for a in range(3):
        for plane in (0.0, box[a]):
            flat |= np.all(p[tets, a] == plane, axis=1)
    return flat


def compact(p, tets, *cell_arrays):
    """Drop the nodes no tet uses; renumber."""
    used = np.unique(tets)
    new = np.full(len(p), -1, np.int64)
    new[used] = np.arange(len(used))
    return (p[used], new[tets], *cell_arrays)


def box_face(p, tris, box):
    """(face 2 * axis + side of each boundary triangle, how many do not lie exactly on one):
    triangles off every plane (CGAL rounds the box edges) go to the plane their vertices are
    closest to."""
    planes = np.array([(a, v) for a in range(3) for v in (0.0, box[a])])
    dist = np.stack([np.abs(p[tris, int(a)] - v).max(axis=1) for a, v in planes], axis=1)
    return np.argmin(dist, axis=1), int(np.count_nonzero(dist.min(axis=1) > 0))


def sphere_targets(p, nodes, centres, radii, box):
    """Points of the spheres (``centres``, ``radii`` per node) nearest to ``p[nodes]``; a node
    on a box face moves within it, onto the circle where its sphere meets the face."""
    q = p[nodes] - centres
    on_face = np.zeros((len(nodes), 3), bool)
    for a in range(3):
        on_face[:, a] = (p[nodes, a] == 0.0) | (p[nodes, a] == box[a])
    norm = np.sqrt(np.sum(np.where(on_face, 0.0, q) ** 2, axis=1))
    target_r = np.sqrt(np.maximum(radii**2 - np.sum(np.where(on_face, q, 0.0) ** 2, axis=1),
                                  0.0))
    scale = np.where(norm > 0, target_r / np.where(norm > 0, norm, 1.0), 1.0)
    return np.where(on_face, p[nodes], centres + q * scale[:, None])


def project_on_spheres(p, tets, tet_particle, node_piece, spheres, box, boundary_nodes,
                       volume_ref: dict | None = None, sweeps: int = 3) -> dict:
    """Move interface nodes onto their sphere (``node_piece[n]`` = index into ``spheres`` =
    (centres, radii, particle ids); -1: none), the box's boundary nodes staying where they are
    (in-plane for those on a sphere too) and the rest morphing along. With ``volume_ref``
    (particle id -> volume), each particle's target radius is then scaled so that its
    polyhedron keeps that volume: a triangulation inscribed in a sphere falls short of it by
    about 3 d / (2 R) for a sagitta d."""
    centres, radii, piece_ids = spheres
    nodes = np.flatnonzero(node_piece >= 0)
    piece = node_piece[nodes]
    others = np.setdiff1d(np.unique(boundary_nodes), nodes)
    fixed = np.concatenate([nodes, others])

    def move(scale):
        target = np.concatenate([sphere_targets(p, nodes, centres[piece],
                                                radii[piece] * scale[piece], box), p[others]])
        return guarded_morph(p, tets, fixed, target)

    factor = np.ones(len(radii))
    put_back = move(factor)
    for _ in range(sweeps if volume_ref else 0):
        ids = np.array(sorted(volume_ref))
        idx = np.minimum(np.searchsorted(ids, tet_particle), len(ids) - 1)
        mine = ids[idx] == tet_particle
        v_mesh = np.bincount(idx[mine], weights=signed_volumes(p, tets)[mine],
                             minlength=len(ids))
        for i, k in enumerate(ids):
            if v_mesh[i] > 0:
                factor[piece_ids == k] *= (volume_ref[k] / v_mesh[i]) ** (1 / 3)
        put_back += move(factor)
    return {"projected_nodes": int(len(nodes)), "nodes_put_back": put_back,
            "max_radius_factor": float(factor.max()), "min_radius_factor": float(factor.min())}
