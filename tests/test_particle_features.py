"""Per-particle neighbourhood features on images with known answers: local porosity, distance
to the nearest CBD, AM neighbours; periodic wrap of the lateral faces, clipping along z."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mesostructure import (
    AM,
    CBD,
    CharacterizationOptions,
    VoxelImage,
    distance_to_cbd,
    local_porosity,
    particle_contacts,
    particle_neighbourhood,
    periodic_distance,
)

H = 1e-6


def balls(shape, centres, radius, cbd=None, nanoporosity=0.5, h=H) -> VoxelImage:
    """Spheres (centres in voxel-index coordinates, voxel centres at integers) labelled 1, 2,
    ... on a pore background; ``cbd`` a boolean mask of CBD voxels (AM wins)."""
    idx = np.indices(shape).astype(float)
    phase = np.zeros(shape, np.uint8)
    particle = np.zeros(shape, np.int32)
    if cbd is not None:
        phase[cbd] = CBD
    for k, c in enumerate(centres, start=1):
        inside = sum((idx[a] - c[a]) ** 2 for a in range(3)) <= radius**2
        phase[inside] = AM
        particle[inside] = k
    return VoxelImage(phase, h, particle=particle, cbd_nanoporosity=nanoporosity)


def rolled(img: VoxelImage, shift, axis) -> VoxelImage:
    return VoxelImage(np.roll(img.phase, shift, axis), img.spacing,
                      particle=np.roll(img.particle, shift, axis),
                      cbd_nanoporosity=img.cbd_nanoporosity)


def slab_z(shape, z0):
    m = np.zeros(shape, bool)
    m[:, :, z0:] = True
    return m


def test_periodic_distance_matches_brute_force_minimum_image():
    rng = np.random.default_rng(3)
    shape, spacing = (7, 6, 5), np.array([1.0, 1.5, 2.0])
    mask = rng.random(shape) < 0.04
    pts = np.argwhere(mask)
    for per in [(False, False), (True, False), (True, True)]:
        d = periodic_distance(mask, spacing, per)
        for v in itertools.product(*map(range, shape)):
            delta = np.abs(pts - np.array(v)).astype(float)
            for a in (0, 1):
                if per[a]:
                    delta[:, a] = np.minimum(delta[:, a], shape[a] - delta[:, a])
            ref = np.sqrt(((delta * spacing) ** 2).sum(axis=1)).min()
            assert d[v] == pytest.approx(ref)
    assert np.isinf(periodic_distance(np.zeros(shape, bool), spacing)).all()


def test_sphere_in_pore_has_local_porosity_one_and_no_cbd_is_infinitely_far():
    img = balls((30, 30, 30), [(15, 15, 15)], 6.3)
    f = particle_neighbourhood(img)[1]
    assert f["local_porosity"] == 1.0 and f["n_am_neighbours"] == 0
    assert np.isinf(f["distance_to_cbd_m"])
    r_eq = (3 * np.count_nonzero(img.particle == 1) / (4 * np.pi)) ** (1 / 3) * H
    assert f["local_shell_m"] == pytest.approx(r_eq)
    assert local_porosity(img, 2e-6, "m")[1]["shell_m"] == 2e-6


def test_cbd_slab_at_a_known_gap():
    shape, c, r = (30, 30, 40), (15, 15, 15), 6.3
    # the sphere's surface is at z = 21.3; a slab from voxel 27 (face at 26.5): gap 5.2 voxels
    img = balls(shape, [c], r, cbd=slab_z(shape, 27))
    assert distance_to_cbd(img)[1] == pytest.approx(5.2 * H, abs=1.0 * H)
    assert not particle_contacts(img)[1]["touches_cbd"]
    # the slab starting on the next voxel above the particle's top voxel (21): in contact
    img = balls(shape, [c], r, cbd=slab_z(shape, 22))
    assert particle_contacts(img)[1]["touches_cbd"]
    assert distance_to_cbd(img)[1] == 0.0
    # a slab beyond the shell leaves the local porosity at 1
    img = balls(shape, [c], r, cbd=slab_z(shape, 36))
    assert local_porosity(img)[1]["local_porosity"] == 1.0


def test_the_shell_reaches_its_thickness_from_the_surface():
    shape, c, r = (30, 30, 40), (15, 15, 15), 6.3  # top voxel 21, surface at z = 21.5
    # a slab with its face 2 voxels above the surface lies inside a 2.6-voxel shell, one with
    # its face 3 voxels above does not
    near = balls(shape, [c], r, cbd=slab_z(shape, 24))
    assert local_porosity(near, 2.6 * H, "m")[1]["local_porosity"] < 1.0
    far = balls(shape, [c], r, cbd=slab_z(shape, 25))
    assert local_porosity(far, 2.6 * H, "m")[1]["local_porosity"] == 1.0


def test_a_particle_cut_by_a_periodic_face_is_unwrapped_into_one_piece():
    from mesostructure.particle_features import _unwrapped

    x = np.array([0, 1, 2, 21, 22, 23])
    assert sorted(_unwrapped(x, 24, True)) == [21, 22, 23, 24, 25, 26]
    assert list(_unwrapped(x, 24, False)) == list(x)
    assert list(_unwrapped(np.array([5, 6, 9]), 24, True)) == [5, 6, 9]
    assert list(_unwrapped(np.arange(24), 24, True)) == list(range(24))


@pytest.mark.parametrize("nanoporosity", [0.0, 0.3, 0.5])
def test_half_of_the_shell_in_cbd_gives_the_mean_of_pore_and_nanopores(nanoporosity):
    shape = (30, 30, 30)
    # the centre sits between voxel layers 14 and 15: the slab z >= 15 is exactly half the shell
    img = balls(shape, [(15, 15, 14.5)], 6.3, cbd=slab_z(shape, 15), nanoporosity=nanoporosity)
    assert local_porosity(img)[1]["local_porosity"] == pytest.approx(0.5 + 0.5 * nanoporosity)
    full = balls(shape, [(15, 15, 14.5)], 6.3, cbd=np.ones(shape, bool),
                 nanoporosity=nanoporosity)
    assert local_porosity(full)[1]["local_porosity"] == pytest.approx(nanoporosity)
    assert distance_to_cbd(full)[1] == 0.0


def test_other_particles_count_as_solid_in_the_shell():
    shape = (40, 30, 30)
    img = balls(shape, [(12, 15, 15), (25, 15, 15)], 6.3)  # centres 13 apart: touching
    lp = local_porosity(img)
    assert 0.6 < lp[1]["local_porosity"] < 1.0
    assert lp[1]["local_porosity"] == pytest.approx(lp[2]["local_porosity"])
    c = particle_contacts(img)
    assert c[1]["n_am_neighbours"] == c[2]["n_am_neighbours"] == 1
    far = balls(shape, [(8, 15, 15), (31, 15, 15)], 6.3)
    assert particle_contacts(far)[1]["n_am_neighbours"] == 0


@pytest.mark.parametrize("axis", [0, 1])
def test_features_are_invariant_under_periodic_translation(axis):
    """Rolling a periodic image moves particles across the lateral faces; nothing may change."""
    shape = (24, 24, 30)
    cbd = np.zeros(shape, bool)
    cbd[3:6, 2:20, 5:25] = True  # a wall beside particle 1
    cbd[:, :, 27:] = True  # a layer on top
    img = balls(shape, [(12, 12, 14), (21, 12, 14)], 4.6, cbd=cbd)
    ref = particle_neighbourhood(img, periodic=(True, True))
    for shift in (5, 12, 20):
        got = particle_neighbourhood(rolled(img, shift, axis), periodic=(True, True))
        for k in ref:
            assert got[k]["local_porosity"] == pytest.approx(ref[k]["local_porosity"])
            assert got[k]["distance_to_cbd_m"] == pytest.approx(ref[k]["distance_to_cbd_m"])
            assert got[k]["n_am_neighbours"] == ref[k]["n_am_neighbours"]


def test_periodic_wrap_across_the_x_face_is_honoured():
    shape = (24, 20, 20)
    cbd = np.zeros(shape, bool)
    cbd[21:23] = True  # a CBD wall at x = 21..22, its face at x = 22.5
    # particle at x = 1..9 (surface at x = 0.5): across the x = 0 face the wall is 2 voxels away
    img = balls(shape, [(5, 10, 10)], 4.5, cbd=cbd)
    per = particle_neighbourhood(img, periodic=(True, True))[1]
    sealed = particle_neighbourhood(img)[1]
    assert per["distance_to_cbd_m"] == pytest.approx(2 * H, abs=1.0 * H)
    assert sealed["distance_to_cbd_m"] == pytest.approx(11 * H, abs=1.0 * H)
    assert per["local_porosity"] < sealed["local_porosity"] == 1.0
    # two particles touching only across the face are neighbours only when the face wraps
    two = balls((30, 20, 20), [(2, 10, 10), (27, 10, 10)], 2.6)
    assert particle_contacts(two, (True, False))[1]["n_am_neighbours"] == 1
    assert particle_contacts(two)[1]["n_am_neighbours"] == 0


def test_shell_is_clipped_at_the_current_collector_and_never_wraps_in_z():
    shape = (30, 30, 30)
    cbd = np.zeros(shape, bool)
    cbd[:, :, -1] = True  # CBD on the separator face only
    img = balls(shape, [(15, 15, 2)], 6.3, cbd=cbd)  # cut by the current collector
    f = particle_neighbourhood(img, periodic=(True, True))[1]
    assert f["local_porosity"] == 1.0
    top = np.argwhere(img.particle == 1)[:, 2].max()
    assert f["distance_to_cbd_m"] == pytest.approx((29 - top - 1) * H)


def test_a_shell_larger_than_the_periodic_box_counts_each_voxel_once():
    shape = (8, 8, 30)
    cbd = np.zeros(shape, bool)
    cbd[:4, :, 10:20] = True
    img = balls(shape, [(4, 4, 15)], 3.2, cbd=cbd, nanoporosity=0.25)
    lp = local_porosity(img, 1e-3, "m", periodic=(True, True))[1]["local_porosity"]
    rest = img.particle != 1
    expected = (np.count_nonzero(img.phase[rest] == 0)
                + 0.25 * np.count_nonzero(img.phase[rest] == CBD)) / np.count_nonzero(rest)
    assert lp == pytest.approx(expected)


@pytest.mark.parametrize("kwargs, match", [
    ({"local_shell": 0.0}, "local shell thickness must be a positive finite number"),
    ({"local_shell": -1.0}, "local shell thickness must be a positive finite number"),
    ({"local_shell": float("nan")}, "local shell thickness must be a positive finite number"),
    ({"local_shell": True}, "local shell thickness must be a positive finite number"),
    ({"local_shell_unit": "um"}, r"local shell unit must be one of \('radius', 'm'\)"),
])
def test_bad_shell_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CharacterizationOptions(**kwargs)


def test_bad_calls():
    img = balls((10, 10, 10), [(5, 5, 5)], 2.0)
    with pytest.raises(ValueError, match="local shell thickness must be a positive"):
        local_porosity(img, -2.0)
    with pytest.raises(ValueError, match=r"periodic takes the \(x, y\) flags"):
        distance_to_cbd(img, (True, True, False))
    with pytest.raises(ValueError, match="mask must be 3-D"):
        periodic_distance(np.zeros((4, 4), bool), 1.0)
    bare = VoxelImage(img.phase, H)
    for f in (local_porosity, distance_to_cbd, particle_contacts):
        with pytest.raises(ValueError, match="need a particle label image"):
            f(bare)
