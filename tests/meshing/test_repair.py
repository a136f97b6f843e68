import numpy as np
import pytest

from meshing.repair import RepairOptions, repair_spheres, unfold_periodic
from mesostructure import Microstructure, Spheres


def _pair(gap, r=3e-6, box=(30e-6, 20e-6, 20e-6)):
    c1 = np.array([10e-6, 10e-6, 10e-6])
    c2 = c1 + [2 * r + gap, 0, 0]
    return Microstructure(box=box, particles=Spheres([c1, c2], [r, r]))


@pytest.mark.parametrize("gap, necks", [(0.0, 1), (0.3e-6, 1), (-0.1e-6, 1), (1.0e-6, 0),
                                        (-0.6e-6, 0)])
def test_necks_join_near_tangent_pairs_only(gap, necks):
    opt = RepairOptions()
    p = repair_spheres(_pair(gap), opt)
    assert p.report["necks"] == necks
    np.testing.assert_array_equal(p.radii, p.original_radii)  # far from every face
    if necks:
        # the gap at the neck's rim is min_gap: rho^2 = 2 r_eff (min_gap - gap)
        assert p.neck_radii[0] == pytest.approx(np.sqrt(2 * 1.5e-6 * (opt.min_gap - gap)))
        # the neck spans the gap, each end inside its sphere
        for end, centre in ((p.neck_p0[0], p.centres[0]), (p.neck_p1[0], p.centres[1])):
            assert np.linalg.norm(end - centre) < p.radii[0]


def test_sphere_resting_on_the_current_collector_is_made_to_cross_it():
    ms = Microstructure(box=(20e-6,) * 3, particles=Spheres([[10e-6, 10e-6, 3.0e-6]], [3e-6]))
    opt = RepairOptions()
    p = repair_spheres(ms, opt)
    assert p.radii[0] - p.centres[0][2] == pytest.approx(opt.min_cap)
    assert p.report["radius_changes"] == 1
    assert p.report["volume_change_m3"][1] > 0


def test_spheres_grazing_the_separator_plane():
    # 0.1 um past the separator plane: crossing by min_cap (+0.2 um) is nearer than clearing
    # it by min_gap (-0.5 um)
    ms = Microstructure(box=(20e-6,) * 3, particles=Spheres([[10e-6, 10e-6, 17.1e-6]], [3e-6]))
    p = repair_spheres(ms)
    assert p.centres[0][2] + p.radii[0] - 20e-6 == pytest.approx(0.3e-6)
    # 0.3 um short of it: clearing (-0.1 um) is nearer than crossing (+0.6 um)
    ms = Microstructure(box=(20e-6,) * 3, particles=Spheres([[10e-6, 10e-6, 16.7e-6]], [3e-6]))
    p = repair_spheres(ms)
    assert 20e-6 - p.centres[0][2] - p.radii[0] == pytest.approx(0.4e-6)


def test_periodic_unfolding_adds_images():
    c = np.array([[1e-6, 1e-6, 10e-6], [10e-6, 10e-6, 10e-6]])
    r = np.array([3e-6, 3e-6])
    cc, rr, ids = unfold_periodic(c, r, np.array([1, 2]), np.array([20e-6] * 3),
                                  (True, True, False))
    assert np.sum(ids == 1) == 4  # itself + images across x, y and the corner
    assert np.sum(ids == 2) == 1


def test_lateral_shift_avoids_grazing_cuts():
    ms = Microstructure(box=(20e-6, 20e-6, 20e-6),
                        particles=Spheres([[3.05e-6, 10e-6, 10e-6]], [3e-6]),
                        periodic=(True, True, False))
    p = repair_spheres(ms)
    x = np.mod(3.05e-6 + p.shift[0], 20e-6)
    assert min(x, 20e-6 - x) - 3e-6 > 0.4e-6 or 3e-6 - min(x, 20e-6 - x) > 0.3e-6
    assert p.report["radius_changes"] == 0


def test_dense_generated_packing():
    from mesostructure import generate, parse_recipe

    from ..conftest import small_recipe_dict

    ms = generate(parse_recipe(small_recipe_dict()))
    p = repair_spheres(ms)
    rep = p.report
    assert rep["necks"] > 0
    assert rep["max_relative_radius_change"] < 0.2
    # images share their particle's radius
    for pid in np.unique(p.particle_ids):
        assert np.ptp(p.radii[p.particle_ids == pid]) == 0
