import json

import numpy as np
import pytest

from mesostructure import (
    AM,
    CBD,
    PORE,
    CharacterizationOptions,
    VoxelImage,
    boundary_coverage,
    characterize,
    generate,
    particle_neighbourhood,
    phase_profiles,
    relative_phase_difference,
    tortuosity,
    write_outputs,
)


@pytest.fixture(scope="module")
def structure():
    from mesostructure import parse_recipe

    from .conftest import small_recipe_dict

    return generate(parse_recipe(small_recipe_dict()))


@pytest.fixture(scope="module")
def metrics(structure):
    return characterize(structure, 0.5e-6, CharacterizationOptions(n_planes=4, workers=1))


def test_scalars_are_consistent(structure, metrics):
    s = metrics.scalars
    img = structure.rasterize(0.5e-6)
    assert s["volume_fractions"]["am"] == pytest.approx(img.fraction(AM))
    assert s["porosity"] == pytest.approx(img.fraction(PORE) + 0.5 * img.fraction(CBD))
    t = s["tortuosity"]["electrolyte_z"]
    assert t["tortuosity_factor"] == pytest.approx(t["volume_fraction"] / t["d_rel"])
    assert t["macmullin"] == pytest.approx(t["tortuosity_factor"] / t["volume_fraction"])
    assert t["geometric_tortuosity"] ** 2 == pytest.approx(t["tortuosity_factor"])
    # adding the CBD's nanopores can only help ionic transport
    assert t["d_rel"] > s["tortuosity"]["pore_z"]["d_rel"]
    assert 0 < s["active_surface_fraction"] < 1
    assert 0 < s["effective_conductivity_S_m"]["z"] < 15.93


def test_tortuosity_profile_starts_at_the_whole_electrode(metrics):
    prof = metrics.tortuosity_profile
    assert prof["z_m"][0] == 0.0
    whole = metrics.scalars["tortuosity"]["electrolyte_z"]["tortuosity_factor"]
    assert prof["tortuosity_factor"][0] == pytest.approx(whole, rel=1e-6)


def test_particle_table(structure, metrics):
    img = structure.rasterize(0.5e-6)
    rows = metrics.particles
    assert len(rows) == len(np.unique(img.particle[img.particle > 0]))
    total = sum(r["volume_m3"] for r in rows)
    assert total == pytest.approx(np.count_nonzero(img.phase == AM) * img.voxel_volume)
    # per-particle surfaces add up to the global AM/pore and AM/CBD areas; one particle at a
    # time also resolves the sub-voxel wedges at AM/AM contacts (where CBD bridges sit), which
    # the whole-phase surface smooths over: a few per cent more AM/CBD contact
    areas = metrics.scalars["areas"]
    assert sum(r["active_surface_m2"] for r in rows) == pytest.approx(areas["am_pore_m2"],
                                                                      rel=0.05)
    assert sum(r["cbd_contact_m2"] for r in rows) == pytest.approx(areas["am_cbd_m2"], rel=0.1)
    taus = [r["electrolyte_tortuosity_from_separator"] for r in rows]
    assert np.all(np.isfinite(taus)) and min(taus) >= 1.0
    assert any(r["cut_by_box"] for r in rows)
    # neighbourhood features: the periodic structure's particles cut by a face are whole
    lp = np.array([r["local_porosity"] for r in rows])
    assert np.all((lp > 0) & (lp <= 1))
    # a shell of one equivalent radius around each particle
    for r in rows:
        assert r["local_shell_m"] == pytest.approx((3 * r["volume_m3"] / (4 * np.pi)) ** (1 / 3))
        assert 0 <= r["distance_to_cbd_m"] < np.inf and r["n_am_neighbours"] >= 0
    # the structure's own periodic flags reach the neighbourhood features
    assert structure.periodic[:2] == (True, True)
    near = particle_neighbourhood(img, periodic=(True, True))
    assert all(r[k] == near[r["particle_id"]][k] for r in rows for k in near[1])
    sealed = particle_neighbourhood(img)
    assert any(r["local_porosity"] != sealed[r["particle_id"]]["local_porosity"] for r in rows)


def test_coverage_on_a_known_image():
    ph = np.zeros((10, 10, 5), np.uint8)
    ph[:3, :, 0] = AM  # 30 % of the current collector under AM
    ph[3:5, :, 0] = CBD  # 20 % under CBD
    ph[:4, :, -1] = CBD  # separator face: 40 % CBD, 60 % pore
    c = boundary_coverage(VoxelImage(ph, 1e-6, cbd_nanoporosity=0.5))
    assert c["cc_coverage_am"] == pytest.approx(0.3)
    assert c["cc_coverage_cbd"] == pytest.approx(0.2)
    assert c["separator_face_pore_fraction"] == pytest.approx(0.6)
    assert c["separator_face_electrolyte_fraction"] == pytest.approx(0.8)


def test_rpd_is_one_against_itself_and_tracks_changes():
    ph = np.zeros((8, 8, 20), np.uint8)
    ph[:4, :, :] = AM
    a = phase_profiles(VoxelImage(ph, 1e-6))
    r = relative_phase_difference(a, a)
    assert np.allclose(r["am"], 1.0) and np.allclose(r["pore"], 1.0)
    ph2 = ph.copy()
    ph2[4:6, :, 10:] = AM  # more AM in the top half
    r2 = relative_phase_difference(phase_profiles(VoxelImage(ph2, 1e-6)), a)
    s = r2["normalised_thickness"]
    assert np.allclose(r2["am"][s < 0.45], 1.0) and np.allclose(r2["am"][s > 0.55], 1.5)


def test_periodic_lateral_option_changes_only_what_it_should():
    img = VoxelImage(np.zeros((6, 6, 12), np.uint8), 1e-6)
    t = tortuosity(img, "pore", "z", periodic_lateral=True)
    assert t.tortuosity_factor == pytest.approx(1.0)


def test_write_outputs(tmp_path, metrics):
    out = write_outputs(metrics, tmp_path / "char", inputs={"source": "test"})
    data = json.loads((out / "metrics.json").read_text())
    assert data["inputs"]["source"] == "test"
    assert data["scalars"]["tortuosity"]["pore_z"]["tortuosity_factor"] > 1
    header = (out / "particles.csv").read_text().splitlines()[0].split(",")
    for col in ("particle_id", "volume_m3", "active_surface_m2", "cbd_contact_m2",
                "centroid_z_m", "electrolyte_tortuosity_from_separator", "cut_by_box",
                "local_porosity", "distance_to_cbd_m", "n_am_neighbours"):
        assert col in header
    assert (out / "profiles.png").stat().st_size > 1000


def test_parallel_workers_give_identical_results(structure):
    opts = dict(n_planes=2, per_particle=False)
    a = characterize(structure, 1e-6, CharacterizationOptions(workers=1, **opts))
    b = characterize(structure, 1e-6, CharacterizationOptions(workers=2, **opts))
    for key, val in a.scalars["tortuosity"].items():
        assert b.scalars["tortuosity"][key]["d_rel"] == pytest.approx(val["d_rel"], rel=1e-9)


@pytest.mark.parametrize("kwargs, match", [
    ({"directions": "w"}, "directions must be letters"),
    ({"media": ("gas",)}, "unknown media"),
    ({"n_planes": 1}, "at least 2"),
    ({"local_shell": 0}, "local shell thickness must be a positive finite number"),
    ({"local_shell_unit": "um"}, "local shell unit must be one of"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CharacterizationOptions(**kwargs)
