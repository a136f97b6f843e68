"""`electrode3d study rate-capability`: the study file, the layer analysis (paper 003 eq. 3,
7-8) and a two-electrode study end to end."""

import csv
import dataclasses
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from electrode3d.cli import main
from electrode3d.pipeline import ConfigError
from electrode3d.studies.rate_analysis import (
    AnalysisError,
    analyse,
    heterogeneity,
    layer_utilisation,
    psi_from_standalones,
)
from electrode3d.studies.rate_capability import RateStudy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LATTICE = ('{{ kind = "sphere_lattice", radius_um = 3.0, counts = [1, 1, 4], '
           'spacing_um = {s} }}')
MESH = '{ route = "voxel", voxel_size_um = 0.75, separator_um = 3.0 }'
# two overlapping-sphere stacks (spacings 5.4 and 5.7 um), 1C and 4C to 3.5 V, at the dense
# stack's currents: ~40 s
STUDY = f"""
[study]
c_rates = [1.0, 4.0]
cutoff_V = 3.5
reference = "dense"
current_basis = "reference"
report_dod = [0.5]

[electrode.dense]
structure = {LATTICE.format(s=5.4)}
mesh = {MESH}

[electrode.open]
structure = {LATTICE.format(s=5.7)}
mesh = {MESH}
"""


def _study(text: str):
    return RateStudy.from_dict(tomllib.loads(text))


def test_study_file_is_checked_with_named_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'c_rate' in \\[study\\]; did you mean "
                                          "'c_rates'"):
        _study(STUDY.replace("c_rates", "c_rate"))
    with pytest.raises(ConfigError, match="reference 'mono' is not an electrode"):
        _study(STUDY.replace('reference = "dense"', 'reference = "mono"'))
    with pytest.raises(ConfigError, match="give positive C-rates"):
        _study(STUDY.replace("[1.0, 4.0]", "[1.0, -4.0]"))
    with pytest.raises(ConfigError, match="repeat a rate"):
        _study(STUDY.replace("[1.0, 4.0]", "[1.0, 1.0]"))
    with pytest.raises(ConfigError, match="current_basis must be 'own' or 'reference'"):
        _study(STUDY.replace('current_basis = "reference"', 'current_basis = "mine"'))
    with pytest.raises(ConfigError, match="unknown key 'mesh_size' in \\[electrode.open\\]"):
        _study(STUDY + "mesh_size = 2\n")
    bad = STUDY.replace(f"[electrode.open]\nstructure = {LATTICE.format(s=5.7)}\nmesh = {MESH}",
                        f"[electrode.open]\nstructure = {LATTICE.format(s=5.7)}\n"
                        "mesh = { route = 'tets' }")
    with pytest.raises(ConfigError, match="\\[electrode.open\\]: mesh route must be one of"):
        _study(bad)
    with pytest.raises(ConfigError, match="standalone 'alone' must name another electrode"):
        _study(STUDY + 'standalone = ["dense", "alone"]\n')
    with pytest.raises(ConfigError, match="config .*missing.toml' does not exist"):
        _study(STUDY + 'config = "missing.toml"\n')
    with pytest.raises(ConfigError, match="needs at least one \\[electrode"):
        _study("[study]\nc_rates = [1.0]\n")


def test_study_reads_a_run_config_and_overrides_it(tmp_path):
    (tmp_path / "run.toml").write_text("[structure]\nkind = \"single_sphere\"\n"
                                       "[mesh]\nroute = \"voxel\"\nvoxel_size_um = 1.0\n"
                                       "[experiment]\nc_rate = 2.0\n")
    (tmp_path / "s.toml").write_text(
        '[study]\nc_rates = [0.5, 1.0]\n'
        '[defaults]\nmesh = { voxel_size_um = 0.75, separator_um = 4.0 }\n'
        'parameters = { active_material = "NMC622_MSMR" }\n'
        '[electrode.a]\nconfig = "run.toml"\nmesh = { voxel_size_um = 0.5 }\n'
        '[electrode.b]\nconfig = "run.toml"\n')
    st = RateStudy.load(tmp_path / "s.toml")
    a, b = (e.config for e in st.electrodes)
    assert a.structure["kind"] == "single_sphere"
    # config file < [defaults] < the electrode's own tables
    assert a.mesh == {"route": "voxel", "voxel_size_um": 0.5, "separator_um": 4.0}
    assert b.mesh == {"route": "voxel", "voxel_size_um": 0.75, "separator_um": 4.0}
    assert a.parameters == b.parameters == {"active_material": "NMC622_MSMR"}
    cfg = a
    assert cfg.experiment == {}  # the study's rates and cut-off govern


