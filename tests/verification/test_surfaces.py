"""Verification of interface areas by marching cubes."""

import numpy as np
import pytest

from mesostructure import Microstructure, Spheres
from mesostructure.surfaces import interface_areas, particle_areas

pytestmark = pytest.mark.verification


@pytest.mark.parametrize("radius_voxels", [6, 10, 20])
def test_rasterised_sphere_area_within_3_percent(radius_voxels):
    h = 0.25e-6
    r = radius_voxels * h
    box = 2 * r + 8 * h
    ms = Microstructure(box=(box, box, box), particles=Spheres([[box / 2 + 0.3 * h] * 3], [r]))
    img = ms.rasterize(h)
    areas = interface_areas(img)
    exact = 4 * np.pi * r * r
    assert areas["am_pore_m2"] == pytest.approx(exact, rel=0.03)
    per = particle_areas(img)[1]
    assert per["active_surface_m2"] == pytest.approx(exact, rel=0.03)
    assert per["volume_m3"] == pytest.approx(4 / 3 * np.pi * r**3, rel=0.03)


def test_coated_sphere_splits_am_cbd_and_cbd_pore():
    """A sphere fully coated by a CBD film: no AM/pore area, AM/CBD = 4 pi r^2, CBD/pore =
    4 pi (r + t)^2."""
    h = 0.25e-6
    r, t = 3e-6, 1e-6
    box = 2 * (r + t) + 8 * h
    c = [box / 2] * 3
    ms = Microstructure(box=(box,) * 3, particles=Spheres([c], [r]), cbd_film_thickness=[t])
    a = interface_areas(ms.rasterize(h))
    assert a["am_pore_m2"] < 0.01 * a["am_cbd_m2"]
    assert a["am_cbd_m2"] == pytest.approx(4 * np.pi * r * r, rel=0.03)
    assert a["cbd_pore_m2"] == pytest.approx(4 * np.pi * (r + t) ** 2, rel=0.03)


def test_box_faces_are_not_interfaces():
    """A half sphere cut by the current collector: the cut face is not counted."""
    h = 0.25e-6
    r = 4e-6
    ms = Microstructure(box=(10e-6, 10e-6, 10e-6), particles=Spheres([[5e-6, 5e-6, 0.0]], [r]))
    a = interface_areas(ms.rasterize(h))
    assert a["am_pore_m2"] == pytest.approx(2 * np.pi * r * r, rel=0.03)
    rec = particle_areas(ms.rasterize(h))[1]
    assert rec["touches_current_collector"]
    assert rec["box_face_m2"] == pytest.approx(np.pi * r * r, rel=0.05)


def test_contact_area_converges_to_the_contact_disc():
    """Two overlapping spheres (overlap 0.4 um, r = 4 um): the contact is a disc of radius
    1.25 um. In a voxel image, voxels across a wedge gap narrower than one voxel touch too, so
    the contact is overestimated by ~ pi r h: first-order convergence in the voxel size h."""
    disc = np.pi * (4e-6**2 - 3.8e-6**2)
    errors = []
    for h in (0.25e-6, 0.125e-6):
        ms = Microstructure(box=(20e-6, 10e-6, 10e-6),
                            particles=Spheres([[6e-6, 5e-6, 5e-6], [13.6e-6, 5e-6, 5e-6]],
                                              [4e-6, 4e-6]))
        img = ms.rasterize(h)
        per = particle_areas(img)
        assert per[1]["am_contact_m2"] == pytest.approx(per[2]["am_contact_m2"], rel=0.05)
        # the marching-cubes estimate agrees with the image's own voxel-face count
        faces = np.sum((img.particle[:-1] == 1) & (img.particle[1:] == 2)) * h * h
        assert per[1]["am_contact_m2"] == pytest.approx(faces, rel=0.1)
        errors.append(per[1]["am_contact_m2"] / disc - 1)
    assert errors[1] < 0.6 * errors[0]
    assert abs(errors[1]) < 0.25
