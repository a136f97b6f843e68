"""Discharge throughput: Newton DOF-iterations per second per core and time per step.

    python benchmarks/bench_discharge.py                 # lattices of ~30k and ~100k unknowns
    mpirun -n 2 python benchmarks/bench_discharge.py     # the same on 2 ranks (efficiency)
    python benchmarks/bench_discharge.py --paper004      # paper 004 electrode, 1C to 3.0 V
    python benchmarks/bench_discharge.py --paper004 --route cgal   # on the graded CGAL mesh

Each case runs a 1C discharge for a fixed simulated time (or to the cut-off with --paper004)
and prints unknowns, steps, Newton iterations, factorisations, wall time, DOF-its/s/core and
peak memory (rank 0, MB). Figures in the closing notes of the issues come from here.
"""

from __future__ import annotations

import argparse
import resource
import time

import dolfinx_solver  # noqa: F401  (before petsc4py / dolfinx)
from mpi4py import MPI


def lattice_mesh(comm, counts, voxel_um):
    from electrode3d.pipeline import sphere_lattice
    from meshing import build_voxel_mesh

    ms = sphere_lattice(5.0, counts)
    img = ms.rasterize(voxel_um * 1e-6) if comm.rank == 0 else None
    return build_voxel_mesh(comm.bcast(img, root=0), comm, separator_thickness=12e-6)


def paper004_mesh(comm, voxel_um=1.0, route="voxel", interface_um=1.5, bulk_um=4.0):
    from pathlib import Path

    from meshing import CGALOptions, build_cgal_mesh, build_voxel_mesh
    from mesostructure import generate, load_recipe

    rec = Path(__file__).parent.parent / "examples" / "recipes" / "paper004_monolayer.toml"
    t0 = time.perf_counter()
    ms = generate(load_recipe(rec)) if comm.rank == 0 else None
    if route == "cgal":
        tm = build_cgal_mesh(comm.bcast(ms, root=0), comm, separator_thickness=12e-6,
                             options=CGALOptions(interface_um * 1e-6, bulk_um * 1e-6))
    else:
        img = ms.rasterize(voxel_um * 1e-6) if comm.rank == 0 else None
        tm = build_voxel_mesh(comm.bcast(img, root=0), comm, separator_thickness=12e-6)
    if comm.rank == 0:
        print(f"mesh ({route}): {tm.report['n_cells']} cells, "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    return tm


def run(name, tm, comm, max_time_s=None, linear="mumps", verbose=False):
    from echem import Discharge, Simulation, SolverOptions, parameter_set

    t0 = time.perf_counter()

    def progress(step):  # every rank calls it; rank 0 prints
        if comm.rank == 0 and verbose:
            print(f"  step {step.step}: t {step.time_s:.0f} s, V {step.voltage_V:.4f}, "
                  f"{step.newton_iterations} its, wall {time.perf_counter() - t0:.0f} s",
                  flush=True)

    sim = Simulation(tm, parameter_set(), Discharge(c_rate=1.0, max_time_s=max_time_s),
                     solver_options=SolverOptions(linear=linear), callback=progress)
    setup = time.perf_counter() - t0
    res = sim.run()
    info = res.info
    mem = comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, op=MPI.MAX)
    if comm.rank == 0:
        steps = max(info["steps"], 1)
        print(f"{name}: {info['dofs_total']} unknowns, {comm.size} rank(s), setup {setup:.1f} s,"
              f" {info['steps']} steps, {info['newton_iterations']} Newton its, "
              f"{info['factorisations']} factorisations, {info['wall_time_s']:.1f} s "
              f"({info['wall_time_s'] / steps:.2f} s/step), "
              f"{info['newton_dofs_per_s_per_core']:.3g} DOF-its/s/core, peak {mem:.0f} MB, "
              f"end {res.stop_reason} at {res.voltage[-1]:.3f} V, "
              f"{res.capacity_mAh_cm2[-1]:.4f} mAh/cm2", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--paper004", action="store_true")
    ap.add_argument("--linear", default="mumps")
    ap.add_argument("--voxel-um", type=float, default=1.0, help="paper 004 voxel size")
    ap.add_argument("--route", choices=("voxel", "cgal"), default="voxel",
                    help="paper 004 meshing route")
    ap.add_argument("--interface-um", type=float, default=1.5, help="CGAL interface size")
    ap.add_argument("--bulk-um", type=float, default=4.0, help="CGAL bulk size")
    a = ap.parse_args()
    comm = MPI.COMM_WORLD
    if a.paper004:
        tm = paper004_mesh(comm, a.voxel_um, a.route, a.interface_um, a.bulk_um)
        run("paper004 1C", tm, comm, linear=a.linear,
            verbose=True)
        return
    run("lattice 2x2x3 @1um", lattice_mesh(comm, (2, 2, 3), 1.0), comm, 600.0, a.linear)
    run("lattice 3x3x4 @1um", lattice_mesh(comm, (3, 3, 4), 1.0), comm, 600.0, a.linear)


if __name__ == "__main__":
    main()
