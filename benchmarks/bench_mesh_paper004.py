"""Mesh the paper 004 electrode size: 30 x 30 x 150 um, ~200 NMC811 particles (D50 10 um),
fibrous CBD, 12 um separator. Prints wall time, cells and peak memory for each route.

    .venv/bin/python benchmarks/bench_mesh_paper004.py [voxel_size_um] [sphere_size_um]

Routes: voxel, cgal (1.5 um surfaces, 4 um cells), spheres (fails on this packing).
"""

import resource
import sys
import time
from pathlib import Path

import dolfinx_solver  # noqa: F401
from mpi4py import MPI

from meshing import (
    CGALOptions,
    MeshingError,
    SizeOptions,
    build_cgal_mesh,
    build_mesh,
    build_voxel_mesh,
)
from mesostructure import generate, load_recipe

RECIPE = Path(__file__).parents[1] / "examples" / "recipes" / "paper004_monolayer.toml"


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def main(voxel_um: float = 1.0, sphere_um: float = 0.8) -> None:
    t = time.perf_counter()
    ms = generate(load_recipe(RECIPE))
    print(f"generate: {len(ms.particles)} particles, {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    tm = build_voxel_mesh(ms.rasterize(voxel_um * 1e-6), MPI.COMM_WORLD,
                          separator_thickness=12e-6)
    r = tm.report
    print(f"voxel route at {voxel_um} um: {r['n_cells']} cells, {time.perf_counter() - t:.1f} s,"
          f" peak RSS {peak_gb():.2f} GB, {len(r['isolated_particles'])} isolated particles")
    t = time.perf_counter()
    tm = build_cgal_mesh(ms, MPI.COMM_WORLD, separator_thickness=12e-6,
                         options=CGALOptions(1.5e-6, 4e-6))
    r = tm.report
    print(f"cgal route at 1.5/4 um: {r['n_cells']} cells, {r['n_nodes']} nodes, "
          f"{time.perf_counter() - t:.1f} s, min dihedral {r['min_dihedral_deg']:.2f} deg, "
          f"volume error <= {r['max_particle_volume_error']:.2%}, closure "
          f"{r['electrode_volume_error']:.2%}, peak RSS {peak_gb():.2f} GB")
    t = time.perf_counter()
    try:
        tm = build_mesh(ms, MPI.COMM_WORLD, separator_thickness=12e-6,
                        size=SizeOptions(sphere_um * 1e-6, 3e-6))
        r = tm.report
        print(f"spheres route at {sphere_um} um: {r['n_cells']} cells, "
              f"{time.perf_counter() - t:.1f} s, min dihedral {r['min_dihedral_deg']:.2f} deg, "
              f"volume error <= {r['max_particle_volume_error']:.2%}, peak RSS {peak_gb():.2f} GB")
    except MeshingError as e:
        print(f"spheres route at {sphere_um} um failed after {time.perf_counter() - t:.1f} s: {e}")


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    main(*args)
