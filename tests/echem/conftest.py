"""Small meshes for the solver tests."""

import pytest

pytest.importorskip("dolfinx_solver")

from mpi4py import MPI  # noqa: E402

from meshing import SizeOptions, build_mesh, build_voxel_mesh  # noqa: E402
from mesostructure import CBD, Microstructure, Spheres  # noqa: E402


def hemisphere(comm, radius=3e-6, box=8e-6, interface=0.5e-6, separator=4e-6):
    """A particle centred on the current collector: half a sphere whose cut face is the
    collector contact. With no Li flux through that face, the diffusion inside is exactly a
    full sphere's, so the single-particle model of radius R applies."""
    ms = Microstructure(box=(box, box, box),
                        particles=Spheres([[box / 2, box / 2, 0.0]], [radius]))
    return build_mesh(ms, comm, separator_thickness=separator,
                      size=SizeOptions(interface=interface, bulk=3 * interface))


def wired_particle(comm, h=0.5e-6):
    """A floating particle wired to the collector by a CBD pillar, with a CBD film on the
    collector (voxel route: CBD meshed)."""
    ms = Microstructure(box=(8e-6, 8e-6, 9e-6), particles=Spheres([[4e-6, 4e-6, 5e-6]], [2.5e-6]))
    img = ms.rasterize(h)
    n = int(round(4e-6 / h))
    img.phase[:, :, 0][img.phase[:, :, 0] == 0] = CBD
    img.phase[n - 2:n + 2, n - 2:n + 2, 1:int(round(3e-6 / h))] = CBD
    return build_voxel_mesh(img, comm, separator_thickness=3e-6)


@pytest.fixture(scope="session")
def hemisphere_mesh():
    return hemisphere(MPI.COMM_WORLD)


@pytest.fixture(scope="session")
def wired_mesh():
    return wired_particle(MPI.COMM_WORLD)