def _particles(v, z, sod):
    return [{"volume_m3": a, "centroid_z_m": b, "sod_end": c} for a, b, c in
            zip(v, z, sod, strict=True)]


def test_layer_utilisation_is_the_volume_weighted_sod():
    p = _particles([1.0, 3.0, 2.0, 2.0], [1.0, 2.0, 6.0, 8.0], [0.2, 0.6, 0.9, 0.7])
    lay = layer_utilisation(p, z_split=5.0)
    assert lay["utilisation_bottom"] == pytest.approx((0.2 + 1.8) / 4)
    assert lay["utilisation_top"] == pytest.approx(0.8)
    assert lay["omega_bottom"] == pytest.approx(0.5)
    assert lay["utilisation"] == pytest.approx((0.2 + 1.8 + 1.8 + 1.4) / 8)
    assert lay["psi"] == pytest.approx(0.5 / 1.3)  # the top layer is used more: psi < 0.5
    one_sided = layer_utilisation(p, z_split=10.0)  # no top layer: its figures are NaN
    assert np.isnan(one_sided["utilisation_top"]) and np.isnan(one_sided["psi"])
    assert one_sided["utilisation"] == pytest.approx(lay["utilisation"])
    with pytest.raises(AnalysisError, match="no particle with a volume"):
        layer_utilisation([], z_split=1.0)


def test_eq7_eq8_forms_agree():
    rng = np.random.default_rng(0)
    for _ in range(20):
        q1, q2 = rng.uniform(80, 200, 2)
        w1 = rng.uniform(0.2, 0.8)
        u2 = rng.uniform(0.5, 1.5)
        qt = w1 * q1 + (1 - w1) * u2 * q2  # eq. 7 with u1 = 1
        est = psi_from_standalones(qt, q1, q2, w1, 1 - w1)
        assert est["u2_eq7"] == pytest.approx(u2, rel=1e-12)
        assert est["psi_eq8"] == pytest.approx(q1 / (u2 * q2 + q1), rel=1e-12)  # first form
    # identical layers used alike: psi = 1/2
    assert psi_from_standalones(150.0, 150.0, 150.0, 0.4, 0.6)["psi_eq8"] == pytest.approx(0.5)


def test_heterogeneity_factor_of_the_paper003_bilayer():
    """f_c = 4 % at the collector and 1 % on top with equal AM: delta = 0.6 (paper 003)."""
    from mesostructure import Layer, Microstructure, Spheres
    from mesostructure.recipe import read_toml

    src = read_toml(EXAMPLES / "recipes" / "paper003_bilayer_fc1_4_fc2_1.toml")
    ms = Microstructure(box=(4e-5, 4e-5, 6e-5), particles=Spheres([[2e-5, 2e-5, 1e-5]], [5e-6]),
                        layers=[Layer("carbon-rich", 0.0, 3e-5), Layer("carbon-poor", 3e-5, 6e-5)],
                        metadata={"recipe": src})
    p = _particles([2.0, 2.0], [1e-5, 5e-5], [0.5, 0.5])
    assert heterogeneity(ms, p, 3e-5) == pytest.approx(0.6)
    # the AM mass shares weight it: 3:1 towards the carbon-rich layer
    p = _particles([3.0, 1.0], [1e-5, 5e-5], [0.5, 0.5])
    ft = 0.75 * 0.04 + 0.25 * 0.01
    assert heterogeneity(ms, p, 3e-5) == pytest.approx(
        0.75 * abs(0.04 - ft) / ft + 0.25 * abs(0.01 - ft) / ft)


