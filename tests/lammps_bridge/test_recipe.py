import pytest

from lammps_bridge.inputs import DeckError, check_filled
from lammps_bridge.recipe import (
    ACCEL_TO_MICRO,
    PA_TO_MICRO,
    RecipeError,
    load_manufacture_recipe,
    parse_manufacture_recipe,
)


def test_defaults_cite_the_papers():
    r = parse_manufacture_recipe({})
    assert (r.system.n_am, r.system.n_cbd) == (155, 5821)  # paper 000
    assert (r.system.cbd_slurry_diameter_um, r.system.cbd_dry_diameter_um) == (7.5, 3.0)
    assert r.drying.freeze_bulk_porosity == 0.46
    assert r.forcefield.slurry.hertz_kn == 0.1 and r.forcefield.dry.hertz_kn == 100.0


def test_unit_factors():
    # 1 atm = 101325 Pa = 101.325 pg/(um us^2); g = 9.81 m/s^2 = 9.81e-6 um/us^2
    assert 101325 * PA_TO_MICRO == pytest.approx(101.325)
    assert 9.81 * ACCEL_TO_MICRO == pytest.approx(9.81e-6)
    # cross-check from SI: pg/(um us^2) = 1e-15 kg / (1e-6 m * 1e-24 s^2)
    assert PA_TO_MICRO == pytest.approx(1.0 / (1e-15 / (1e-6 * 1e-12)))


def test_unknown_key_names_close_match():
    with pytest.raises(RecipeError, match=r"unknown key 'cbd_dry_diamter_um'.*cbd_dry_diameter_um"):
        parse_manufacture_recipe({"system": {"cbd_dry_diamter_um": 3.0}})


def test_unfilled_template_refused():
    with pytest.raises(RecipeError, match=r"drying.mode.*unfilled template variable"):
        parse_manufacture_recipe({"drying": {"mode": "${MODE}"}})
    with pytest.raises(DeckError, match=r"line 2 holds the unfilled template variable \{steps\}"):
        check_filled("units micro\nrun {steps}\n")
    # LAMMPS's own ${var} references are not templates
    assert check_filled('if "${frozen} == 0" then "print x"\n')


@pytest.mark.parametrize("over, msg", [
    ({"drying": {"schedule": [{"fraction": 0.5, "rsf2": 1.1, "rsf3": 1.4}]}}, "sum to 1"),
    ({"drying": {"schedule": [{"fraction": 1.0, "rsf2": 0.9, "rsf3": 1.4}]}}, ">= 1"),
    ({"drying": {"mode": "fast"}}, "heterogeneous"),
    ({"calendering": {"degree": 0.6}}, r"degree must lie in \[0.0, 0.5\]"),
    ({"system": {"n_am": 0}}, r"n_am must be an integer >= 1"),
    ({"system": {"cbd_dry_diameter_um": 9.0}}, "must not exceed"),
    ({"slurry": {"timestep_us": -1}}, "positive"),
])
def test_bad_values(over, msg):
    with pytest.raises(RecipeError, match=msg):
        parse_manufacture_recipe(over)


def test_example_recipes_parse():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2] / "examples" / "recipes"
    tiny = load_manufacture_recipe(root / "manufacture_tiny.toml")
    assert (tiny.system.n_am, tiny.system.n_cbd) == (16, 600)
    big = load_manufacture_recipe(root / "manufacture_paper000.toml")
    assert (big.system.n_am, big.system.n_cbd) == (155, 5821)
