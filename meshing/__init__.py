"""Microstructure -> conformal tetrahedral mesh (gmsh OpenCASCADE), tagged per particle and
phase, distributed to MPI ranks (dolfinx). The CBD reaches the mesh as a per-cell volume
fraction. See docs/meshing.md."""

from .cgal_mesh import CGALOptions
from .gmsh_model import SizeOptions
from .repair import RepairOptions, repair_spheres
from .tagged_mesh import (
    MeshingError,
    TaggedMesh,
    build_cgal_mesh,
    build_mesh,
    build_voxel_mesh,
)

__all__ = ["CGALOptions", "MeshingError", "RepairOptions", "SizeOptions", "TaggedMesh",
           "build_cgal_mesh", "build_mesh", "build_voxel_mesh", "repair_spheres"]
