"""Microstructure -> distributed, tagged dolfinx mesh (gmsh on rank 0)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mesostructure import Microstructure, VoxelImage

from .cbd import cbd_fraction_per_cell, isolated_in_image, isolated_particles
from .cgal_mesh import CGALOptions, mesh_image
from .gmsh_model import (
    INTERFACE_TAG_OFFSET,
    PARTICLE_TAG_OFFSET,
    PORE,
    SEPARATOR,
    SizeOptions,
    build_model,
)
from .quality import analytic_particle, image_report, quality_report
from .repair import Pieces, RepairOptions, repair_spheres
from .voxel_mesh import CBD_TAG, add_to_gmsh, cell_labels, voxel_report

UNIT = 1e-6  # gmsh works in micrometres; the dolfinx mesh is in metres


class MeshingError(RuntimeError):
    pass


@dataclass
class TaggedMesh:
    """A dolfinx mesh with cell tags (pore, separator, one per particle) and facet tags
    (current collector, counter electrode, lateral, separator plane, AM contacts, one
    interface per particle), the particle table and the meshing report."""

    mesh: object
    cell_tags: object
    facet_tags: object
    particles: dict = field(default_factory=dict)  # id -> {"tag", "interface_tag", ...}
    report: dict = field(default_factory=dict)
    cbd_fraction: object = None  # DG0 function on the mesh

    def save(self, folder: str | Path) -> Path:
        """mesh.xdmf (mesh, cell and facet tags) and mesh.json (particles, report); rank 0
        writes the JSON."""
        from dolfinx.io import XDMFFile

        folder = Path(folder)
        comm = self.mesh.comm
        if comm.rank == 0:
            folder.mkdir(parents=True, exist_ok=True)
        comm.barrier()
        self.mesh.topology.create_connectivity(2, 3)
        with XDMFFile(comm, folder / "mesh.xdmf", "w") as f:
            f.write_mesh(self.mesh)
            f.write_meshtags(self.cell_tags, self.mesh.geometry)
            f.write_meshtags(self.facet_tags, self.mesh.geometry)
            if self.cbd_fraction is not None:
                f.write_meshtags(_fraction_to_tags(self.cbd_fraction), self.mesh.geometry)
        if comm.rank == 0:
            (folder / "mesh.json").write_text(json.dumps(
                {"particles": {str(k): v for k, v in self.particles.items()},
                 "report": self.report}, indent=2, default=float))
        return folder

    @classmethod
    def load(cls, folder: str | Path, comm) -> TaggedMesh:
        from dolfinx.io import XDMFFile
        from dolfinx.mesh import GhostMode

        folder = Path(folder)
        if not (folder / "mesh.xdmf").exists():
            raise FileNotFoundError(f"no mesh.xdmf in {folder}")
        with XDMFFile(comm, folder / "mesh.xdmf", "r") as f:
            mesh = f.read_mesh(ghost_mode=GhostMode.shared_facet, name="mesh")
            cell_tags = f.read_meshtags(mesh, name="cell_tags")
            mesh.topology.create_connectivity(2, 3)
            facet_tags = f.read_meshtags(mesh, name="facet_tags")
            cbd = _tags_to_fraction(mesh, f.read_meshtags(mesh, name="cbd_fraction_ppm"))
        meta = json.loads((folder / "mesh.json").read_text())
        return cls(mesh, cell_tags, facet_tags,
                   {int(k): v for k, v in meta["particles"].items()}, meta["report"], cbd)


def build_mesh(ms: Microstructure, comm, *, separator_thickness: float = 12e-6,
               size: SizeOptions | None = None, repair: RepairOptions | None = None,
               progress: Callable[[str], None] | None = None) -> TaggedMesh:
    """Mesh ``ms`` (its spheres, conformally, with gmsh's OpenCASCADE kernel) on rank 0 and
    distribute it over ``comm``. Errors on rank 0 are raised on every rank."""
    size = size or SizeOptions()
    say = progress or (lambda msg: None)

    def make(gmsh):
        if separator_thickness < 0:
            raise MeshingError("the separator thickness must be >= 0")
        pieces = repair_spheres(ms, repair)
        say(f"repaired geometry: {pieces.report['n_pieces']} sphere pieces, "
            f"{pieces.report['necks']} necks")
        # OpenCASCADE tolerances are absolute (1e-7 model units): model in micrometres
        um = pieces.scaled(1.0 / UNIT)
        box_um = ms.box / UNIT
        particle_vols = build_model(gmsh, um, box_um, separator_thickness / UNIT,
                                    size.scaled(1.0 / UNIT))
        say("meshing")
        gmsh.model.mesh.generate(3)
        _check_all_meshed(gmsh)
        report = quality_report(gmsh, um, box_um, separator_thickness / UNIT, unit=UNIT)
        report["route"] = "spheres"
        report["isolated_particles"] = isolated_particles(ms)
        report["repair"] = pieces.report
        report["size"] = {"interface_m": size.interface, "bulk_m": size.bulk,
                          "refine": size.refine}
        particles = {pid: {"tag": PARTICLE_TAG_OFFSET + pid,
                           "interface_tag": INTERFACE_TAG_OFFSET + pid,
                           "n_volumes": len(v)} for pid, v in particle_vols.items()}
        return particles, report

    tm = _mesh_on_rank0(comm, make, UNIT, say)
    say("CBD fraction per cell")
    tm.cbd_fraction = _cbd_function(tm, ms)
    return tm


def build_voxel_mesh(image: VoxelImage, comm, *, separator_thickness: float = 12e-6,
                     progress: Callable[[str], None] | None = None) -> TaggedMesh:
    """Mesh a label image (6 tetrahedra per voxel, CBD meshed as its own tag ``3``, separator
    voxel layers on top) on rank 0 and distribute it over ``comm``. See ``voxel_mesh``."""
    say = progress or (lambda msg: None)

    def make(gmsh):
        if separator_thickness < 0:
            raise MeshingError("the separator thickness must be >= 0")
        n_sep = int(round(separator_thickness / image.spacing[2]))
        labels = cell_labels(image, n_sep)
        say(f"voxel mesh: {labels.size} voxels -> {6 * labels.size} tetrahedra")
        add_to_gmsh(gmsh, labels, image.spacing / UNIT)
        report = voxel_report(image, labels, image.spacing)
        report["separator_thickness_m"] = n_sep * image.spacing[2]
        report["isolated_particles"] = _isolated_in_image(image, labels)
        particles = {int(k): {"tag": PARTICLE_TAG_OFFSET + int(k),
                              "interface_tag": INTERFACE_TAG_OFFSET + int(k)}
                     for k in report["particles"]}
        return particles, report

    tm = _mesh_on_rank0(comm, make, UNIT, say)
    tm.cbd_fraction = _tag_fraction(tm, CBD_TAG)
    return tm


def build_cgal_mesh(source: Microstructure | VoxelImage, comm, *,
                    separator_thickness: float = 12e-6, options: CGALOptions | None = None,
                    progress: Callable[[str], None] | None = None) -> TaggedMesh:
    """Mesh a microstructure (rasterised at ``options.raster_step()``) or a label image with
    CGAL on rank 0 (graded, conformal; see ``cgal_mesh``) and distribute it over ``comm``.
    A microstructure's interfaces are projected onto its spheres. The CBD counts as pore and is
    carried as a per-cell fraction or, with ``options.mesh_cbd``, is meshed as its own region
    (tag 3)."""
    options = options or CGALOptions()
    say = progress or (lambda msg: None)
    is_ms = isinstance(source, Microstructure)

    def make(gmsh):
        if separator_thickness < 0:
            raise MeshingError("the separator thickness must be >= 0")
        image = source.rasterize(options.raster_step()) if is_ms else source
        spheres = None
        if is_ms:
            from .repair import unfold_periodic

            spheres = unfold_periodic(source.particles.centres, source.particles.radii,
                                      source.particle_ids, source.box, source.periodic)
        volume_ref = None
        if is_ms:
            pieces = Pieces(*spheres[:2], spheres[2], spheres[1]).scaled(1.0 / UNIT)
            box_um = source.box / UNIT
            volume_ref = {int(k): analytic_particle(pieces, int(k), box_um)[0] * UNIT**3
                          for k in np.unique(pieces.particle_ids)}
        report = mesh_image(gmsh, image.phase, image.particle, image.spacing,
                            separator_thickness, options, UNIT, spheres, volume_ref, say)
        if is_ms:
            report = {**quality_report(gmsh, pieces, box_um, separator_thickness / UNIT,
                                       unit=UNIT), **report}
            # wedges thinner than about a voxel around contacts become contacts (their
            # interface is lost); the solver restores each particle's analytic reactive area
            # (the solver scales the reaction on its interface with the electrolyte)
            for k, rec in report["particles"].items():
                a = report["particle_surface_m2"].get(int(k), 0.0)
                rec["surface_mesh_m2"] = a
                rec["area_correction"] = rec["interface_area_analytic_m2"] / a if a > 0 else 1.0
        else:
            report = {**image_report(gmsh, UNIT), **report}
            # reference: the marching-cubes area of each particle's surface towards pore or CBD
            from mesostructure.surfaces import particle_areas

            for k, mc in particle_areas(image).items():
                rec = report["particles"].get(str(k))
                a = report["particle_surface_m2"].get(int(k), 0.0)
                if rec is not None and a > 0:
                    smooth = mc["surface_m2"] - mc["am_contact_m2"]
                    # a particle of a voxel or two has no smooth surface: left uncorrected
                    rec.update(surface_mesh_m2=a, surface_marching_cubes_m2=smooth,
                               area_correction=smooth / a if smooth > 0 else 1.0)
        report["isolated_particles"] = isolated_in_image(image.phase, image.particle) \
            if image.particle is not None else []
        report["repair"] = {"lateral_shift_m": [0.0, 0.0]}
        particles = {int(k): {"tag": PARTICLE_TAG_OFFSET + int(k),
                              "interface_tag": INTERFACE_TAG_OFFSET + int(k)}
                     for k in report["particles"]}
        return particles, report

    tm = _mesh_on_rank0(comm, make, UNIT, say)
    if options.mesh_cbd:
        tm.cbd_fraction = _tag_fraction(tm, CBD_TAG)
    else:
        say("CBD fraction per cell")
        tm.cbd_fraction = _cbd_function(tm, source)
    return tm


def _tag_fraction(tm: TaggedMesh, tag: int):
    """DG0 function: 1 on the cells tagged ``tag``, 0 elsewhere."""
    from dolfinx import fem

    f = fem.Function(fem.functionspace(tm.mesh, ("DG", 0)), name="cbd_fraction")
    f.x.array[tm.cell_tags.find(tag)] = 1.0
    f.x.scatter_forward()
    return f


def _isolated_in_image(image: VoxelImage, labels) -> list[int]:
    nz = image.shape[2]
    part = labels[:, :, :nz]
    ids = np.where(part >= PARTICLE_TAG_OFFSET, part - PARTICLE_TAG_OFFSET, 0)
    return isolated_in_image(image.phase, ids)


def _mesh_on_rank0(comm, make, unit, say) -> TaggedMesh:
    """Run ``make(gmsh)`` on rank 0 (it fills the gmsh model and returns (particles, report)),
    broadcast its error if any, distribute the mesh, scale it by ``unit`` to metres."""
    import gmsh
    from dolfinx.io import gmsh as gmshio
    from dolfinx.mesh import GhostMode, create_cell_partitioner

    error, meta = None, None
    if comm.rank == 0:
        try:
            gmsh.initialize()
            gmsh.option.setNumber("General.Terminal", 0)
            gmsh.model.add("electrode")
            meta = make(gmsh)
            if meta[1].get("isolated_particles"):
                say(f"{len(meta[1]['isolated_particles'])} particle(s) have no electronic "
                    f"path to the current collector: {meta[1]['isolated_particles']}")
        except Exception as e:  # noqa: BLE001 - broadcast before raising on every rank
            error = str(e) if isinstance(e, MeshingError) else f"{type(e).__name__}: {e}"
            if gmsh.isInitialized():
                gmsh.finalize()
    error = comm.bcast(error, root=0)
    if error is not None:
        raise MeshingError(error)
    say("distributing")
    partitioner = create_cell_partitioner(GhostMode.shared_facet, 2)
    data = gmshio.model_to_mesh(gmsh.model if comm.rank == 0 else None, comm, 0, gdim=3,
                                partitioner=partitioner)
    if comm.rank == 0:
        gmsh.finalize()
    data.mesh.geometry.x[:] *= unit
    particles, report = comm.bcast(meta, root=0)
    data.cell_tags.name = "cell_tags"
    data.facet_tags.name = "facet_tags"
    data.mesh.name = "mesh"
    return TaggedMesh(data.mesh, data.cell_tags, data.facet_tags, particles, report)


def _check_all_meshed(gmsh) -> None:
    """gmsh leaves volumes it fails to mesh empty (and says so only on its terminal)."""
    failed = {}
    for dim, tag in gmsh.model.getPhysicalGroups(3):
        for ent in gmsh.model.getEntitiesForPhysicalGroup(dim, tag):
            if not len(gmsh.model.mesh.getElements(3, ent)[1]):
                failed.setdefault(gmsh.model.getPhysicalName(dim, tag), []).append(int(ent))
    if failed:
        raise MeshingError(
            f"gmsh could not mesh {sum(map(len, failed.values()))} volume(s) of "
            f"{sorted(failed)}: their boundaries are too intricate at this element size; "
            f"try a smaller --size or larger repair gaps")


def _cbd_function(tm: TaggedMesh, source: Microstructure | VoxelImage):
    """DG0 function: CBD volume fraction of each pore cell (0 elsewhere), sampled from the
    microstructure's primitives or from the image's CBD voxels."""
    from dolfinx import fem

    V = fem.functionspace(tm.mesh, ("DG", 0))
    f = fem.Function(V, name="cbd_fraction")
    pore = tm.cell_tags.find(PORE)
    if len(pore):
        geo = tm.mesh.geometry
        dofs = geo.dofmaps[0][pore][:, :4]
        # the mesh may be shifted laterally against the structure (periodic, see repair)
        shift = np.array(tm.report["repair"]["lateral_shift_m"] + [0.0])
        f.x.array[pore] = cbd_fraction_per_cell(source, geo.x[dofs] - shift)
    f.x.scatter_forward()
    return f


__all__ = ["PORE", "SEPARATOR", "MeshingError", "TaggedMesh", "build_mesh", "build_voxel_mesh"]


def _fraction_to_tags(f):
    """A DG0 fraction as cell tags in parts per million (XDMF stores integer tags)."""
    from dolfinx.mesh import meshtags

    mesh = f.function_space.mesh
    n = mesh.topology.index_map(3).size_local
    cells = np.arange(n, dtype=np.int32)
    tags = meshtags(mesh, 3, cells, np.round(f.x.array[:n] * 1e6).astype(np.int32))
    tags.name = "cbd_fraction_ppm"
    return tags


def _tags_to_fraction(mesh, tags):
    from dolfinx import fem

    f = fem.Function(fem.functionspace(mesh, ("DG", 0)), name="cbd_fraction")
    f.x.array[tags.indices] = tags.values / 1e6
    f.x.scatter_forward()
    return f
