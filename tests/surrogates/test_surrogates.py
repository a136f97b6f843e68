"""Per-particle SOD surrogate: dataset, grouped CV, save/load, SHAP additivity, CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from surrogates.dataset import FEATURES, Dataset, DatasetError
from surrogates.models import SchemaError, Surrogate, cross_validate, grouped_splits

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "surrogates" / "dataset.csv"


@pytest.fixture(scope="module")
def data() -> Dataset:
    return Dataset.read(FIXTURE)


def test_fixture_has_several_electrodes_and_flags_cut_particles(data):
    assert len(set(data.groups().tolist())) >= 4
    cut = data.columns["cut_by_box"]
    assert cut.any() and (~cut).any()
    kept = data.without_cut()
    assert not kept.columns["cut_by_box"].any()
    assert len(kept) == int((~cut).sum())
    assert set(np.unique(data.columns["dod"])) == {0.25, 0.5, 0.75, 1.0}


def test_grouped_splits_never_share_an_electrode(data):
    g = data.groups()
    n = 0
    for tr, te in grouped_splits(g):
        assert not set(g[tr]) & set(g[te])
        assert len(tr) + len(te) == len(g)
        n += 1
    assert n == len(set(g.tolist()))


@pytest.mark.parametrize("kind", ["random_forest", "gradient_boosting"])
def test_model_beats_mean_baseline_on_held_out_electrodes(data, kind):
    cv = cross_validate(data.without_cut(), kind, seed=0)
    assert cv.overall.mae < cv.overall_baseline.mae
    for f in cv.folds:
        assert not set(f.test_electrodes) & set(f.train_electrodes)


def test_random_forest_splits_on_features_that_are_tiny_in_si(data):
    """Volumes (~1e-16 m3) and areas (~1e-11 m2) vary by less than scikit-learn's constant-
    feature threshold (1e-7); the models see them in um3 and um2."""
    m = Surrogate.train(data.without_cut(), "random_forest", seed=0)
    imp = dict(zip(FEATURES, m.estimator.feature_importances_, strict=True))
    for f in ("volume_m3", "active_surface_m2", "cbd_contact_m2", "am_contact_m2"):
        assert imp[f] > 0, f


def test_save_load_predict_identical_and_schema_refused(tmp_path, data):
    d = data.without_cut()
    m = Surrogate.train(d, "random_forest", seed=0)
    m.save(tmp_path / "m")
    back = Surrogate.load(tmp_path / "m")
    np.testing.assert_array_equal(m.predict(d), back.predict(d))
    info = json.loads((tmp_path / "m" / "info.json").read_text())
    assert info["features"] == list(FEATURES) and info["provenance"]["seed"] == 0
    with pytest.raises(SchemaError, match="feature schema differs from the model's"):
        back.predict(d, features=FEATURES[::-1])
    info["features"] = info["features"][:-1]
    (tmp_path / "m" / "info.json").write_text(json.dumps(info))
    with pytest.raises(SchemaError, match="feature schema differs from this version's"):
        Surrogate.load(tmp_path / "m")
    info["features"] = list(FEATURES)
    del info["input_scale"]  # a model trained on SI inputs
    (tmp_path / "m" / "info.json").write_text(json.dumps(info))
    with pytest.raises(SchemaError, match="feature schema differs from this version's: model "
                                          "scales its inputs by None"):
        Surrogate.load(tmp_path / "m")


# the schema before the neighbourhood features (local porosity, distance to CBD, neighbours)
PREVIOUS_FEATURES = ("dod", "volume_m3", "active_surface_m2", "cbd_contact_m2", "am_contact_m2",
                     "position_z_rel", "electrolyte_tortuosity_from_separator",
                     "distance_to_separator_m")


def test_model_of_the_previous_schema_is_refused_with_a_clear_message(tmp_path, data):
    from click.testing import CliRunner

    from electrode3d.cli import main

    assert set(PREVIOUS_FEATURES) < set(FEATURES)
    Surrogate.train(data.without_cut(), "gradient_boosting", seed=0).save(tmp_path / "m")
    info = json.loads((tmp_path / "m" / "info.json").read_text())
    info["features"] = list(PREVIOUS_FEATURES)
    (tmp_path / "m" / "info.json").write_text(json.dumps(info))
    with pytest.raises(SchemaError, match="feature schema differs from this version's"):
        Surrogate.load(tmp_path / "m")
    run = tmp_path / "run"
    run.mkdir()
    res = CliRunner().invoke(main, ["surrogate", "predict", str(tmp_path / "m"), str(run)])
    assert res.exit_code == 1 and "feature schema differs from this version's" in res.output


def test_a_dataset_without_the_neighbourhood_columns_is_refused(tmp_path, data):
    old = tmp_path / "old.csv"
    lines = FIXTURE.read_text().splitlines()
    head = lines[0].split(",")
    keep = [i for i, c in enumerate(head) if c not in ("local_porosity", "distance_to_cbd_m",
                                                       "n_am_neighbours")]
    old.write_text("\n".join(",".join(line.split(",")[i] for i in keep) for line in lines))
    with pytest.raises(DatasetError, match="lacks columns.*local_porosity"):
        Dataset.read(old)


def test_features_not_finite_are_missing_and_still_predicted(data):
    from surrogates.dataset import rows_for_prediction

    row = {k: 1e-12 for k in FEATURES}
    row.update(particle_id=1, cut_by_box=False, touches_current_collector=True,
               centroid_z_m=5e-6, local_porosity=0.4, n_am_neighbours=3,
               electrolyte_tortuosity_from_separator=2.0,
               distance_to_cbd_m=float("inf"))  # an electrode without CBD
    d = rows_for_prediction("no-cbd", [row], 30e-6, [0.5, 1.0])
    assert np.isnan(d.columns["distance_to_cbd_m"]).all()
    for kind in ("random_forest", "gradient_boosting"):
        m = Surrogate.train(data.without_cut(), kind, seed=0)
        assert np.isfinite(m.predict(d)).all()


def test_dataset_missing_columns_refused(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("electrode,sod\na,0.5\n")
    with pytest.raises(DatasetError, match="lacks columns"):
        Dataset.read(p)


@pytest.mark.parametrize("kind", ["random_forest", "gradient_boosting"])
def test_tree_shap_is_additive(data, kind, tmp_path):
    from surrogates.explain import shap_values, write_plots

    d = data.without_cut()
    m = Surrogate.train(d, kind, seed=0)
    sub = d.select(np.arange(len(d)) < 40)
    e = shap_values(m, sub)
    np.testing.assert_allclose(e.values.sum(axis=1) + e.expected_value, m.predict(sub),
                               atol=1e-6)
    if kind == "random_forest":
        files = write_plots(e, tmp_path)
        assert len(files) == 1 + len(FEATURES)
        assert all(f.stat().st_size > 1000 for f in files)


SMALL_LATTICE = """[structure]
kind = "sphere_lattice"
radius_um = 3.0
counts = [2, 2, 2]
[mesh]
route = "voxel"
voxel_size_um = 1.0
separator_um = 3.0
[experiment]
c_rate = 1.0
report_dod = [0.25, 0.5, 0.75]
fields_dod = []
"""


def test_end_to_end_dataset_train_predict_cli(tmp_path):
    """A real tiny discharge -> dataset -> train -> predict through the CLI."""
    exe = str(Path(sys.executable).with_name("electrode3d"))
    if not Path(exe).exists():
        exe = shutil.which("electrode3d")
    cfg = tmp_path / "c.toml"
    cfg.write_text(SMALL_LATTICE)
    subprocess.run([exe, "run", str(cfg), "-o", str(tmp_path / "run")], check=True,
                   capture_output=True)
    ds = tmp_path / "ds.csv"
    subprocess.run([exe, "surrogate", "dataset", str(tmp_path / "run"), "-o", str(ds)],
                   check=True, capture_output=True)
    d = Dataset.read(ds)
    assert len(d) == 8 * 4  # 8 particles x DoD 25/50/75/100 %
    # where the discharge ended (the rows at DoD 1.0) is recorded beside the dataset
    run_info = json.loads((tmp_path / "run" / "discharge" / "info.json").read_text())
    facts = json.loads(ds.with_suffix(".info.json").read_text())["inputs"]["discharges"]
    assert facts["run"]["end_dod"] == pytest.approx(
        run_info["summary"]["capacity_mAh_cm2"] / run_info["usable_capacity_mAh_cm2"])
    assert facts["run"]["stop_reason"] == run_info["summary"]["stop_reason"]
    pcsv = (tmp_path / "run" / "discharge" / "particles.csv").read_text().splitlines()
    first = dict(zip(pcsv[0].split(","), pcsv[1].split(","), strict=True))
    row = (d.columns["particle_id"] == int(first["particle_id"])) & (d.columns["dod"] == 0.5)
    assert d.target()[row][0] == pytest.approx(float(first["sod_dod50"]))
    model = tmp_path / "m"
    r = subprocess.run([exe, "surrogate", "train", str(FIXTURE), "-o", str(model),
                        "--no-shap"], check=True, capture_output=True, text=True)
    assert "grouped CV" in r.stdout
    r = subprocess.run([exe, "surrogate", "predict", str(model), str(tmp_path / "run"),
                        "-o", str(tmp_path / "pred.csv")], check=True, capture_output=True,
                       text=True)
    pred = Dataset.read(tmp_path / "pred.csv")
    assert len(pred) == 8 * 4 and np.isfinite(pred.target()).all()
