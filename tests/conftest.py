import numpy as np
import pytest

from mesostructure import parse_recipe


def small_recipe_dict(**over) -> dict:
    """A small, fast recipe (20 x 20 x 30 um, ~40 particles)."""
    d = {
        "seed": 3,
        "box": {"size_um": [20.0, 20.0], "thickness_um": 30.0, "voxel_size_um": 0.5},
        "electrode": {
            "porosity": 0.4,
            "composition_wt": {"active": 93.0, "carbon": 5.0, "binder": 2.0},
            "density_g_cm3": {"active": 4.75, "carbon": 2.0, "binder": 2.2},
            "psd": {"d50_um": 6.0, "sigma": 0.2, "d_min_um": 3.0, "d_max_um": 9.0},
            "cbd": {"morphology": "bridges", "nanoporosity": 0.5},
        },
        "layer": [{"name": "electrode"}],
    }
    for k, v in over.items():
        d[k] = v
    return d


@pytest.fixture
def small_recipe():
    return parse_recipe(small_recipe_dict())


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
