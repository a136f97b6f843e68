import numpy as np
import pytest

from lammps_bridge.inputs import Blend, loads, pair_commands
from lammps_bridge.recipe import parse_manufacture_recipe
from lammps_bridge.stages import ff_blend, zone_progress


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


def test_ff_blend_two_linear_regimes():
    d = _drying([{"fraction": 1.0, "rsf2": 1.1, "rsf3": 1.4}], ff_switch_progress=0.5,
                ff_switch_blend=0.1)
    assert ff_blend(d, 0.0) == 0.0 and ff_blend(d, 1.0) == pytest.approx(1.0)
    assert ff_blend(d, 0.25) == pytest.approx(0.05)
    assert ff_blend(d, 0.5) == pytest.approx(0.1)
    assert ff_blend(d, 0.75) == pytest.approx(0.55)


def test_pair_commands_use_table_s1():
    ff = parse_manufacture_recipe({}).forcefield
    cmds = pair_commands(ff, Blend(10.0, (3.0, 3.0, 3.0), 1.0, (1.0, 1.0, 1.0)), 1.0)
    assert "gran/hertz/history 100 137.8 10 9.59 1 1" in cmds[0]
    # AM-AM dry: eps = 100 x d, sigma = 0.93 d, cut = 1.2 d (paper 001, Table S1)
    assert "pair_coeff 1 1 lj/cut 1000 9.3 12" in cmds
    assert "pair_coeff 2 2 lj/cut 1200 2.67 6.6" in cmds


def test_gravity_points_down_and_pressure_in_micro_units():
    cmds = loads(101325.0, 9.81)
    assert "fix grav all gravity 9.81e-06 vector 0 0 -1" in cmds
    assert "variable fatm equal 101.325*lx*ly" in cmds
    assert "variable fz atom -v_fatm*v_r2/v_s2sum" in cmds
