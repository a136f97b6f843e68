"""`electrode3d study property-map` (paper 002): the calendering laws, the study file's
errors, a tiny study end to end (physics trends, MacMullin per row, the fit and the maps) and
resuming a killed study."""

import csv
import json
import math
import tomllib

import pytest
from click.testing import CliRunner

from electrode3d.cli import main
from electrode3d.pipeline import ConfigError
from electrode3d.studies.property_analysis import AnalysisError, analyse
from electrode3d.studies.property_map import (
    PropertyMapStudy,
    meyer_porosity,
    run_property_map,
    solid_conserving_thickness_ratio,
    volume_calendering,
)

# 14 x 14 um boxes at 0.75 um, particles 3-9 um, bridges: ~1 s per structure
RECIPE = """
seed = 1
[box]
size_um = [14.0, 14.0]
thickness_um = 20.0
voxel_size_um = 0.75
max_overlap = 0.2
[electrode]
porosity = 0.45
composition_wt = { active = 94.0, carbon = 4.0, binder = 2.0 }
psd = { d50_um = 5.0, sigma = 0.2, d_min_um = 3.0, d_max_um = 8.0 }
cbd = { morphology = "bridges", nanoporosity = 0.5 }
[[layer]]
name = "electrode"
"""
STUDY = """
[study]
recipe = "tiny.toml"
seeds = 2
[grid]
am_wt = [92.0, 96.0]
eps_init = [0.46]
calendering_degree = [0.0, 0.1, 0.2]
[fit]
model = "polynomial_ridge"
cv_folds = 3
"""
MEYER = """
[study]
recipe = "tiny.toml"
seeds = 1
[grid]
am_wt = [94.0]
eps_init = [0.42, 0.48]
pressure_MPa = [0.0, 50.0, 170.0]
[calendering]
law = "meyer"
eps_min = 0.25
gamma_c_MPa = 50.0
"""


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "tiny.toml").write_text(RECIPE)
    return tmp_path


def _study(folder, text=STUDY):
    return PropertyMapStudy.from_dict(tomllib.loads(text), base=folder)


def test_volume_law_conserves_the_solids_exactly(folder):
    eps, ratio = volume_calendering(0.46, 0.2)
    assert ratio == 0.8 and eps == pytest.approx(1 - 0.54 / 0.8, abs=1e-15)
    assert (1 - eps) * ratio == pytest.approx(1 - 0.46, rel=1e-15)
    study = _study(folder)
    assert study.thickness_init_um == 20.0  # the recipe's, as the study gives none
    for c in study.conditions():
        # solid volume per area (1 - eps) L is conserved; the lateral size is kept
        assert (1 - c.eps_cal) * c.thickness_cal_um == pytest.approx(
            (1 - c.eps_init) * study.thickness_init_um, rel=1e-14)
        r = study.recipe_for(c, 3)
        assert r["box"]["size_um"] == [14.0, 14.0] and r["seed"] == 3
        comp = r["electrode"]["composition_wt"]
        assert comp["active"] == c.am_wt and comp["carbon"] == pytest.approx(2 * comp["binder"])
        assert sum(comp.values()) == pytest.approx(100.0)


def test_meyer_law_at_known_points(folder):
    assert meyer_porosity(0.48, 0.0, 0.25, 50.0) == 0.48
    assert meyer_porosity(0.48, 50.0, 0.25, 50.0) == pytest.approx(0.25 + 0.23 / math.e)
    assert meyer_porosity(0.48, 50.0 * math.log(2), 0.25, 50.0) == pytest.approx(0.365)
    assert meyer_porosity(0.48, 1e4, 0.25, 50.0) == pytest.approx(0.25)
    assert solid_conserving_thickness_ratio(0.5, 0.25) == pytest.approx(2 / 3)
    study = _study(folder, MEYER)
    c = next(c for c in study.conditions() if c.eps_init == 0.42 and c.x == 170.0)
    assert c.eps_cal == pytest.approx(0.25 + 0.17 * math.exp(-3.4))
    assert c.thickness_cal_um == pytest.approx(20.0 * 0.58 / (1 - c.eps_cal))
    assert c.id == "am94_ei0.42_p170"


