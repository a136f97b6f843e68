"""Paper 003 (Yari et al.), Fig. 3-4: carbon-contrast bilayers (f_c1, f_c2) = (4, 1) and
(1, 4) wt % against the single layer at 2.5 wt %, and the layers alone, each at C/2, 1C, 2C and
3C: Peukert fits of capacity and energy (eq. 6), gamma = 2^-alpha, constructive or destructive
against the single layer (Fig. 3d), layer utilisation and psi measured from the particles and
estimated by eq. 7-8 from the layers alone, delta (eq. 3). Full size (40 x 40 x 60 um, CGAL
1.5/4 um; 5 electrodes x 4 rates, a cluster job):

    mpirun -n 8 python examples/paper003_bilayers.py -o p003

Reduced size (a smoke test, a few minutes on one core; the numbers mean little):

    python examples/paper003_bilayers.py -o p003-small --reduced
"""

import argparse
from pathlib import Path

import dolfinx_solver  # noqa: F401  (before petsc4py / dolfinx)
from mpi4py import MPI

from electrode3d.studies.rate_capability import RateStudy, run_rate_study

STUDY = Path(__file__).parent / "configs" / "paper003_bilayer_study.toml"
REDUCED = {"structure": {"box_um": 24.0, "thickness_um": 30.0},
           "mesh": {"route": "voxel", "voxel_size_um": 2.0, "separator_um": 6.0},
           "c_rates": (1.0, 3.0)}


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
        for name, f in summary["fits"].items():
            vs = f.get("versus_reference")
            print(f"{name}: gamma (energy) {f['energy']['gamma']:.3f}"
                  + (f", delta {f['delta']:.2f}" if f["delta"] is not None else "")
                  + (f", {vs['verdict']} against the single layer" if vs else ""))
        print("paper 003 (experiment): the carbon-rich layer at the collector is constructive, "
              "the reverse destructive")
    return summary


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--reduced", action="store_true", help="small electrodes (smoke test)")
    a = ap.parse_args()
    main(a.output, a.reduced)
