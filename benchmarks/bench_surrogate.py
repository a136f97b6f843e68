"""Surrogate training time and whole-electrode prediction time on the stored fixture dataset.

    .venv/bin/python benchmarks/bench_surrogate.py [DATASET]

Prediction covers the model call for every particle of one electrode at DoD 25/50/75/100 %
(the structure features are computed once per electrode, separately timed by
bench_generate_characterize.py).
"""

import sys
import time
from pathlib import Path

import numpy as np

from surrogates.dataset import Dataset
from surrogates.models import Surrogate, cross_validate

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "data" / "surrogates" / "dataset.csv"


def main(path: Path = DEFAULT) -> None:
    data = Dataset.read(path).without_cut()
    g = data.groups()
    print(f"{path.name}: {len(data)} rows, {len(set(g.tolist()))} electrodes (cut rows excluded)")
    for kind in ("random_forest", "gradient_boosting"):
        t = time.perf_counter()
        cv = cross_validate(data, kind, seed=0)
        t_cv = time.perf_counter() - t
        t = time.perf_counter()
        model = Surrogate.train(data, kind, seed=0)
        t_train = time.perf_counter() - t
        one = data.select(g == g[0])
        times = []
        for _ in range(5):
            t = time.perf_counter()
            model.predict(one)
            times.append(time.perf_counter() - t)
        print(f"{kind}: grouped CV MAE {cv.overall.mae:.4f}, MRE "
              f"{100 * cv.overall.mean_relative_error:.1f} % (mean baseline MAE "
              f"{cv.overall_baseline.mae:.4f}, per-DoD mean baseline MAE "
              f"{cv.overall_dod_baseline.mae:.4f}); CV {t_cv:.2f} s, train {t_train:.2f} s, "
              f"predict one electrode ({len(one)} rows) {1e3 * np.median(times):.1f} ms")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
