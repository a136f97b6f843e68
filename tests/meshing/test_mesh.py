"""Meshing a small structure with gmsh and reading it into dolfinx."""

import numpy as np
import pytest

pytest.importorskip("gmsh")
dolfinx_solver = pytest.importorskip("dolfinx_solver")

from mpi4py import MPI  # noqa: E402

from meshing.gmsh_model import (  # noqa: E402
    AM_CONTACT,
    COUNTER_ELECTRODE,
    CURRENT_COLLECTOR,
    INTERFACE_TAG_OFFSET,
    LATERAL,
    PARTICLE_TAG_OFFSET,
    PORE,
    SEPARATOR,
    SEPARATOR_PLANE,
    SizeOptions,
)
from meshing.tagged_mesh import MeshingError, TaggedMesh, build_mesh  # noqa: E402
from mesostructure import Capsules, Microstructure, Spheres  # noqa: E402


@pytest.fixture(scope="module")
def two_spheres():
    """A particle resting on the current collector and one touching it from above, with a
    CBD fibre; 5 um separator."""
    ms = Microstructure(box=(20e-6, 20e-6, 20e-6),
                        particles=Spheres([[10e-6, 10e-6, 9e-6], [10e-6, 10e-6, 0.5e-6]],
                                          [5e-6, 3.5e-6]),
                        cbd_capsules=Capsules([[2e-6, 2e-6, 2e-6]], [[2e-6, 2e-6, 18e-6]],
                                              [1e-6]))
    tm = build_mesh(ms, MPI.COMM_WORLD, separator_thickness=5e-6,
                    size=SizeOptions(0.4e-6, 2e-6))
    return ms, tm


def _volume(tm, tag):
    import ufl
    from dolfinx import fem

    dx = ufl.Measure("dx", domain=tm.mesh, subdomain_data=tm.cell_tags)
    return tm.mesh.comm.allreduce(fem.assemble_scalar(fem.form(1.0 * dx(tag))), op=MPI.SUM)


def test_tags_present(two_spheres):
    _, tm = two_spheres
    cells = set(np.unique(tm.cell_tags.values).tolist())
    assert cells == {PORE, SEPARATOR, PARTICLE_TAG_OFFSET + 1, PARTICLE_TAG_OFFSET + 2}
    facets = set(np.unique(tm.facet_tags.values).tolist())
    for tag in (CURRENT_COLLECTOR, COUNTER_ELECTRODE, LATERAL, SEPARATOR_PLANE, AM_CONTACT,
                INTERFACE_TAG_OFFSET + 1, INTERFACE_TAG_OFFSET + 2):
        assert tag in facets, tag


def test_volumes_and_areas_match_the_analytic_geometry(two_spheres):
    ms, tm = two_spheres
    rep = tm.report
    assert rep["max_particle_volume_error"] < 0.01
    assert rep["max_particle_interface_area_error"] < 0.02
    assert rep["electrode_volume_error"] < 1e-9
    assert _volume(tm, SEPARATOR) == pytest.approx(20e-6 * 20e-6 * 5e-6, rel=1e-9)
    # the dolfinx mesh is in metres and carries the same particle volumes
    v1 = _volume(tm, PARTICLE_TAG_OFFSET + 1)
    assert v1 == pytest.approx(rep["particles"]["1"]["volume_mesh_m3"], rel=1e-9)
    assert rep["repair"]["necks"] == 1  # the two spheres were exactly tangent
    assert rep["min_dihedral_deg"] > 1.0
    assert rep["isolated_particles"] == []


def test_cbd_fraction_reaches_the_mesh(two_spheres):
    ms, tm = two_spheres
    import ufl
    from dolfinx import fem

    dx = ufl.Measure("dx", domain=tm.mesh, subdomain_data=tm.cell_tags)
    v = fem.assemble_scalar(fem.form(tm.cbd_fraction * dx(PORE)))
    v = tm.mesh.comm.allreduce(v, op=MPI.SUM)
    fibre = ms.cbd_capsules.volumes[0]
    assert v == pytest.approx(fibre, rel=0.1)


def test_save_and_load(two_spheres, tmp_path_factory):
    _, tm = two_spheres
    comm = MPI.COMM_WORLD
    folder = comm.bcast(tmp_path_factory.mktemp("mesh") if comm.rank == 0 else None, root=0)
    tm.save(folder)
    back = TaggedMesh.load(folder, comm)
    n = back.mesh.topology.index_map(3).size_global
    assert n == tm.mesh.topology.index_map(3).size_global
    assert back.particles.keys() == tm.particles.keys()
    assert _volume(back, PARTICLE_TAG_OFFSET + 2) == pytest.approx(
        _volume(tm, PARTICLE_TAG_OFFSET + 2), rel=1e-12)


def test_isolated_particle_is_flagged():
    ms = Microstructure(box=(20e-6, 20e-6, 20e-6),
                        particles=Spheres([[10e-6, 10e-6, 2.5e-6], [10e-6, 10e-6, 14e-6]],
                                          [3e-6, 3e-6]))
    tm = build_mesh(ms, MPI.COMM_WORLD, separator_thickness=0.0,
                    size=SizeOptions(1.0e-6, 3e-6))
    assert tm.report["isolated_particles"] == [2]


def test_bad_input_is_refused_on_every_rank():
    ms = Microstructure(box=(20e-6,) * 3, particles=Spheres([[10e-6] * 3], [3e-6]))
    with pytest.raises(MeshingError, match="separator thickness"):
        build_mesh(ms, MPI.COMM_WORLD, separator_thickness=-1e-6)


def test_cli_mesh(tmp_path):
    from click.testing import CliRunner

    from electrode3d.cli import main

    ms = Microstructure(box=(16e-6,) * 3, particles=Spheres([[8e-6, 8e-6, 6e-6]], [4e-6]))
    ms.save(tmp_path / "s.h5")
    res = CliRunner().invoke(main, ["mesh", str(tmp_path / "s.h5"), "-o", str(tmp_path / "m"),
                                    "--size", "1e-6", "--separator", "4e-6"])
    assert res.exit_code == 0, res.output
    assert "cells" in res.output
    for f in ("mesh.xdmf", "mesh.json", "info.json"):
        assert (tmp_path / "m" / f).exists()
    res = CliRunner().invoke(main, ["mesh", str(tmp_path / "s.h5"), "-o", str(tmp_path / "m"),
                                    "--size", "2e-6", "--bulk-size", "1e-6"])
    assert res.exit_code == 1
    assert "interface size <= bulk size" in res.output
    # the voxel route, from the structure and from an image
    res = CliRunner().invoke(main, ["mesh", str(tmp_path / "s.h5"), "-o", str(tmp_path / "v"),
                                    "--route", "voxel", "--voxel-size", "1e-6"])
    assert res.exit_code == 0, res.output
    assert "voxel route" in res.output
    np.save(tmp_path / "im.npy", ms.rasterize(1e-6).phase)
    res = CliRunner().invoke(main, ["mesh", str(tmp_path / "im.npy"), "-o", str(tmp_path / "w")])
    assert res.exit_code == 1
    assert "voxel size" in res.output
