"""Is the CGAL mesh the same every time? Meshes the small case of
tests/meshing/test_mesh_mpi.py (one particle wired by a CBD capsule) N times as used (exuder
without a time limit) and with CGAL's sliver perturber too (``perturb_slivers``: CGAL limits
it to the refinement's wall time), and prints the cell counts and smallest dihedral angles.
Run it once on an idle machine and once with another job loading the cores:

    .venv/bin/python benchmarks/bench_cgal_determinism.py [N]
"""

import sys

import dolfinx_solver  # noqa: F401
from mpi4py import MPI

from meshing import CGALOptions, build_cgal_mesh
from mesostructure import Capsules, Microstructure, Spheres


def main(n: int = 8) -> None:
    ms = Microstructure(box=(8e-6, 8e-6, 9e-6),
                        particles=Spheres([[4e-6, 4e-6, 5e-6]], [2.5e-6]),
                        cbd_capsules=Capsules([[4e-6, 4e-6, 0.0]], [[4e-6, 4e-6, 3.0e-6]],
                                              [0.8e-6]))
    for label, perturb in (("exuder only (as used)", False), ("perturber + exuder", True)):
        counts, angles = [], []
        for _ in range(n):
            tm = build_cgal_mesh(ms, MPI.COMM_SELF, separator_thickness=3e-6,
                                 options=CGALOptions(interface=1.0e-6, bulk=2e-6,
                                                     perturb_slivers=perturb))
            counts.append(tm.report["n_cells"])
            angles.append(round(tm.report["min_dihedral_deg"], 3))
        print(f"{label}: cells {counts}, min dihedral {sorted(set(angles))} deg -> "
              f"{len(set(counts))} distinct mesh(es)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
