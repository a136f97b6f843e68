"""Paper 004 (Chouchane et al.), Fig. 3: a monolayer NMC811 electrode against the bilayer
whose bottom half holds 25 wt % of shrunk particles, at the monolayer's 1C current density
(paper: +11 % capacity for the bilayer). Full size (30 x 30 x 150 um, CGAL 1.5/4 um, ~20 min
per discharge on 2 cores):

    mpirun -n 4 python examples/paper004_bilayer.py -o p004

Reduced size (a smoke test, a couple of minutes on one core; the numbers mean little):

    python examples/paper004_bilayer.py -o p004-small --reduced
"""

import argparse
from pathlib import Path

import dolfinx_solver  # noqa: F401  (before petsc4py / dolfinx)
from mpi4py import MPI

from electrode3d.studies.rate_capability import RateStudy, run_rate_study

STUDY = Path(__file__).parent / "configs" / "paper004_bilayer_study.toml"
REDUCED = {"structure": {"thickness_um": 40.0},
           "mesh": {"route": "voxel", "voxel_size_um": 2.0, "separator_um": 6.0}}


def main(output: str, reduced: bool = False, overrides: dict | None = None) -> dict:
    """Run the study (``reduced``: small electrodes; ``overrides``: further changes, as
    ``RateStudy.with_overrides`` takes them)."""
    comm = MPI.COMM_WORLD
    study = RateStudy.load(STUDY)
    if reduced:
        study = study.with_overrides(**REDUCED)
    if overrides:
        study = study.with_overrides(**overrides)
    summary = run_rate_study(study, output, comm, echo=print if comm.rank == 0 else None)
    if comm.rank == 0:
        import csv

        with open(Path(output) / "comparison.csv") as f:
            for r in csv.DictReader(f):
                note = "" if r["both_at_cutoff"] == "True" else \
                    " (a run stopped before the cut-off: see summary.json, not_at_cutoff)"
                if r["both_within_capacity"] != "True":
                    note += " (a node passed x = 1: see summary.json, overfull)"
                print(f"{r['electrode']} / monolayer at {r['c_rate']}C: capacity x "
                      f"{float(r['capacity_ratio']):.3f} (paper 004: x 1.11){note}")
    return summary


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--reduced", action="store_true", help="a small electrode (smoke test)")
    a = ap.parse_args()
    main(a.output, a.reduced)
