import json

import numpy as np
import pytest
from click.testing import CliRunner

from electrode3d.cli import main

from .conftest import small_recipe_dict


def _write_recipe(path, d):
    lines = [f"seed = {d['seed']}", "[box]"]
    b = d["box"]
    lines += [f"size_um = {b['size_um']}", f"thickness_um = {b['thickness_um']}",
              f"voxel_size_um = {b['voxel_size_um']}", "[electrode]"]
    e = d["electrode"]
    lines += [f"porosity = {e['porosity']}",
              "composition_wt = { active = 93.0, carbon = 5.0, binder = 2.0 }",
              "psd = { d50_um = 6.0, sigma = 0.2, d_min_um = 3.0, d_max_um = 9.0 }",
              'cbd = { morphology = "bridges", nanoporosity = 0.5 }']
    path.write_text("\n".join(lines) + "\n")


def test_help_everywhere():
    runner = CliRunner()
    for args in ([], ["generate"], ["characterize"], ["demo"]):
        res = runner.invoke(main, [*args, "--help"])
        assert res.exit_code == 0, res.output
        assert "Usage" in res.output


def test_generate_then_characterize(tmp_path):
    runner = CliRunner()
    recipe = tmp_path / "r.toml"
    _write_recipe(recipe, small_recipe_dict())
    res = runner.invoke(main, ["generate", str(recipe), "-o", str(tmp_path / "s.h5")])
    assert res.exit_code == 0, res.output
    assert "D10/D50/D90" in res.output
    info = json.loads((tmp_path / "s.info.json").read_text())
    assert info["inputs"]["seed"] == 3 and "numpy" in info["versions"]
    res = runner.invoke(main, ["characterize", str(tmp_path / "s.h5"), "-o",
                               str(tmp_path / "c"), "--planes", "3", "--workers", "1"])
    assert res.exit_code == 0, res.output
    for f in ("metrics.json", "particles.csv", "profiles.csv", "profiles.png", "info.json",
              "tortuosity_profile.png"):
        assert (tmp_path / "c" / f).exists(), f


def test_characterize_images(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    ph = np.zeros((12, 12, 20), np.uint8)
    ph[2:6, 2:6, :] = 1
    np.save(tmp_path / "im.npy", ph)
    tifffile.imwrite(tmp_path / "im.tif", np.transpose(ph, (2, 1, 0)))
    runner = CliRunner()
    for name in ("im.npy", "im.tif"):
        res = runner.invoke(main, ["characterize", str(tmp_path / name), "--voxel-size",
                                   "1e-6", "-o", str(tmp_path / name.replace(".", "_")),
                                   "--workers", "1"])
        assert res.exit_code == 0, res.output
        data = json.loads((tmp_path / name.replace(".", "_") / "metrics.json").read_text())
        assert data["scalars"]["volume_fractions"]["am"] == pytest.approx(16 / 144)
        assert data["scalars"]["tortuosity"]["pore_z"]["tortuosity_factor"] == \
            pytest.approx(1.0)


def test_non_percolating_medium_is_null_in_json(tmp_path):
    ph = np.zeros((8, 8, 10), np.uint8)
    ph[:, :, 4] = 1  # a full AM layer blocks the pores
    np.save(tmp_path / "im.npy", ph)
    res = CliRunner().invoke(main, ["characterize", str(tmp_path / "im.npy"), "--voxel-size",
                                    "1e-6", "-o", str(tmp_path / "c"), "--workers", "1"])
    assert res.exit_code == 0, res.output
    text = (tmp_path / "c" / "metrics.json").read_text()
    assert "Infinity" not in text and "NaN" not in text
    t = json.loads(text)["scalars"]["tortuosity"]["pore_z"]
    assert t["d_rel"] == 0.0 and t["tortuosity_factor"] is None


def test_clear_errors(tmp_path):
    runner = CliRunner()
    np.save(tmp_path / "im.npy", np.zeros((4, 4, 4), np.uint8))
    res = runner.invoke(main, ["characterize", str(tmp_path / "im.npy"), "-o",
                               str(tmp_path / "c")])
    assert res.exit_code == 1
    assert "needs a positive voxel size" in res.output
    bad = tmp_path / "bad.toml"
    bad.write_text("seed = 1\n[box]\nsize_um = [20.0, 20.0]\nthickness_um = 30\n"
                   "[electrode]\nporosity = 0.4\n")
    res = runner.invoke(main, ["generate", str(bad), "-o", str(tmp_path / "s.h5")])
    assert res.exit_code == 1
    assert "composition_wt" in res.output
    assert not (tmp_path / "s.h5").exists()


def test_demo_writes_the_report(tmp_path):
    """The README's main job on the embedded default electrode."""
    res = CliRunner().invoke(main, ["demo", "-o", str(tmp_path / "demo")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "demo"
    for f in ("recipe.toml", "structure.h5", "structure.info.json",
              "characterization/metrics.json", "characterization/particles.csv",
              "mesh/mesh.xdmf", "mesh/mesh.json"):
        assert (out / f).exists(), f
    data = json.loads((out / "characterization" / "metrics.json").read_text())
    assert abs(data["scalars"]["porosity"] - 0.35) < 0.01
