import numpy as np
import pytest

from mesostructure import AM, CBD, PORE, Capsules, Microstructure, Spheres, VoxelImage


def _one_sphere(r=5e-6, box=(20e-6, 20e-6, 20e-6), centre=None, periodic=(False, False, False)):
    c = np.array(box) / 2 if centre is None else np.array(centre)
    return Microstructure(box=box, particles=Spheres([c], [r]), periodic=periodic)


def test_sphere_volume_converges_with_voxel_size():
    ms = _one_sphere()
    exact = 4 / 3 * np.pi * (5e-6) ** 3
    errors = []
    for h in (1e-6, 0.5e-6, 0.25e-6):
        img = ms.rasterize(h)
        errors.append(abs(np.count_nonzero(img.phase == AM) * img.voxel_volume - exact) / exact)
    assert errors[-1] < 0.01
    assert errors[2] < errors[0]


def test_precedence_am_over_cbd_and_particle_labels():
    box = (10e-6, 10e-6, 10e-6)
    ms = Microstructure(
        box=box, particles=Spheres([[5e-6, 5e-6, 5e-6]], [2e-6]),
        cbd_spheres=Spheres([[5e-6, 5e-6, 5e-6]], [3e-6]))
    img = ms.rasterize(0.25e-6)
    centre = tuple(s // 2 for s in img.shape)
    assert img.phase[centre] == AM
    assert img.particle[centre] == 1
    shell = img.phase[20 + 10, 20, 20]  # 2.5 um from the centre along x
    assert shell == CBD
    assert img.phase[0, 0, 0] == PORE
    assert np.all(img.particle[img.phase != AM] == 0)


def test_overlap_is_split_by_power_distance():
    ms = Microstructure(box=(20e-6, 10e-6, 10e-6),
                        particles=Spheres([[7e-6, 5e-6, 5e-6], [12e-6, 5e-6, 5e-6]],
                                          [3e-6, 3e-6]),
                        particle_ids=[4, 9])
    img = ms.rasterize(0.25e-6)
    ix = (np.arange(img.shape[0]) + 0.5) * img.spacing[0]
    row = img.particle[:, 20, 20]
    assert set(row[(ix > 4.2e-6) & (ix < 9.4e-6)]) == {4}
    assert set(row[(ix > 9.6e-6) & (ix < 14.8e-6)]) == {9}


def test_periodic_wrap_keeps_volume():
    box = (10e-6, 10e-6, 10e-6)
    # shifted by a whole number of voxels: the wrapped sphere must cover as many voxels
    inside = _one_sphere(2e-6, box, centre=(5.3e-6, 4.9e-6, 5e-6), periodic=(True, True, False))
    wrapped = _one_sphere(2e-6, box, centre=(0.3e-6, 9.9e-6, 5e-6), periodic=(True, True, False))
    clipped = _one_sphere(2e-6, box, centre=(0.3e-6, 9.9e-6, 5e-6))
    n = [np.count_nonzero(m.rasterize(0.25e-6).phase == AM) for m in (inside, wrapped, clipped)]
    assert n[1] == n[0]
    assert n[2] < 0.5 * n[0]


def test_capsule_volume():
    ms = Microstructure(box=(20e-6, 20e-6, 20e-6), particles=Spheres.empty(),
                        cbd_capsules=Capsules([[4e-6, 10e-6, 10e-6]], [[16e-6, 10e-6, 10e-6]],
                                              [1.5e-6]))
    img = ms.rasterize(0.2e-6)
    v = np.count_nonzero(img.phase == CBD) * img.voxel_volume
    assert v == pytest.approx(ms.cbd_capsules.volumes[0], rel=0.02)


def test_save_load_roundtrip(tmp_path, small_recipe):
    from mesostructure import generate

    ms = generate(small_recipe)
    path = tmp_path / "s.h5"
    ms.save(path)
    back = Microstructure.load(path)
    np.testing.assert_array_equal(back.particles.centres, ms.particles.centres)
    np.testing.assert_array_equal(back.particles.radii, ms.particles.radii)
    np.testing.assert_array_equal(back.cbd_capsules.p0, ms.cbd_capsules.p0)
    np.testing.assert_array_equal(back.particle_ids, ms.particle_ids)
    assert back.periodic == ms.periodic
    assert back.metadata["report"] == ms.metadata["report"]
    assert back.layers == ms.layers
    np.testing.assert_array_equal(back.rasterize(1e-6).phase, ms.rasterize(1e-6).phase)


@pytest.mark.parametrize("kwargs, match", [
    ({"box": (1e-6, -1e-6, 1e-6)}, "box sizes must be positive"),
    ({"periodic": (True, True, True)}, "cannot be periodic along z"),
    ({"particle_ids": [0]}, "unique integers >= 1"),
    ({"cbd_nanoporosity": 1.2}, r"cbd_nanoporosity must lie in \[0, 1\)"),
])
def test_invalid_microstructure_is_refused(kwargs, match):
    args = {"box": (1e-5, 1e-5, 1e-5), "particles": Spheres([[5e-6] * 3], [1e-6])}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Microstructure(**args)


def test_spheres_validation():
    with pytest.raises(ValueError, match="radii must be positive"):
        Spheres([[0, 0, 0]], [0.0])
    with pytest.raises(ValueError, match="1 centres but 2 radii"):
        Spheres([[0, 0, 0]], [1.0, 2.0])


def test_load_rejects_foreign_file(tmp_path):
    import h5py

    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f["x"] = 1
    with pytest.raises(ValueError, match="not an electrode3d microstructure"):
        Microstructure.load(p)


def test_voxel_image_validation():
    with pytest.raises(ValueError, match="phase labels must be 0"):
        VoxelImage(np.full((2, 2, 2), 5), 1e-6)
    with pytest.raises(ValueError, match="must be 3-D"):
        VoxelImage(np.zeros((2, 2)), 1e-6)