@pytest.mark.parametrize("old, new, match", [
    ("seeds = 2", "seed = 2", "unknown key 'seed' in \\[study\\]; did you mean 'seeds'\\?"),
    ("eps_init", "eps_inits", "unknown key 'eps_inits' in \\[grid\\]; did you mean 'eps_init'"),
    ("[fit]", "[fits]", "unknown key 'fits' in the study file; did you mean 'fit'"),
    ("am_wt = [92.0, 96.0]", "am_wt = []", "\\[grid\\] am_wt is empty"),
    ("am_wt = [92.0, 96.0]", "", "\\[grid\\] needs am_wt"),
    ("[0.46]", "[1.2]", "eps_init values must lie in \\(0, 1\\), got \\[1.2\\]"),
    ("[92.0, 96.0]", "[92.0, 92.0]", "am_wt repeats a value"),
    ("[0.0, 0.1, 0.2]", "[0.0, 1.0]", "calendering_degree values must lie in \\[0, 1\\)"),
    ("[0.0, 0.1, 0.2]", "[0.0, 0.45]",
     "condition am_wt = 92, eps_init = 0.46, calendering_degree = 0.45: the calendered "
     "porosity 0.01818 is not above min_porosity 0.05"),
    ("[0.0, 0.1, 0.2]", "[0.0, 0.36]",
     "condition am_wt = 92, eps_init = 0.46, calendering_degree = 0.36 \\(eps_cal = 0.1562.*"
     "exceeds the packing limit"),
    ("seeds = 2", "seeds = 0", "\\[study\\] seeds must be a positive integer, got 0"),
    ('"tiny.toml"', '"missing.toml"', "recipe '.*missing.toml' does not exist"),
    ("calendering_degree", "pressure_MPa",
     "\\[grid\\] pressure_MPa belongs to law 'meyer'; law 'volume' takes calendering_degree"),
    ("[fit]", "[calendering]\nlaw = 'volum'\n[fit]",
     "law 'volum' is not one of \\('volume', 'meyer'\\); did you mean 'volume'"),
    ('model = "polynomial_ridge"', 'model = "gp"', "\\[fit\\] model 'gp' is not one of"),
    ("cv_folds = 3", "cv_folds = 1", "cv_folds must be an integer >= 2"),
])
def test_study_file_errors_are_named(folder, old, new, match):
    assert old in STUDY
    with pytest.raises(ConfigError, match=match):
        _study(folder, STUDY.replace(old, new))


def test_meyer_law_needs_its_constants(folder):
    with pytest.raises(ConfigError, match="law 'meyer' needs eps_min and gamma_c_MPa, fitted to "
                                          "compaction experiments \\(there are no defaults\\)"):
        _study(folder, MEYER.replace("gamma_c_MPa = 50.0", ""))
    with pytest.raises(ConfigError, match="eps_min must lie in \\[0, min\\(eps_init\\) = 0.42\\)"):
        _study(folder, MEYER.replace("eps_min = 0.25", "eps_min = 0.45"))
    with pytest.raises(ConfigError, match="gamma_c_MPa must be positive"):
        _study(folder, MEYER.replace("gamma_c_MPa = 50.0", "gamma_c_MPa = -1"))
    with pytest.raises(ConfigError, match="eps_min and gamma_c_MPa belong to law 'meyer'"):
        _study(folder, STUDY + "[calendering]\neps_min = 0.2\n")
    two = RECIPE + '[[layer]]\nname = "top"\n'
    (folder / "tiny.toml").write_text(two)
    with pytest.raises(ConfigError, match="has 2 layers; property maps take a single-layer"):
        _study(folder)


