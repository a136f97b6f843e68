import numpy as np
import pytest

from lammps_bridge.io import (
    LammpsFileError,
    ParticleSet,
    from_microstructure,
    read_data,
    read_dump,
    to_microstructure,
    write_data,
)
from mesostructure.microstructure import Capsules, Microstructure, Spheres

HEAD = ("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp ff\n"
        "0 30\n0 30\n0 50\nITEM: ATOMS {cols}\n")


def _dump(tmp_path, rows, cols="id type x y z radius"):
    p = tmp_path / "a.dump"
    p.write_text(HEAD.format(n=len(rows), cols=cols) + "\n".join(rows) + "\n")
    return p


def test_dump_to_microstructure_in_metres(tmp_path):
    p = _dump(tmp_path, ["1 1 10 10 5 5", "2 2 31 1 12 1.5", "3 4 2 2 20 1.5"])
    ps = read_dump(p)
    assert ps.xyz_um[1, 0] == pytest.approx(1.0)  # wrapped along periodic x
    ms = to_microstructure(ps, cbd_nanoporosity=0.5)
    assert len(ms.particles) == 1 and len(ms.cbd_spheres) == 2
    assert ms.particles.radii[0] == pytest.approx(5e-6)
    assert ms.box[0] == pytest.approx(30e-6)
    assert ms.box[2] == pytest.approx(21.5e-6)  # film top = max(z + r)
    assert ms.periodic == (True, True, False)
    assert ms.metadata["cbd_zone"] == [1, 3]


@pytest.mark.parametrize("rows, cols, msg", [
    (["1 1 1 1 1"], "id type x y z", r"line 9: missing column\(s\) radius"),
    (["1 1 1 1 nan 1"], None, r"line 10: atom line holds NaN"),
    (["1 1 1 1 1 1", "2 1 1 1 60 1"], None, r"line 11: particle outside the box along z"),
    (["1 7 1 1 1 1"], None, r"line 10: unknown particle type 7"),
    (["1 1 1 1 1"], None, r"line 10: 5 columns, expected 6"),
    (["1 1 a 1 1 1"], None, r"line 10: atom line is not numeric"),
])
def test_malformed_dump_names_the_line(tmp_path, rows, cols, msg):
    p = _dump(tmp_path, rows, cols or "id type x y z radius")
    with pytest.raises(LammpsFileError, match=msg):
        read_dump(p)


def test_data_roundtrip_and_mass(tmp_path):
    ps = ParticleSet(np.array([[0, 20], [0, 20], [0, 40.0]]), np.array([1, 2]),
                     np.array([1, 3]), np.array([[5, 5, 5], [12, 12, 15.0]]),
                     np.array([5.0, 1.5]), np.array([4.7, 0.95]))
    write_data(tmp_path / "x.data", ps)
    back = read_data(tmp_path / "x.data")
    np.testing.assert_allclose(back.xyz_um, ps.xyz_um)
    np.testing.assert_allclose(back.radius_um, ps.radius_um)
    np.testing.assert_array_equal(back.types, ps.types)
    # 10 um sphere at 4.7 g/cm3 = 4.7 pg/um3: 4.7 * pi/6 * 1000 = 2460.9 pg
    assert back.masses_pg[0] == pytest.approx(4.7 * np.pi / 6 * 1000)


def test_data_bad_line(tmp_path):
    p = tmp_path / "bad.data"
    p.write_text("x\n\n1 atoms\n4 atom types\n0 10 xlo xhi\n0 10 ylo yhi\n0 10 zlo zhi\n\n"
                 "Atoms # sphere\n\n1 1 2.0 1.0 5 5\n")
    with pytest.raises(LammpsFileError, match=r"line 11: 6 columns, expected 7"):
        read_data(p)


def test_generator_structure_to_lammps():
    ms = Microstructure(box=[20e-6, 20e-6, 30e-6],
                        particles=Spheres([[5e-6, 5e-6, 5e-6]], [4e-6]),
                        cbd_spheres=Spheres([[15e-6, 15e-6, 10e-6]], [1e-6]),
                        periodic=(True, True, False))
    ps = from_microstructure(ms, 4.7, 0.95)
    assert ps.radius_um.tolist() == pytest.approx([4.0, 1.0])
    assert ps.types.tolist() == [1, 2]
    ms2 = Microstructure(box=[20e-6] * 3, particles=Spheres.empty(),
                         cbd_capsules=Capsules([[1e-6] * 3], [[2e-6] * 3], [1e-6]))
    with pytest.raises(ValueError, match="capsules"):
        from_microstructure(ms2, 4.7, 0.95)


def test_surface_height_of_a_sphere_monolayer():
    """A square lattice of spheres (radius r, spacing 2r, centres at z = c) tiling the box:
    per cell (2r)^2, the disc (pi r^2) stands c high plus the hemisphere's volume, the corners
    are holes down to the collector, so the mean top height is c pi / 4 + pi r / 6, wherever
    the lattice sits across the periodic x and y faces."""
    from lammps_bridge.observables import surface_height_um, thickness_um

    r, c = 2.0, 3.0
    centres = np.array([[x, y, c] for x in np.arange(0.7, 20, 4) for y in np.arange(1.3, 20, 4)])
    n = len(centres)
    ps = ParticleSet(np.array([[0, 20], [0, 20], [0, 30.0]]), np.arange(1, n + 1),
                     np.ones(n, int), centres, np.full(n, r), np.full(n, 4.7))
    assert thickness_um(ps) == pytest.approx(c + r)
    expected = c * np.pi / 4 + np.pi * r / 6
    assert surface_height_um(ps, grid_um=0.05) == pytest.approx(expected, rel=1e-3)


def test_observables_on_a_known_film():
    from lammps_bridge.observables import bulk_observables, cbd_zone_fractions, rpd

    # one AM (r 5) and three CBD (r 1), one per third of a 30 um film on 20 x 20 um^2
    ps = ParticleSet(np.array([[0, 20], [0, 20], [0, 60.0]]), np.arange(1, 5),
                     np.array([1, 2, 3, 4]),
                     np.array([[10, 10, 15], [3, 3, 5], [3, 3, 15], [3, 3, 25.0]]),
                     np.array([5.0, 1.0, 1.0, 1.0]), np.array([4.7, 0.95, 0.95, 0.95]))
    ps.xyz_um[0, 2] = 25.0  # AM top at 30 um = film top
    o = bulk_observables(ps, 0.5, ps.masses_pg)
    v_am, v_cbd, film = 4 / 3 * np.pi * 125, 3 * 4 / 3 * np.pi, 400 * 30.0
    assert o["thickness_um"] == pytest.approx(30.0)
    assert o["bulk_porosity"] == pytest.approx(1 - (v_am + v_cbd) / film)
    assert o["overall_porosity"] - o["bulk_porosity"] == pytest.approx(0.5 * v_cbd / film)
    assert o["density_g_cm3"] == pytest.approx((4.7 * v_am + 0.95 * v_cbd) / film)
    np.testing.assert_allclose(cbd_zone_fractions(ps, height_um=30.0), [1 / 3, 1 / 3, 1 / 3])
    # by default the thirds are of the mean surface height: most of this sparse film's columns
    # are empty, so all three CBD lie above two thirds of it
    assert o["surface_height_um"] < 10.0
    np.testing.assert_allclose(cbd_zone_fractions(ps), [0, 0, 1])
    ms = to_microstructure(ps, cbd_nanoporosity=0.5)
    same = rpd(ms, ms, 1e-6, n=10)
    vals = same["am"][np.isfinite(same["am"])]
    assert len(vals) > 0 and np.allclose(vals, 1.0)
