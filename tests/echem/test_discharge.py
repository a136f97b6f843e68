"""The discharge: open-circuit limit, conservation of charge and lithium at every step, the
CBD's role, results on disk."""

import json

import numpy as np
import pytest

pytest.importorskip("dolfinx_solver")

from mpi4py import MPI  # noqa: E402

from echem import Discharge, Simulation, parameter_set  # noqa: E402
from echem.domains import DomainError  # noqa: E402
from meshing import build_voxel_mesh  # noqa: E402
from mesostructure import Microstructure, Spheres  # noqa: E402

pytestmark = pytest.mark.verification


def test_zero_current_gives_the_open_circuit_voltage(wired_mesh):
    p = parameter_set()
    sim = Simulation(wired_mesh, p, Discharge(c_rate=1.0))
    sim.initial_state(0.0)
    x0 = p.usable_window()[0]
    assert float(sim.model.Vcc.value) == pytest.approx(float(p.ocp()(x0)), abs=1e-12)
    for k in ("phie", "psi"):
        assert np.abs(sim.model.u[k].x.array).max(initial=0.0) < 1e-12


@pytest.mark.parametrize("electrolyte", ["Nyman2008", "Landesfeind2019"])
def test_charge_and_lithium_are_conserved_every_step(wired_mesh, electrolyte):
    """Landesfeind's t+(c) and TDF(c) exercise the migration term in the bulk."""
    sim = Simulation(wired_mesh, parameter_set(electrolyte=electrolyte),
                     Discharge(c_rate=2.0, max_time_s=600.0))
    res = sim.run()
    assert len(res.errors["charge"]) >= 10
    for name, errs in res.errors.items():
        assert max(errs) < 1e-8, name
    # the voltage falls monotonically under a constant discharge current
    assert np.all(np.diff(res.voltage) < 0)
    # the capacity is the charge passed
    assert res.capacity_mAh_cm2[-1] == pytest.approx(
        sim.current_A * res.time_s[-1] / 3.6 / (sim.cc_area_m2 * 1e4), rel=1e-12)


def test_cbd_carries_the_current(wired_mesh):
    """With the CBD made a poor conductor, the same current costs a larger polarisation."""
    base = parameter_set()
    v = []
    for sigma in (760.0, 1e-3):
        sim = Simulation(wired_mesh, base.update({"CBD bulk conductivity [S.m-1]": sigma}),
                         Discharge(c_rate=1.0))
        sim.initial_state(sim.current_A)
        v.append(float(sim.model.Vcc.value))
    assert v[0] - v[1] > 0.05


def test_no_electronic_path_is_a_clear_error():
    ms = Microstructure(box=(6e-6, 6e-6, 6e-6), particles=Spheres([[3e-6, 3e-6, 3e-6]], [2e-6]))
    tm = build_voxel_mesh(ms.rasterize(0.5e-6), MPI.COMM_WORLD, separator_thickness=2e-6)
    with pytest.raises(DomainError, match="no AM or CBD touches the current collector"):
        Simulation(tm, parameter_set(), Discharge(c_rate=1.0))


def test_results_are_written_with_their_provenance(wired_mesh, tmp_path):
    sim = Simulation(wired_mesh, parameter_set(), Discharge(c_rate=2.0, max_time_s=900.0,
                                                            report_dod=(0.25,)))
    res = sim.run()
    out = res.write(tmp_path, MPI.COMM_WORLD)
    if MPI.COMM_WORLD.rank != 0:
        return
    data = res.read_discharge(out)
    assert set(data) == {"time_s", "current_A", "voltage_V", "capacity_mAh_cm2",
                         "capacity_mAh_g", "stoichiometry_mean"}
    header = (out / "particles.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["particle_id", "volume_m3", "centroid_z_m", "surface_m2"]
    assert "sod_dod25" in header and "sod_end" in header
    info = json.loads((out / "info.json").read_text())
    assert info["summary"]["max_relative_error"]["charge"] < 1e-8
    assert info["dofs_total"] > 0
    for png in ("voltage.png", "sod_profile.png", "particles_sod.png"):
        assert (out / png).stat().st_size > 1000
    # SOD of the single particle rises with depth of discharge
    rows = (out / "particles.csv").read_text().splitlines()[1].split(",")
    row = dict(zip(header, rows, strict=True))
    assert 0 < float(row["sod_dod25"]) < float(row["sod_end"]) <= 1
    # one particle holds all the lithium: at 25 % depth of discharge its SOD is 0.25 exactly
    # (the state is interpolated to the mark between the two steps around it)
    assert float(row["sod_dod25"]) == pytest.approx(0.25, abs=1e-7)


def test_a_full_electrode_ends_the_run_exactly_full(wired_mesh):
    """With a cut-off below anything the kinetics reach, the run ends when the mean
    stoichiometry reaches 1 - 1e-4, interpolated in the last step (never beyond)."""
    from echem.simulation import X_FULL

    res = Simulation(wired_mesh, parameter_set(), Discharge(c_rate=0.5, cutoff_V=0.5,
                                                            report_dod=())).run()
    assert res.stop_reason == "stoichiometry_bound", res.stop_message
    assert res.stoichiometry_mean[-1] == pytest.approx(X_FULL, abs=1e-9)
    assert max(res.stoichiometry_mean) <= X_FULL + 1e-9


def test_a_mark_inside_the_last_partial_step_is_reported(wired_mesh):
    """The cut-off falls inside the last step; a DoD mark between that step's start and the
    cut-off is reported, interpolated like the others (one particle holds all the lithium, so
    its SOD at the mark is the mark)."""
    ex = dict(c_rate=5.0, cutoff_V=3.75)
    first = Simulation(wired_mesh, parameter_set(), Discharge(**ex, report_dod=()))
    res = first.run()
    assert res.stop_reason == "cutoff"
    dod = np.asarray(res.time_s) * res.current_A[-1] / first.usable_capacity_C
    mark = round(0.5 * (dod[-2] + dod[-1]), 3)
    assert dod[-2] < mark < dod[-1]
    again = Simulation(wired_mesh, parameter_set(), Discharge(**ex, report_dod=(mark,))).run()
    label = f"dod{round(100 * mark):d}"
    assert again.time_s == res.time_s  # the marks do not change the stepping
    assert again.sod(again.particle_states[label])[0] == pytest.approx(mark, abs=1e-6)
