"""Paper 002 (Duquesnoy et al.), Figs 4-9: process -> property maps of calendered NMC111
cathodes. Every condition (AM wt %, porosity before calendering, calendering degree) is
generated with several seeds and characterised; the averages are fitted and mapped.

Full size (4 x 4 x 6 conditions x 10 seeds of 50 x 50 x 100 um at 0.5 um; a long job, see
docs/studies.md for the measured cost per structure):

    python examples/paper002_property_maps.py -o p002

Reduced (16 x 16 x 24 um boxes at 0.75 um, 2 seeds, a 2 x 2 x 2 grid; well under a minute on
one core; the numbers mean little):

    python examples/paper002_property_maps.py -o p002-small --reduced
"""

import argparse
from pathlib import Path

from electrode3d.studies.property_map import PropertyMapStudy, run_property_map

STUDY = Path(__file__).parent / "configs" / "paper002_property_map.toml"
REDUCED = {"study": {"box_um": [16.0, 16.0], "thickness_init_um": 24.0, "voxel_size_um": 0.75,
                     "seeds": 2},
           "grid": {"am_wt": [93.0, 96.0], "eps_init": [0.42, 0.48],
                    "calendering_degree": [0.0, 0.2]}}


def main(output: str, reduced: bool = False, overrides: dict | None = None) -> dict:
    """Run the study (``reduced``: small boxes, few conditions; ``overrides``: further table
    changes, as ``PropertyMapStudy.with_overrides`` takes them)."""
    study = PropertyMapStudy.load(STUDY)
    if reduced:
        study = study.with_overrides(**REDUCED)
    if overrides:
        study = study.with_overrides(**overrides)
    summary = run_property_map(study, output, echo=print)
    for prop in ("tau_liquid", "tau_solid", "sigma_eff_S_m", "cc_coverage_am_pct",
                 "cc_coverage_cbd_pct", "active_surface_pct"):
        f = summary["fit"][prop]
        if "skipped" in f:
            print(f"{prop}: not fitted ({f['skipped']})")
        else:
            test, cv = (("n/a" if v is None else f"{v:.1f}")
                        for v in (f["test_accuracy_pct"], f["cv_accuracy_pct"]))
            print(f"{prop}: held-out accuracy {test} %, k-fold CV {cv} % (paper 002: > 97 %, "
                  "CC-AM ~76 %)")
    return summary


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--reduced", action="store_true", help="small boxes, few conditions")
    a = ap.parse_args()
    main(a.output, a.reduced)
