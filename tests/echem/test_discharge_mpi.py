"""Under mpirun -n 2 a discharge equals the serial one (issue 4: capacity to 1e-8)."""

import numpy as np
import pytest

pytestmark = pytest.mark.mpi

pytest.importorskip("dolfinx_solver")

from mpi4py import MPI  # noqa: E402

from echem import Discharge, Simulation, parameter_set  # noqa: E402

from .conftest import wired_particle  # noqa: E402


def _discharge(comm):
    tm = wired_particle(comm)
    sim = Simulation(tm, parameter_set(), Discharge(c_rate=5.0, cutoff_V=3.75, report_dod=(0.25,)))
    return sim.run()


def test_parallel_discharge_equals_serial():
    world = MPI.COMM_WORLD
    par = _discharge(world)
    # every rank also runs the serial problem on its own
    ser = _discharge(MPI.COMM_SELF)
    assert par.info["ranks"] == world.size
    assert par.stop_reason == ser.stop_reason == "cutoff"
    assert par.capacity_mAh_cm2[-1] == pytest.approx(ser.capacity_mAh_cm2[-1], rel=1e-8)
    assert len(par.voltage) == len(ser.voltage)
    assert np.allclose(par.voltage, ser.voltage, rtol=0, atol=1e-9)
    for lab in ser.particle_states:
        assert np.allclose(par.particle_states[lab], ser.particle_states[lab], atol=1e-9)
    for name, errs in par.errors.items():
        assert max(errs) < 1e-8, name
