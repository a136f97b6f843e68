"""The subdomains of a tagged mesh as the Newman model sees them.

Fields live on submeshes of the parent mesh:
- electrolyte E = pore + CBD + separator (c_e, phi_e),
- conductor S = AM + CBD (phi_s),
- active material A = AM (c_s).
Every integral is written on the parent mesh; submesh functions enter through entity maps.
The reactive interfaces (AM/electrolyte, and AM/CBD when the CBD is reactive) are interior
facets of the parent whose '+' side is always the electrolyte cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meshing.gmsh_model import (
    AM_CONTACT,
    COUNTER_ELECTRODE,
    CURRENT_COLLECTOR,
    INTERFACE_TAG_OFFSET,
    PARTICLE_TAG_OFFSET,
    PORE,
    SEPARATOR,
)
from meshing.voxel_mesh import AM_CBD, CBD_TAG

# region markers of the parent cells (our own meshtags)
R_PORE, R_SEP, R_CBD, R_AM = 1, 2, 3, 4
# interior-facet integration ids
G_REACTIVE, G_AM_CBD = 1, 2


class DomainError(ValueError):
    pass


@dataclass
class Domains:
    mesh: object
    regions: object  # MeshTags on cells: R_PORE, R_SEP, R_CBD, R_AM
    particle_of_cell: np.ndarray  # particle id per local parent cell (-1 outside AM)
    electrolyte: tuple  # (submesh, cell entity map, vertex entity map)
    conductor: tuple
    active: tuple
    interface_data: list  # [(id, flattened (cell+, lf+, cell-, lf-) array)]
    facet_tags: object
    cc_facets: np.ndarray  # parent facets on the current collector touching the conductor
    particle_ids: list  # every particle id of the mesh (all ranks)
    cbd_fraction: np.ndarray | None = None  # CBD volume fraction per local cell (R_CBD: > 0)

    @property
    def entity_maps(self) -> list:
        return [self.electrolyte[1], self.conductor[1], self.active[1]]


def _ordered_pairs(mesh, facets, plus_cells_mask):  # collective
    """Interior-facet integration data for ``facets`` with '+' on a cell where
    ``plus_cells_mask`` is true."""
    from dolfinx import fem

    facets = np.asarray(facets, dtype=np.int32)
    data = fem.compute_integration_domains(fem.IntegralType.interior_facet, mesh.topology,
                                           facets)
    data = np.asarray(data, dtype=np.int32).reshape(-1, 4).copy()
    swap = ~plus_cells_mask[data[:, 0]]
    data[swap] = data[swap][:, [2, 3, 0, 1]]
    if mesh.comm.allreduce(int(np.any(~plus_cells_mask[data[:, 0]]))):
        raise DomainError("an interface facet has no electrolyte cell on either side")
    return data.ravel()


def build_domains(tm, *, cbd_reactive: bool = False, cbd_min_fraction: float = 0.05) -> Domains:
    """Regions, submeshes and interface integration data of a ``TaggedMesh``. Pore cells whose
    CBD fraction (``tm.cbd_fraction``) reaches ``cbd_min_fraction`` become CBD cells with that
    fraction."""
    from dolfinx import mesh as dmesh

    msh = tm.mesh
    tdim = msh.topology.dim
    cmap = msh.topology.index_map(tdim)
    n_cells = cmap.size_local + cmap.num_ghosts
    tag_of_cell = np.full(n_cells, -1, dtype=np.int64)
    tag_of_cell[tm.cell_tags.indices] = tm.cell_tags.values
    comm = msh.comm
    missing = int(np.count_nonzero(tag_of_cell[:cmap.size_local] < 0))
    if comm.allreduce(missing) > 0:
        raise DomainError(f"{comm.allreduce(missing)} cells have no tag")
    if comm.allreduce(int(np.any(tag_of_cell[cmap.size_local:] < 0))):
        # ghost tags are needed to tell the sides of an interface apart
        raise DomainError("cell tags are missing on ghost cells: read the mesh with "
                          "GhostMode.shared_facet and carry the tags to the ghosts")
    region = np.zeros(n_cells, dtype=np.int32)
    region[tag_of_cell == PORE] = R_PORE
    region[tag_of_cell == SEPARATOR] = R_SEP
    region[tag_of_cell == CBD_TAG] = R_CBD
    region[tag_of_cell >= PARTICLE_TAG_OFFSET] = R_AM
    # CBD carried as a per-cell fraction of pore cells (spheres and CGAL routes): a pore cell
    # holding CBD is a CBD cell with that fraction (conducting and partly nanoporous)
    frac = np.zeros(n_cells)
    frac[region == R_CBD] = 1.0
    if getattr(tm, "cbd_fraction", None) is not None:
        f = np.asarray(tm.cbd_fraction.x.array[:n_cells])
        partial = (region == R_PORE) & (f >= cbd_min_fraction)
        region[partial] = R_CBD
        frac[partial] = np.minimum(f[partial], 1.0)
    bad = sorted(set().union(*comm.allgather(set(tag_of_cell[region == 0].tolist()))))
    if bad:
        raise DomainError(f"cell tags {bad} are not pore (1), separator (2), CBD (3) or a "
                          f"particle (>= {PARTICLE_TAG_OFFSET})")
    n_am = comm.allreduce(int(np.count_nonzero(region[:cmap.size_local] == R_AM)))
    if n_am == 0:
        raise DomainError("the mesh has no active-material cells")
    cells = np.arange(n_cells, dtype=np.int32)
    regions = dmesh.meshtags(msh, tdim, cells, region)
    particle = np.where(region == R_AM, tag_of_cell - PARTICLE_TAG_OFFSET, -1)

    def sub(mask):
        # owned and ghost cells: interface facets on rank boundaries need both sides
        sm, emap, vmap, _ = dmesh.create_submesh(msh, tdim, cells[mask])
        return sm, emap, vmap

    is_elec = np.isin(region, (R_PORE, R_SEP, R_CBD))
    electrolyte = sub(is_elec)
    conductor = sub(np.isin(region, (R_AM, R_CBD)))
    active = sub(region == R_AM)

    msh.topology.create_connectivity(tdim - 1, tdim)
    fmap = msh.topology.index_map(tdim - 1)
    ft = tm.facet_tags
    owned = ft.indices < fmap.size_local
    react = ft.indices[owned & (ft.values >= INTERFACE_TAG_OFFSET)]
    interface = [(G_REACTIVE, _ordered_pairs(msh, react, is_elec))]
    if cbd_reactive:
        amcbd = ft.indices[owned & (ft.values == AM_CBD)]
        interface.append((G_AM_CBD, _ordered_pairs(msh, amcbd, is_elec)))
    n_react = comm.allreduce(len(react))
    if n_react == 0:
        raise DomainError("the mesh has no AM/electrolyte interface facets "
                          f"(tags >= {INTERFACE_TAG_OFFSET})")
    cc = ft.indices[ft.values == CURRENT_COLLECTOR]
    f2c = msh.topology.connectivity(tdim - 1, tdim)
    cond = np.isin(region, (R_AM, R_CBD))
    cc = np.array([f for f in cc if cond[f2c.links(f)[0]]], dtype=np.int32)
    if comm.allreduce(len(cc)) == 0:
        raise DomainError("no AM or CBD touches the current collector (z = 0): the electrode "
                          "has no electronic path")
    ids = sorted(int(k) for k in tm.particles) if tm.particles else sorted(
        set().union(*comm.allgather(set(np.unique(particle[particle >= 0]).tolist()))))
    return Domains(msh, regions, particle, electrolyte, conductor, active, interface, ft, cc,
                   ids, frac)


__all__ = ["AM_CONTACT", "COUNTER_ELECTRODE", "Domains", "DomainError", "build_domains"]