def _csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny study (6 conditions x 2 seeds) run once through the CLI: ~15 s."""
    out = tmp_path_factory.mktemp("pmap")
    (out / "tiny.toml").write_text(RECIPE)
    (out / "study.toml").write_text(STUDY)
    r = CliRunner().invoke(main, ["study", "property-map", str(out / "study.toml"), "-o",
                                  str(out / "run")])
    assert r.exit_code == 0, r.output
    return out, r.output


def test_tiny_study_end_to_end(tiny_run):
    out, text = tiny_run
    run = out / "run"
    assert "12 computed, 0 read back, 0 failed" in text
    rows = _csv(run / "structures.csv")
    data = _csv(run / "dataset.csv")
    assert len(rows) == 12 and len(data) == 6
    for r in rows:  # MacMullin, paper 002 eq. 1, exactly per row
        eps, tf = float(r["porosity"]), float(r["tau_factor_liquid"])
        assert float(r["sigma_eff_S_m"]) == 1.119 * eps / tf
        assert float(r["tau_liquid"]) == math.sqrt(tf)
        assert float(r["porosity"]) == pytest.approx(float(r["eps_cal"]), abs=0.012)
        assert 0 < float(r["active_surface_pct"]) < 100
    for am in ("92.0", "96.0"):
        d = sorted((r for r in data if r["am_wt"] == am),
                   key=lambda r: float(r["calendering_degree"]))
        eps = [float(r["eps_cal"]) for r in d]
        tau = [float(r["tau_factor_liquid_mean"]) for r in d]
        sig = [float(r["sigma_eff_S_m_mean"]) for r in d]
        assert eps == sorted(eps, reverse=True)  # calendering lowers the porosity ...
        assert tau[-1] > tau[0]  # ... and raises the liquid tortuosity factor
        assert sig[-1] < sig[0]
    assert float(data[0]["tau_factor_liquid_std"]) > 0  # two different seeds
    fit = json.loads((run / "fit.json").read_text())
    assert fit["model"] == "polynomial_ridge"
    assert fit["inputs"] == ["am_wt", "eps_init", "calendering_degree"]
    p = fit["properties"]["tau_factor_liquid"]
    assert p["n_train"] == 4 and p["test"]["n"] == 2 and p["cv"]["folds"] == 3
    for name in ("tau_liquid.png", "tau_solid.png", "cc_coverage_cbd_pct.png",
                 "active_surface_pct.png", "porosity_calendering.png",
                 "sigma_eff_vs_porosity.png", "fit_parity.png"):
        assert (run / "maps" / name).stat().st_size > 1000, name
    info = json.loads((run / "info.json").read_text())
    assert info["command"] == "study property-map" and info["wall_time_s"] > 0
    assert info["results"]["structures"]["computed"] == 12
    assert "held-out accuracy" in text and "tau_solid" in text


def test_killed_study_resumes(tiny_run):
    out, _ = tiny_run
    run = out / "run"
    study = PropertyMapStudy.load(out / "study.toml")
    records = sorted((run / "structures").glob("*.json"))
    assert len(records) == 12
    stamp = {p: p.stat().st_mtime_ns for p in records}
    records[3].unlink()  # killed before this one was written
    (run / "structures" / (records[5].name + ".part")).write_text("{")  # or while writing
    s = run_property_map(study, run, plots=False)
    assert s["structures"] == {"computed": 1, "reused": 11, "failed": 0}
    assert all(p.stat().st_mtime_ns == stamp[p] for p in records if p != records[3])
    # a record from another recipe (here: another box) is not reused
    small = study.with_overrides(study={"box_um": [13.0, 13.0]}, grid={"am_wt": [92.0],
                                                                      "calendering_degree":
                                                                      [0.0, 0.2]})
    with pytest.raises(AnalysisError, match="missing or was computed from another recipe"):
        analyse(run, small)


@pytest.mark.slow
def test_fresh_recomputes_everything(tiny_run):
    out, _ = tiny_run
    r = CliRunner().invoke(main, ["study", "property-map", str(out / "study.toml"), "-o",
                                  str(out / "run"), "--fresh"])
    assert r.exit_code == 0, r.output
    assert "12 computed, 0 read back" in r.output


@pytest.mark.mpi
def test_structures_are_shared_between_ranks(tmp_path_factory):
    """Under mpirun -n 2 the structures are dealt to the ranks; every rank gets the summary
    and the tables equal a serial run's."""
    MPI = pytest.importorskip("mpi4py.MPI")
    comm = MPI.COMM_WORLD
    tmp = comm.bcast(tmp_path_factory.mktemp("pmap_mpi") if comm.rank == 0 else None, root=0)
    if comm.rank == 0:
        (tmp / "tiny.toml").write_text(RECIPE)
    comm.barrier()
    study = _study(tmp, STUDY.replace("seeds = 2", "seeds = 1"))
    par = run_property_map(study, tmp / "par", comm, plots=False)
    assert par["structures"] == {"computed": 6, "reused": 0, "failed": 0}
    assert len(set(comm.allgather(json.dumps(par["fit"], sort_keys=True)))) == 1
    if comm.rank == 0:
        run_property_map(study, tmp / "ser", plots=False)
        assert _csv(tmp / "par" / "dataset.csv") == _csv(tmp / "ser" / "dataset.csv")
    comm.barrier()
