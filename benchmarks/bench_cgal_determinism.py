"""Is the CGAL mesh the same every time? Meshes the small case of
tests/meshing/test_mesh_mpi.py (one particle wired by a CBD capsule) N times, as pygalmesh
runs CGAL (perturber and exuder on) and with both optimisers off, and prints the cell
counts. Run it once on an idle machine and once with another job loading the cores:

    .venv/bin/python benchmarks/bench_cgal_determinism.py [N]
"""

import sys
from unittest import mock

import dolfinx_solver  # noqa: F401
import pygalmesh
from mpi4py import MPI

from meshing import CGALOptions, build_cgal_mesh
from mesostructure import Capsules, Microstructure, Spheres


def main(n: int = 8) -> None:
    ms = Microstructure(box=(8e-6, 8e-6, 9e-6),
                        particles=Spheres([[4e-6, 4e-6, 5e-6]], [2.5e-6]),
                        cbd_capsules=Capsules([[4e-6, 4e-6, 0.0]], [[4e-6, 4e-6, 3.0e-6]],
                                              [0.8e-6]))
    generate = pygalmesh.generate_from_array
    for label, extra in (("optimisers on (as used)", {}),
                         ("perturb and exude off", {"perturb": False, "exude": False})):
        def patched(*a, extra=extra, **k):
            return generate(*a, **{**k, **extra})
        counts = []
        for _ in range(n):
            with mock.patch.object(pygalmesh, "generate_from_array", patched):
                tm = build_cgal_mesh(ms, MPI.COMM_SELF, separator_thickness=3e-6,
                                     options=CGALOptions(interface=1.0e-6, bulk=2e-6))
            counts.append(tm.report["n_cells"])
        print(f"{label}: cells {counts} -> {len(set(counts))} distinct mesh(es)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8)
