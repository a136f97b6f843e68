"""Generate + characterise a 50 x 50 x 100 um electrode at 0.5 um voxels (2 M voxels).

Prints the wall time of each stage: generation, the paper 002 metric set (tau of the pore,
electrolyte and solid media through-plane, sigma_eff, areas, coverage) and the full default set
(+ per-particle features with a 10-plane separator-to-plane tortuosity profile).

    .venv/bin/python benchmarks/bench_generate_characterize.py
"""

import os
import time

from mesostructure import CharacterizationOptions, characterize, generate, parse_recipe

RECIPE = {
    "seed": 11,
    "box": {"size_um": [50.0, 50.0], "thickness_um": 100.0, "voxel_size_um": 0.5},
    "electrode": {
        "porosity": 0.40,
        "composition_wt": {"active": 94.0, "carbon": 3.0, "binder": 3.0},
        "density_g_cm3": {"active": 4.7, "carbon": 1.9, "binder": 1.78},
        "psd": {"d50_um": 10.0, "sigma": 0.3, "d_min_um": 4.0, "d_max_um": 20.0},
        "cbd": {"morphology": "bridges", "nanoporosity": 0.5},
    },
    "layer": [{"name": "electrode"}],
}


def main() -> None:
    print(f"cores: {os.cpu_count()}")
    t0 = time.perf_counter()
    ms = generate(parse_recipe(RECIPE))
    t_gen = time.perf_counter() - t0
    print(f"generate: {len(ms.particles)} particles, {len(ms.cbd_capsules)} CBD bridges, "
          f"{t_gen:.1f} s")
    t = time.perf_counter()
    m = characterize(ms, 0.5e-6, CharacterizationOptions(per_particle=False))
    t_002 = time.perf_counter() - t
    tau = {k: round(v["tortuosity_factor"], 3) for k, v in m.scalars["tortuosity"].items()}
    print(f"characterise, paper 002 set: {t_002:.1f} s  tau {tau}")
    print(f"generate + characterise (paper 002 set): {t_gen + t_002:.1f} s (target <= 10 s)")
    t = time.perf_counter()
    m = characterize(ms, 0.5e-6)
    t_full = time.perf_counter() - t
    print(f"characterise, full default set ({len(m.particles)} particles, 10 planes): "
          f"{t_full:.1f} s")


if __name__ == "__main__":
    main()
