import copy

import pytest

from mesostructure import RecipeError, load_recipe, parse_recipe
from mesostructure.recipe import AM_PACKING_LIMIT

from .conftest import small_recipe_dict


def _with(path: list, value):
    d = small_recipe_dict()
    node = d
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return d


def test_volume_fractions_from_composition():
    r = parse_recipe(small_recipe_dict())
    vf = r.layers[0].volume_fractions()
    v_am, v_cb = 93 / 4.75, 5 / 2.0 + 2 / 2.2
    assert vf["am"] == pytest.approx(0.6 * v_am / (v_am + v_cb))
    assert vf["cbd"] == pytest.approx(0.6 * v_cb / (v_am + v_cb) / 0.5)
    # electrode porosity counts the CBD nanopores
    assert vf["pore"] + 0.5 * vf["cbd"] == pytest.approx(0.4)


def test_layer_overrides_electrode_defaults():
    d = small_recipe_dict()
    d["layer"] = [{"name": "bottom", "porosity": 0.45}, {"name": "top"}]
    r = parse_recipe(d)
    assert [ly.porosity for ly in r.layers] == [0.45, 0.4]
    assert r.layer_bounds_m()[1][1] == pytest.approx(30e-6)


def test_areal_loading_sets_thickness():
    d = small_recipe_dict()
    del d["box"]["thickness_um"]
    d["box"]["am_loading_mg_cm2"] = 10.0
    r = parse_recipe(d)
    phi = r.layers[0].volume_fractions()["am"]
    # 10 mg/cm2 = 0.1 kg/m2 = L * rho * phi
    assert r.thickness_um * 1e-6 * 4750 * phi == pytest.approx(0.1)


@pytest.mark.parametrize("path, value, match", [
    (["electrode", "porosty"], 0.3, r"unknown key 'porosty'.*did you mean 'porosity'"),
    (["box", "size_um"], [20.0], r"size_um must be \[Lx, Ly\]"),
    (["electrode", "porosity"], 0.02, "exceeds the packing limit"),
    (["electrode", "composition_wt"], {"active": 90.0, "carbon": 5.0, "binder": 2.0},
     "sum to 100"),
    (["electrode", "cbd"], {"morphology": "fibers"}, "did you mean 'fibres'"),
    (["electrode", "psd"], {"d50_um": 30.0, "sigma": 0.1}, "does not fit in the box"),
    (["box", "voxel_size_um"], 2.0, "too coarse"),
    (["seed"], -1, "non-negative integer"),
    (["electrode", "psd"], {"components": [{"mass_fraction": 0.5, "d50_um": 6.0}]},
     "sum to 1"),
])
def test_bad_recipes_are_refused_with_a_reason(path, value, match):
    with pytest.raises(RecipeError, match=match):
        parse_recipe(_with(path, value))


def test_no_room_for_pores():
    d = small_recipe_dict()
    d["electrode"]["porosity"] = 0.3
    d["electrode"]["composition_wt"] = {"active": 60.0, "carbon": 30.0, "binder": 10.0}
    d["electrode"]["cbd"] = {"morphology": "film", "nanoporosity": 0.8}
    with pytest.raises(RecipeError, match="leave no room for pores"):
        parse_recipe(d)


def test_packing_limit_is_stated():
    d = small_recipe_dict()
    d["electrode"]["composition_wt"] = {"active": 100.0, "carbon": 0.0, "binder": 0.0}
    d["electrode"]["porosity"] = 1 - AM_PACKING_LIMIT - 0.01
    with pytest.raises(RecipeError, match=str(AM_PACKING_LIMIT)):
        parse_recipe(d)


def test_load_recipe_reports_toml_errors(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("seed = = 1")
    with pytest.raises(RecipeError, match="not valid TOML"):
        load_recipe(p)


def test_both_thickness_and_loading_refused():
    d = copy.deepcopy(small_recipe_dict())
    d["box"]["am_loading_mg_cm2"] = 5.0
    with pytest.raises(RecipeError, match="exactly one of thickness_um or am_loading"):
        parse_recipe(d)
