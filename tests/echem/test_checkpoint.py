"""Checkpoint and restart: a discharge killed mid-way resumes and ends where the uninterrupted
run ends; a finished run is not recomputed; a checkpoint of another run is refused; under
mpirun the checkpoint of two ranks restarts on one."""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("dolfinx_solver")

from mpi4py import MPI  # noqa: E402

from echem import (  # noqa: E402
    CheckpointError,
    CheckpointOptions,
    Discharge,
    Simulation,
    parameter_set,
)

from .conftest import wired_particle  # noqa: E402

EXPERIMENT = Discharge(c_rate=5.0, cutoff_V=3.75, report_dod=(0.25, 0.5))


class Killed(RuntimeError):
    """Stands for the scheduler killing the job."""


def _kill_at(step_no):
    def callback(step):
        if step.step == step_no:
            raise Killed(f"killed at step {step_no}")
    return callback


def _interrupted_then_resumed(tm, folder, comm_resume_mesh=None):
    opts = CheckpointOptions(folder, every_steps=3)
    with pytest.raises(Killed):
        Simulation(tm, parameter_set(), EXPERIMENT, callback=_kill_at(8)).run(checkpoint=opts)
    return Simulation(comm_resume_mesh or tm, parameter_set(), EXPERIMENT).run(
        checkpoint=opts)


def _assert_same_discharge(a, b):
    """The resumed run starts from the same state and predictor, but its Newton starts with
    a fresh Jacobian where the uninterrupted one reused an older one: iteration counts and
    hence the adaptive step sizes differ after the restart, so the two agree to the
    time-discretisation error (~1e-4 here), not to the Newton tolerance."""
    assert a.stop_reason == b.stop_reason == "cutoff"
    assert a.capacity_mAh_cm2[-1] == pytest.approx(b.capacity_mAh_cm2[-1], rel=1e-3)
    q = np.linspace(0.0, min(a.capacity_mAh_cm2[-1], b.capacity_mAh_cm2[-1]), 50)
    va = np.interp(q, a.capacity_mAh_cm2, a.voltage)
    vb = np.interp(q, b.capacity_mAh_cm2, b.voltage)
    assert np.abs(va - vb).max() < 1e-3
    assert set(a.particle_states) == set(b.particle_states)
    for lab in a.particle_states:
        assert np.allclose(a.particle_states[lab], b.particle_states[lab], atol=2e-3)
    for name, errs in b.errors.items():
        assert len(errs) == len(b.voltage) - 1
        assert max(errs) < 1e-8, name


def test_a_killed_run_resumes_and_ends_like_the_uninterrupted_one(wired_mesh, tmp_path):
    ref = Simulation(wired_mesh, parameter_set(), EXPERIMENT).run()
    res = _interrupted_then_resumed(wired_mesh, tmp_path / "ckpt")
    _assert_same_discharge(ref, res)
    assert res.info["run_segments"] == 2
    # the killed segment's records survive, and its first step after the restart is the
    # step the uninterrupted run took (same state, step size and predictor)
    assert res.time_s[:8] == pytest.approx(ref.time_s[:8], rel=1e-14)
    assert res.voltage[:8] == pytest.approx(ref.voltage[:8], abs=1e-8)

    # rerunning the finished run recomputes nothing and returns the same results
    again = Simulation(wired_mesh, parameter_set(), EXPERIMENT).run(
        checkpoint=CheckpointOptions(tmp_path / "ckpt"))
    assert again.voltage == res.voltage
    assert again.stop_reason == "cutoff"
    assert again.info["run_segments"] == 2


def test_a_checkpoint_of_another_run_is_refused(wired_mesh, tmp_path):
    opts = CheckpointOptions(tmp_path, every_steps=1)
    with pytest.raises(Killed):
        Simulation(wired_mesh, parameter_set(), EXPERIMENT, callback=_kill_at(2)).run(
            checkpoint=opts)
    other = Discharge(c_rate=2.0, cutoff_V=3.75, report_dod=(0.25, 0.5))
    before = opts.path.read_bytes()
    with pytest.raises(CheckpointError, match=r"belongs to another run.*c_rate"):
        Simulation(wired_mesh, parameter_set(), other).run(checkpoint=opts)
    assert opts.path.read_bytes() == before  # nothing already computed is lost


def test_resume_false_starts_afresh(wired_mesh, tmp_path):
    opts = CheckpointOptions(tmp_path, every_steps=1)
    with pytest.raises(Killed):
        Simulation(wired_mesh, parameter_set(), EXPERIMENT, callback=_kill_at(2)).run(
            checkpoint=opts)
    fresh = CheckpointOptions(tmp_path, every_steps=1, resume=False)
    first = []

    def first_step(step):
        first.append(step.step)
        raise Killed("seen")

    with pytest.raises(Killed):
        Simulation(wired_mesh, parameter_set(), EXPERIMENT, callback=first_step).run(
            checkpoint=fresh)
    assert first == [1]


def test_bad_intervals_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="intervals must be positive"):
        CheckpointOptions(tmp_path, every_steps=0)


@pytest.mark.mpi
def test_a_two_rank_checkpoint_restarts_on_one_rank():
    world = MPI.COMM_WORLD
    folder = Path(world.bcast(tempfile.mkdtemp() if world.rank == 0 else None, root=0))
    try:
        tm = wired_particle(world)
        opts = CheckpointOptions(folder / "ckpt", every_steps=3)
        with pytest.raises(Killed):
            Simulation(tm, parameter_set(), EXPERIMENT, callback=_kill_at(8)).run(
                checkpoint=opts)
        ref = Simulation(wired_particle(MPI.COMM_SELF), parameter_set(), EXPERIMENT).run()
        # each rank resumes its own copy of the two-rank checkpoint, serially
        mine = folder / f"rank{world.rank}"
        shutil.copytree(folder / "ckpt", mine)
        res = Simulation(wired_particle(MPI.COMM_SELF), parameter_set(), EXPERIMENT).run(
            checkpoint=CheckpointOptions(mine))
        assert res.info["run_segments"] == 2
        _assert_same_discharge(ref, res)
    finally:
        world.barrier()
        if world.rank == 0:
            shutil.rmtree(folder, ignore_errors=True)


def test_the_restored_fields_are_the_saved_ones(wired_mesh, tmp_path):
    saved = {}

    def kill_after_saving(step):
        if step.step == 3:
            saved.update({k: f.x.array.copy() for k, f in sim.model.u.items()},
                         V=float(sim.model.Vcc.value))
            raise Killed("killed")

    sim = Simulation(wired_mesh, parameter_set(), EXPERIMENT, callback=kill_after_saving)
    with pytest.raises(Killed):
        sim.run(checkpoint=CheckpointOptions(tmp_path, every_steps=3))
    other = Simulation(wired_mesh, parameter_set(), EXPERIMENT)
    from echem.checkpoint import Checkpointer
    from echem.results import Results

    res = Results(other.describe(), other.probe, other.params.usable_window())
    loop, previous = Checkpointer(other, CheckpointOptions(tmp_path)).load(res)
    assert loop.step == 3 and previous is not None
    for k, f in other.model.u.items():
        assert np.array_equal(f.x.array, saved[k]), k
    assert float(other.model.Vcc.value) == saved["V"]
    assert len(res.voltage) == 4