@pytest.mark.verification
def test_two_electrode_study_end_to_end(tmp_path):
    pytest.importorskip("dolfinx_solver")
    (tmp_path / "s.toml").write_text(STUDY)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["study", "rate-capability", str(tmp_path / "s.toml"),
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "constructive vs dense" in r.output or "destructive vs dense" in r.output
    for f in ("rate_capability.csv", "summary.json", "comparison.csv", "sod_depth.csv",
              "rate_capability.png", "sod_depth.png", "info.json", "dense/structure.h5",
              "open/discharge_4C/particles.csv", "open/electrode.json"):
        assert (out / f).exists(), f
    with open(out / "rate_capability.csv") as f:
        rows = list(csv.DictReader(f))
    by = {(r["electrode"], float(r["c_rate"])): {k: _num(v) for k, v in r.items()}
          for r in rows}
    for name in ("dense", "open"):
        lo, hi = by[(name, 1.0)], by[(name, 4.0)]
        for r in (lo, hi):
            # lithium: the charge passed equals the lithium the particles took up
            assert r["utilisation_from_particles"] == pytest.approx(r["utilisation"], rel=1e-5)
            assert r["stop_reason"] == "cutoff"
        assert hi["capacity_mAh_cm2"] < lo["capacity_mAh_cm2"]
        # at 4C the electrolyte limits: the half near the separator is used more
        assert hi["psi"] < 0.5 and hi["psi"] < lo["psi"]
    # current_basis = reference: both electrodes at the dense one's currents
    for c in (1.0, 4.0):
        assert by[("open", c)]["current_density_mA_cm2"] == pytest.approx(
            by[("dense", c)]["current_density_mA_cm2"], rel=1e-9)
    summary = json.loads((out / "summary.json").read_text())
    fits = summary["fits"]
    g = {n: fits[n]["energy"]["gamma"] for n in ("dense", "open")}
    assert all(0 < v < 1 for v in g.values())
    assert fits["open"]["versus_reference"]["verdict"] == (
        "constructive" if g["open"] > g["dense"] else "destructive")
    with open(out / "comparison.csv") as f:
        comp = list(csv.DictReader(f))
    assert float(comp[1]["capacity_ratio"]) == pytest.approx(
        by[("open", 4.0)]["capacity_mAh_cm2"] / by[("dense", 4.0)]["capacity_mAh_cm2"])
    assert all(c["both_at_cutoff"] == "True" for c in comp)
    assert summary["not_at_cutoff"] == []
    assert all(c["both_within_capacity"] == "True" for c in comp)
    assert summary["overfull"] == []

    # the analysis reads the folders only: eq. 7-8 against standalones, without re-running
    st = _study(STUDY)
    st = dataclasses.replace(st, electrodes=(st.electrodes[0], dataclasses.replace(
        st.electrodes[1], standalone=("dense", "dense"))))
    analyse(out, st)
    with open(out / "layers_eq7.csv") as f:
        eq7 = list(csv.DictReader(f))
    assert len(eq7) == 2
    for e in eq7:
        o, d = by[("open", float(e["c_rate"]))], by[("dense", float(e["c_rate"]))]
        assert float(e["u1_measured"]) == pytest.approx(o["utilisation_bottom"]
                                                        / d["utilisation"], rel=1e-6)
        assert float(e["psi_eq8"]) == pytest.approx(psi_from_standalones(
            o["capacity_mAh_g"], d["capacity_mAh_g"], d["capacity_mAh_g"], o["omega_bottom"],
            1 - o["omega_bottom"])["psi_eq8"], rel=1e-6)

    # a run that stopped before the cut-off (here: said to) is flagged, not compared silently
    info_path = out / "dense" / "discharge_4C" / "info.json"
    text = info_path.read_text()
    info = json.loads(text)
    info["summary"]["stop_reason"] = "wall"
    info_path.write_text(json.dumps(info))
    flagged = analyse(out, st)
    assert flagged["not_at_cutoff"] == [{"electrode": "dense", "c_rate": 4.0,
                                         "stop_reason": "wall"}]
    with open(out / "comparison.csv") as f:
        assert [c["both_at_cutoff"] for c in csv.DictReader(f)] == ["True", "False"]
    # ... and so is a run in which a node passed x = 1 (lithium beyond capacity counted)
    info["summary"].update(stop_reason="cutoff", max_stoichiometry=1.2)
    info_path.write_text(json.dumps(info))
    flagged = analyse(out, st)
    assert flagged["not_at_cutoff"] == []
    assert flagged["overfull"] == [{"electrode": "dense", "c_rate": 4.0,
                                    "max_stoichiometry": 1.2}]
    with open(out / "comparison.csv") as f:
        assert [c["both_within_capacity"] for c in csv.DictReader(f)] == ["True", "False"]
    info_path.write_text(text)

    # run again: the discharges are read back from their checkpoints, results identical
    r = CliRunner().invoke(main, ["study", "rate-capability", str(tmp_path / "s.toml"),
                                  "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "summary.json").read_text())["fits"]["dense"] == fits["dense"]


def test_study_cli_names_a_bad_file(tmp_path):
    (tmp_path / "s.toml").write_text(STUDY.replace("cutoff_V", "cut_off"))
    r = CliRunner().invoke(main, ["study", "rate-capability", str(tmp_path / "s.toml"),
                                  "-o", str(tmp_path / "o")])
    assert r.exit_code != 0
    assert "unknown key 'cut_off' in [study]" in r.output
    assert not (tmp_path / "o").exists()  # nothing started


def _num(v):
    try:
        return float(v)
    except ValueError:
        return v
