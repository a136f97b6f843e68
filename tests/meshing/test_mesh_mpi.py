"""build_mesh under mpirun -n 2: the distributed mesh has the serial cell count and volumes."""

import pytest

pytestmark = pytest.mark.mpi

pytest.importorskip("dolfinx_solver")

from mpi4py import MPI  # noqa: E402

from .test_mesh import _volume  # noqa: E402


def test_distributed_mesh():
    from meshing.gmsh_model import PARTICLE_TAG_OFFSET, PORE, SizeOptions
    from meshing.tagged_mesh import build_mesh
    from mesostructure import Microstructure, Spheres

    ms = Microstructure(box=(20e-6,) * 3, particles=Spheres([[10e-6, 10e-6, 8e-6]], [4e-6]))
    tm = build_mesh(ms, MPI.COMM_WORLD, separator_thickness=4e-6,
                    size=SizeOptions(0.8e-6, 2.5e-6))
    comm = tm.mesh.comm
    assert comm.size == MPI.COMM_WORLD.size
    n_local = tm.mesh.topology.index_map(3).size_local
    assert comm.allreduce(n_local, op=MPI.SUM) == tm.report["n_cells"]
    assert _volume(tm, PARTICLE_TAG_OFFSET + 1) == pytest.approx(
        tm.report["particles"]["1"]["volume_mesh_m3"], rel=1e-9)
    assert _volume(tm, PORE) > 0


def test_distributed_voxel_mesh():
    import numpy as np

    from meshing import build_voxel_mesh
    from meshing.voxel_mesh import CBD_TAG
    from mesostructure import CBD, Microstructure, Spheres

    ms = Microstructure(box=(6e-6,) * 3, particles=Spheres([[3e-6, 3e-6, 3e-6]], [2e-6]))
    img = ms.rasterize(0.5e-6)
    img.phase[:, :, 0][img.phase[:, :, 0] == 0] = CBD
    tm = build_voxel_mesh(img, MPI.COMM_WORLD, separator_thickness=1e-6)
    n = tm.mesh.comm.allreduce(tm.mesh.topology.index_map(3).size_local, op=MPI.SUM)
    assert n == 6 * 12 * 12 * 14
    assert _volume(tm, CBD_TAG) == pytest.approx(np.count_nonzero(img.phase == CBD) * 0.5e-6**3,
                                                rel=1e-10)


def test_distributed_cgal_mesh_discharges_as_in_serial():
    """The CGAL route under mpirun: the mesh and a short discharge (CBD as a per-cell fraction
    wiring a floating particle, collector condition on the tagged facets) equal serial."""
    pytest.importorskip("pygalmesh")
    from echem import Discharge, Simulation, parameter_set
    from meshing import CGALOptions, build_cgal_mesh

    from .test_cgal_mesh import _wired_particle

    ms = _wired_particle()

    def run(comm):
        tm = build_cgal_mesh(ms, comm, separator_thickness=3e-6,
                             options=CGALOptions(interface=1.0e-6, bulk=2e-6))
        res = Simulation(tm, parameter_set(), Discharge(c_rate=2.0, max_time_s=300.0)).run()
        return tm.report["n_cells"], res.capacity_mAh_g[-1], res.voltage[-1]

    parallel = run(MPI.COMM_WORLD)
    serial = MPI.COMM_WORLD.bcast(run(MPI.COMM_SELF) if MPI.COMM_WORLD.rank == 0 else None)
    assert parallel[0] == serial[0]
    assert parallel[1] == pytest.approx(serial[1], rel=1e-8)
    assert parallel[2] == pytest.approx(serial[2], abs=1e-8)
