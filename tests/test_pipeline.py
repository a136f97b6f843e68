"""`electrode3d run` / `discharge`: the config schema, the rate-capability fit, the chain."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from electrode3d.cli import main
from electrode3d.pipeline import ConfigError, RunConfig, peukert_fit, sphere_lattice


def test_config_refuses_unknown_keys_with_a_hint():
    with pytest.raises(ConfigError, match="unknown key 'c_rat' in \\[experiment\\]; did you "
                                          "mean 'c_rate'"):
        RunConfig.from_dict({"structure": {"kind": "single_sphere"},
                             "experiment": {"c_rat": 1}})
    with pytest.raises(ConfigError, match="unknown structure kind 'sphere'"):
        RunConfig.from_dict({"structure": {"kind": "sphere"}})
    with pytest.raises(ConfigError, match="not both"):
        RunConfig.from_dict({"structure": {}, "experiment": {"c_rate": 1,
                                                             "current_density_mA_cm2": 2}})


def test_model_options_reach_the_discharge():
    from electrode3d.pipeline import discharge_options

    cfg = RunConfig.from_dict({"structure": {"kind": "single_sphere"},
                               "model": {"lumped": True, "cbd_reactive": True}})
    opts = discharge_options(cfg)
    assert opts["lumped"] is True and opts["cbd_reactive"] is True
    assert discharge_options(RunConfig.from_dict(
        {"structure": {"kind": "single_sphere"}}))["lumped"] is False


def test_peukert_fit_recovers_the_law():
    current = np.array([0.1, 0.2, 0.5, 1.0, 2.0])
    fit = peukert_fit(current, 5.0 * current**-0.12)
    assert fit["alpha"] == pytest.approx(0.12, rel=1e-9)
    assert fit["beta"] == pytest.approx(5.0, rel=1e-9)
    assert fit["gamma"] == pytest.approx(2**-0.12, rel=1e-9)  # per doubling of the current


def test_sphere_lattice_overlaps_and_touches_the_collector():
    ms = sphere_lattice(5.0, (2, 2, 3))
    c, r = ms.particles.centres, ms.particles.radii
    assert len(r) == 12
    assert np.all(c[:, 2].min() - r.min() < 0)  # cut by the current collector
    d = np.linalg.norm(c[0] - c[1])
    assert d < 2 * r[0]  # neighbours overlap: electronic paths through the stack


# a 3 um sphere on 0.75 um voxels discharged to 3.9 V: the chain in seconds
SMALL_SPHERE = """
[structure]
kind = "single_sphere"
radius_um = 3.0
[mesh]
route = "voxel"
voxel_size_um = 0.75
separator_um = 3.0
[experiment]
cutoff_V = 3.9
report_dod = [0.1]
fields_dod = []
"""


@pytest.mark.verification
def test_run_single_sphere_chain(tmp_path):
    pytest.importorskip("dolfinx_solver")
    cfg = tmp_path / "c.toml"
    cfg.write_text(SMALL_SPHERE + "c_rate = 2.0\n")
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["run", str(cfg), "-o", str(out)])
    assert r.exit_code == 0, r.output
    for f in ("config.toml", "structure.h5", "mesh/mesh.xdmf", "discharge/discharge.csv",
              "discharge/particles.csv", "discharge/sod_profile.csv", "info.json"):
        assert (out / f).exists(), f
    info = json.loads((out / "discharge" / "info.json").read_text())
    assert info["summary"]["stop_reason"] == "cutoff"
    assert info["summary"]["final_voltage_V"] == pytest.approx(3.9)
    assert info["inputs"]["parameters"]["_citations"]
    # the same command again finds the finished run in its checkpoint and recomputes nothing
    assert (out / "discharge" / "checkpoint" / "state.npz").exists()
    r = CliRunner().invoke(main, ["run", str(cfg), "-o", str(out)])
    assert r.exit_code == 0, r.output
    again = json.loads((out / "discharge" / "info.json").read_text())
    assert again["summary"] == info["summary"]
    assert again["steps"] == info["steps"]
    # another experiment in the same folder is refused, naming what differs
    cfg.write_text(cfg.read_text().replace("cutoff_V = 3.9", "cutoff_V = 3.8"))
    r = CliRunner().invoke(main, ["run", str(cfg), "-o", str(out)])
    assert r.exit_code != 0
    assert "belongs to another run" in r.output and "cutoff_V" in r.output
    r = CliRunner().invoke(main, ["run", str(cfg), "-o", str(out), "--fresh"])
    assert r.exit_code == 0, r.output
    assert json.loads((out / "discharge" / "info.json").read_text())["summary"][
        "final_voltage_V"] == pytest.approx(3.8)


def test_discharge_refuses_bad_input(tmp_path):
    r = CliRunner().invoke(main, ["discharge", str(tmp_path), "-o", str(tmp_path / "o")])
    assert r.exit_code != 0
    assert "cannot read the mesh" in r.output and "no mesh.xdmf" in r.output


@pytest.mark.verification
def test_rate_sweep_end_to_end(tmp_path):
    """A two-rate sweep: capacities fall with the rate and the Peukert fit is written."""
    pytest.importorskip("dolfinx_solver")
    cfg = tmp_path / "c.toml"
    cfg.write_text(SMALL_SPHERE + "[sweep]\nc_rates = [1.0, 4.0]\n")
    out = tmp_path / "run"
    r = CliRunner().invoke(main, ["run", str(cfg), "-o", str(out)])
    assert r.exit_code == 0, r.output
    with open(out / "rate_capability.csv") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["c_rate", "current_density_mA_cm2", "capacity_mAh_cm2",
                             "capacity_mAh_g", "energy_mWh_cm2", "stop_reason"]
    caps = [float(r["capacity_mAh_cm2"]) for r in rows]
    cur = [float(r["current_density_mA_cm2"]) for r in rows]
    assert len(caps) == 2 and caps[1] < caps[0]
    assert cur[1] == pytest.approx(4 * cur[0], rel=1e-9)  # C-rates of the same electrode
    fit = json.loads((out / "rate_capability.json").read_text())
    assert fit["capacity"]["alpha"] > 0 and 0 < fit["capacity"]["gamma"] < 1
    # the fit is exact through two points: beta I^-alpha reproduces both capacities
    for c, i, cap in zip((1.0, 4.0), cur, caps, strict=True):
        b, a = fit["capacity"]["beta"], fit["capacity"]["alpha"]
        assert b * i ** -a == pytest.approx(cap, rel=1e-6)
        info = json.loads((out / f"discharge_{c:g}C" / "info.json").read_text())
        assert info["summary"]["capacity_mAh_cm2"] == pytest.approx(cap, rel=1e-7)
