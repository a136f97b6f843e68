"""Marching-cubes areas of features a voxel or two across (they smooth away)."""

import numpy as np

from mesostructure.surfaces import particle_areas
from mesostructure.voxel import AM, PORE, VoxelImage


def test_a_one_voxel_particle_has_no_surface_and_no_error():
    phase = np.full((8, 8, 8), PORE, dtype=np.uint8)
    particle = np.zeros(phase.shape, dtype=np.int32)
    phase[4, 4, 4], particle[4, 4, 4] = AM, 1  # one voxel: smoothed below the 0.5 level
    phase[0:6, 0:6, 0:2], particle[0:6, 0:6, 0:2] = AM, 2  # a resolved slab
    img = VoxelImage(phase=phase, spacing=np.full(3, 1e-6), particle=particle)
    areas = particle_areas(img)
    assert areas[1]["surface_m2"] == 0.0
    assert areas[2]["surface_m2"] > 0.0
