"""Build the stored per-particle SOD fixture: small stochastic electrodes (different seeds)
discharged at 1C through ``electrode3d run``, turned into ``tests/data/surrogates/dataset.csv``.

Run from the repository root: ``python -m tests.surrogates.make_fixture [--n 5] [--work DIR]``.
Each discharge takes about a minute on one core (58-99 s measured on a shared 2-core machine).
``--reuse-runs`` keeps run folders already in DIR (the discharges are deterministic) and only
rebuilds the dataset, e.g. after a change of the structure features.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from surrogates.dataset import FEATURES

OUT = Path(__file__).resolve().parents[1] / "data" / "surrogates"
VOXEL_UM = 1.5

CBD = ("cbd = {{ morphology = \"fibres\", nanoporosity = 0.5, fibre_length_um = 6.0, "
       "fibre_diameter_um = 1.0 }}\n")

RECIPE = """name = "surrogate-fixture"
seed = {seed}

[box]
size_um = [20.0, 20.0]
thickness_um = 30.0
voxel_size_um = 0.5

[electrode]
porosity = 0.35
composition_wt = {{ active = 93.0, carbon = 5.0, binder = 2.0 }}
density_g_cm3 = {{ active = 4.75, carbon = 2.0, binder = 2.2 }}
psd = {{ d50_um = 6.0, sigma = 0.25, d_min_um = 4.0, d_max_um = 9.0 }}
""" + CBD + """
[[layer]]
name = "electrode"
"""

CONFIG = """[structure]
kind = "recipe"
recipe = "recipe.toml"
seed = {seed}

[mesh]
route = "voxel"
voxel_size_um = {voxel}
separator_um = 6.0

[experiment]
c_rate = 1.0
report_dod = [0.25, 0.5, 0.75]
fields_dod = []
"""


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=5, help="number of electrodes (seeds 1..n)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/electrode3d_surrogate_fixture"))
    ap.add_argument("--reuse-runs", action="store_true",
                    help="keep run folders already in --work; only rebuild the dataset")
    args = ap.parse_args(argv)
    exe = Path(sys.executable).with_name("electrode3d")
    old = json.loads((OUT / "fixture.json").read_text()) if (OUT / "fixture.json").is_file() \
        else {}
    runs, timing, reused = [], {}, []
    for seed in range(1, args.n + 1):
        d = args.work / f"seed{seed}"
        run = d / f"e{seed}"  # the folder name is the electrode's id in the dataset
        runs.append(run)
        if args.reuse_runs and (run / "discharge" / "particles.csv").is_file():
            reused.append(seed)
            timing[f"seed{seed}"] = old.get("run_wall_time_s", {}).get(f"seed{seed}")
            continue
        d.mkdir(parents=True, exist_ok=True)
        (d / "recipe.toml").write_text(RECIPE.format(seed=seed))
        (d / "config.toml").write_text(CONFIG.format(seed=seed, voxel=VOXEL_UM))
        t0 = time.perf_counter()
        subprocess.run([str(exe), "run", str(d / "config.toml"), "-o", str(run)], check=True)
        timing[f"seed{seed}"] = time.perf_counter() - t0
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(exe), "surrogate", "dataset", *map(str, runs), "-o",
                    str(OUT / "dataset.csv"), "--voxel-size-um", str(VOXEL_UM)], check=True)
    prov = {"command": "python -m tests.surrogates.make_fixture " + " ".join(argv or sys.argv[1:]),
            "seeds": list(range(1, args.n + 1)), "recipe_template": RECIPE,
            "config_template": CONFIG, "voxel_size_um": VOXEL_UM, "run_wall_time_s": timing,
            "reused_runs": reused, "features": list(FEATURES),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (OUT / "fixture.json").write_text(json.dumps(prov, indent=2))


if __name__ == "__main__":
    main()
