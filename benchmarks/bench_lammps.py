"""Wall time and steps/s of each LAMMPS manufacturing stage vs particle count.

    .venv/bin/python benchmarks/bench_lammps.py [--sizes 12,40,155] [--steps 2000] [-n 1]

Each size is examples/recipes/manufacture_paper000.toml (26.7 x 26.7 um^2, its particle sizes
and time steps) with n_am AM and paper 000's CBD/AM ratio (5821/155): a thinner film.
Every stage runs ``--steps`` steps (drying in 10 chunks, calendering split 3:1
compression:hold); the figures let you size a full run:
time = steps / (steps/s). Rates come from LAMMPS's "Loop time" lines, so a stage that ran before
a failure is still reported (the failure is printed).
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
import tomllib
from pathlib import Path

from lammps_bridge.chain import STAGES, run_chain
from lammps_bridge.recipe import parse_manufacture_recipe
from lammps_bridge.runner import LammpsRunError

RECIPE = Path(__file__).resolve().parents[1] / "examples/recipes/manufacture_paper000.toml"


def _loop_times(log: Path) -> tuple[int, float]:
    """Steps and seconds summed over the ``Loop time of T on P procs for S steps`` lines."""
    steps, secs = 0, 0.0
    if log.exists():
        for m in re.finditer(r"Loop time of ([0-9.eE+-]+) on \d+ procs for (\d+) steps",
                             log.read_text()):
            secs += float(m.group(1))
            steps += int(m.group(2))
    return steps, secs


def bench(n_am: int, steps: int, nprocs: int) -> dict:
    n_cbd = round(n_am * 5821 / 155)
    data = tomllib.loads(RECIPE.read_text())
    data["system"].update(n_am=n_am, n_cbd=n_cbd)
    data["slurry"]["steps"] = steps
    data["drying"].update(steps=steps, chunks=10, equilibration_steps=0)
    data["calendering"].update(compression_steps=3 * steps // 4, hold_steps=steps // 4)
    rec = parse_manufacture_recipe(data)
    error = None
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        try:
            run_chain(rec, tmp, nprocs=nprocs)
        except LammpsRunError as e:
            error = str(e).splitlines()[0][:160]
        total = time.perf_counter() - t0
        stages = {st: _loop_times(Path(tmp) / st / f"{st}.log") for st in STAGES}
    return {"n_cbd": n_cbd, "stages": stages, "total": total, "error": error}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="12,40,155", help="AM counts, comma separated")
    ap.add_argument("--steps", type=int, default=2000, help="steps per stage")
    ap.add_argument("-n", "--nprocs", type=int, default=1, help="MPI ranks (mpiexec if > 1)")
    args = ap.parse_args()
    print(f"{'n_am':>5} {'n_cbd':>6} {'stage':>12} {'steps':>7} {'wall_s':>8} {'steps/s':>9}")
    for n_am in (int(s) for s in args.sizes.split(",")):
        r = bench(n_am, args.steps, args.nprocs)
        for stage, (n, wall) in r["stages"].items():
            if n:
                print(f"{n_am:>5} {r['n_cbd']:>6} {stage:>12} {n:>7} {wall:>8.2f} "
                      f"{n / wall:>9.1f}", flush=True)
        print(f"{n_am:>5} {r['n_cbd']:>6} {'chain total':>12} {'':>7} {r['total']:>8.2f}",
              flush=True)
        if r["error"]:
            print(f"      FAILED: {r['error']}", flush=True)


if __name__ == "__main__":
    main()
