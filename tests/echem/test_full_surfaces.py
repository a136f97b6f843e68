"""Full particle surfaces: a large particle whose surface fills while its centre is still
lithium-poor (NMC622, MSMR OCP: U falls by w_4 RT/F = 0.14 V per e-fold of 1 - x there).

With the reactions at the Gauss points, a surface node's own stoichiometry barely enters its
kinetics (they see x interpolated from its neighbours), so the node overshoots x = 1. On the
reduced paper 003 bilayer with 1 wt % carbon at the collector at 1C, that stalled Newton at
3.573-3.389 V (docs/echem.md, "Full particle surfaces"); the vertex rule (lumped) put each
node's kinetics on its own x and carried it to the cut-off in 62 steps. The pair below shows
both in seconds: R = 3.5 um next to R = 1 um, D_s = 1e-15 m2/s, 2C, 1 um voxels. Measured:
lumped, cut-off after 62 steps, nodal x <= 0.99991, centre at 0.38, 176.7 mAh/g; at the Gauss
points, cut-off after 81 steps with nodal x up to 1.0006, 174.9 mAh/g."""

import pytest

pytest.importorskip("dolfinx_solver")

from mpi4py import MPI  # noqa: E402

from echem import Discharge, ModelOptions, Simulation, parameter_set  # noqa: E402
from echem.results import Results  # noqa: E402
from meshing import build_voxel_mesh  # noqa: E402
from mesostructure import Microstructure, Spheres  # noqa: E402


@pytest.fixture(scope="module")
def pair_mesh():
    ms = Microstructure(box=(8e-6, 8e-6, 8e-6),
                        particles=Spheres([[3.5e-6, 4e-6, 3.5e-6], [7e-6, 4e-6, 1e-6]],
                                          [3.5e-6, 1e-6]))
    return build_voxel_mesh(ms.rasterize(1e-6), MPI.COMM_WORLD, separator_thickness=2e-6)


def _discharge(mesh, lumped):
    params = parameter_set("NMC622_MSMR").update({"Active material diffusivity [m2.s-1]":
                                                 1e-15})
    sim = Simulation(mesh, params, Discharge(c_rate=2.0, report_dod=()),
                     model_options=ModelOptions(lumped=lumped))
    return sim, sim.run()


@pytest.mark.verification
def test_the_vertex_rule_keeps_a_full_surface_below_one_to_the_cutoff(pair_mesh):
    sim, res = _discharge(pair_mesh, lumped=True)
    s = res.summary()
    assert s["stop_reason"] == "cutoff", s["stop_message"]
    x = sim.model.u["x"].x.array
    comm = MPI.COMM_WORLD
    x_max, x_min = comm.allreduce(x.max(), op=MPI.MAX), comm.allreduce(x.min(), op=MPI.MIN)
    # the diffusion wall: a full surface over a lithium-poor centre ...
    assert x_max > 0.9995 and x_min < 0.5
    # ... and no node beyond full, at any step
    assert s["max_stoichiometry"] < 1.0 and s["stoichiometry_above_1_from_s"] is None
    big, small = res.sod(res.particle_states["end"])[:2]
    assert big < small
    for name, errs in res.errors.items():
        assert max(errs) < 1e-8, name


@pytest.mark.verification
def test_at_the_gauss_points_a_full_surface_node_overshoots_one(pair_mesh):
    """What the vertex rule removes, and what a solver stop would report."""
    _, res = _discharge(pair_mesh, lumped=False)
    s = res.summary()
    assert s["max_stoichiometry"] > 1.0
    assert 0 < s["stoichiometry_above_1_from_s"] < res.time_s[-1]
    # the run reaches the cut-off, and its summary says why its capacity is doubtful
    assert s["stop_reason"] == "cutoff"
    assert len(s["warnings"]) == 1
    assert "a particle surface is full" in s["warnings"][0]
    assert "ModelOptions(lumped=True)" in s["warnings"][0]


def test_a_solver_stop_at_a_full_surface_says_so():
    res = Results({}, None, (0.3, 0.98))
    res.solid_state(1.0, 0.99)
    assert res.overfull_note(lumped=False) == "" and res.warnings() == []
    res.solid_state(2.5, 1.0004)
    res.solid_state(3.0, 0.9999)
    note = res.overfull_note(lumped=False)
    assert "nodal x up to 1.000400" in note and "since t = 2.5 s" in note
    assert "ModelOptions(lumped=True)" in note
    assert "lumped=True" not in res.overfull_note(lumped=True)
    # a finished run's summary carries it as a warning, whatever its stop reason
    assert res.warnings() == [note.removeprefix("; ") + "; lithium beyond the maximum "
                              "concentration counts in the capacity and the particles' SOD"]
    # carried by a checkpoint
    again = Results({}, None, (0.3, 0.98))
    scalars, arrays = res.state()
    again.restore(scalars, arrays)
    assert again.overfull_note(lumped=False) == note
