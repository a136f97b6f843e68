"""The voxel route: 6 Kuhn tetrahedra per voxel, exact tag volumes, staircase interfaces with
their area correction."""

import numpy as np
import pytest

pytest.importorskip("dolfinx_solver")

import ufl  # noqa: E402
from dolfinx import fem  # noqa: E402
from mpi4py import MPI  # noqa: E402

from meshing import MeshingError, build_voxel_mesh  # noqa: E402
from meshing.gmsh_model import (  # noqa: E402
    COUNTER_ELECTRODE,
    CURRENT_COLLECTOR,
    INTERFACE_TAG_OFFSET,
    PARTICLE_TAG_OFFSET,
    PORE,
    SEPARATOR,
)
from meshing.voxel_mesh import AM_CBD, CBD_PORE, CBD_TAG, tetrahedra  # noqa: E402
from mesostructure import AM, CBD, Microstructure, Spheres, VoxelImage  # noqa: E402

H = 0.25e-6


def _integrate(tm, measure, tag):
    m = ufl.Measure(measure, domain=tm.mesh,
                    subdomain_data=tm.cell_tags if measure == "dx" else tm.facet_tags)
    val = fem.assemble_scalar(fem.form(fem.Constant(tm.mesh, 1.0) * m(tag)))
    return tm.mesh.comm.allreduce(val, op=MPI.SUM)


@pytest.fixture(scope="module")
def sphere_mesh():
    r = 2.5e-6
    ms = Microstructure(box=(8e-6, 8e-6, 8e-6), particles=Spheres([[4e-6, 4e-6, 4e-6]], [r]))
    img = ms.rasterize(H)
    img.phase[:, :, 0][img.phase[:, :, 0] == 0] = CBD  # a CBD layer on the current collector
    img.phase[12:20, 12:20, 1:7] = CBD  # and a CBD pillar wiring the particle to it
    tm = build_voxel_mesh(img, MPI.COMM_WORLD, separator_thickness=2e-6)
    return img, tm, r


def test_kuhn_split_fills_each_voxel():
    labels = np.ones((2, 1, 1), dtype=np.int64)
    tets, tags = tetrahedra(labels)
    assert tets.shape == (12, 4)
    xyz = np.array([[i, j, k] for k in range(2) for j in range(2) for i in range(3)], float)
    v = np.abs(np.einsum("ij,ij->i", xyz[tets[:, 1]] - xyz[tets[:, 0]],
                         np.cross(xyz[tets[:, 2]] - xyz[tets[:, 0]],
                                  xyz[tets[:, 3]] - xyz[tets[:, 0]]))) / 6
    assert np.allclose(v, 1 / 6)


def test_volumes_are_the_voxel_counts(sphere_mesh):
    img, tm, r = sphere_mesh
    voxel = H**3
    assert _integrate(tm, "dx", PARTICLE_TAG_OFFSET + 1) == pytest.approx(
        np.count_nonzero(img.phase == AM) * voxel, rel=1e-10)
    assert _integrate(tm, "dx", CBD_TAG) == pytest.approx(
        np.count_nonzero(img.phase == CBD) * voxel, rel=1e-10)
    assert _integrate(tm, "dx", SEPARATOR) == pytest.approx(8e-6 * 8e-6 * 2e-6, rel=1e-10)
    assert _integrate(tm, "dx", PORE) > 0


def test_faces_and_interfaces(sphere_mesh):
    img, tm, r = sphere_mesh
    assert _integrate(tm, "ds", CURRENT_COLLECTOR) == pytest.approx(64e-12, rel=1e-10)
    assert _integrate(tm, "ds", COUNTER_ELECTRODE) == pytest.approx(64e-12, rel=1e-10)
    rep = tm.report["particles"]["1"]
    stair = _integrate(tm, "dS", INTERFACE_TAG_OFFSET + 1)
    assert stair == pytest.approx(rep["interface_area_staircase_m2"], rel=1e-10)
    # the correction brings the staircase to the smooth area of the exposed sphere
    assert rep["area_correction"] == pytest.approx(1 / 1.5, rel=0.1)
    exposed = rep["interface_area_smooth_m2"]
    assert exposed < 4 * np.pi * r * r and exposed > 0.9 * 4 * np.pi * r * r
    assert _integrate(tm, "dS", AM_CBD) > 0 and _integrate(tm, "dS", CBD_PORE) > 0


def test_cbd_fraction_and_isolation(sphere_mesh):
    img, tm, r = sphere_mesh
    dx = ufl.Measure("dx", domain=tm.mesh)
    v = tm.mesh.comm.allreduce(fem.assemble_scalar(fem.form(tm.cbd_fraction * dx)), op=MPI.SUM)
    assert v == pytest.approx(np.count_nonzero(img.phase == CBD) * H**3, rel=1e-10)
    assert tm.report["isolated_particles"] == []  # wired through the CBD pillar
    lonely = img.phase.copy()
    lonely[lonely == CBD] = 0
    tm2 = build_voxel_mesh(VoxelImage(lonely, H), MPI.COMM_WORLD, separator_thickness=0.0)
    assert tm2.report["isolated_particles"] == [1]


def test_negative_separator_is_refused():
    img = VoxelImage(np.zeros((4, 4, 4), np.uint8), 1e-6)
    with pytest.raises(MeshingError, match="separator thickness"):
        build_voxel_mesh(img, MPI.COMM_WORLD, separator_thickness=-1e-6)
