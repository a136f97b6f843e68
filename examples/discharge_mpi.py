"""A plain MPI script using the API: generate (rank 0), mesh (CGAL route, distributed),
discharge at a C-rate to 3.0 V, write the results.

    mpirun -n 4 python examples/discharge_mpi.py examples/recipes/paper004_monolayer.toml run/
    mpirun -n 2 python examples/discharge_mpi.py RECIPE OUT --c-rate 2 --size-um 2 --max-time-s 600

A killed job resumes from its last checkpoint when started again with the same arguments.
"""

import argparse

import dolfinx_solver  # noqa: F401  (before petsc4py / dolfinx)
from mpi4py import MPI

from echem import CheckpointOptions, Discharge, Simulation, parameter_set
from meshing import CGALOptions, build_cgal_mesh
from mesostructure import generate, load_recipe


def main(recipe: str, out: str, c_rate: float = 1.0, size_um: float = 1.5,
         bulk_um: float = 4.0, max_time_s: float | None = None):
    comm = MPI.COMM_WORLD
    ms = comm.bcast(generate(load_recipe(recipe)) if comm.rank == 0 else None, root=0)
    tm = build_cgal_mesh(ms, comm, separator_thickness=12e-6,
                         options=CGALOptions(size_um * 1e-6, bulk_um * 1e-6))
    tm.save(f"{out}/mesh")

    def progress(step):  # called on every rank: print from rank 0
        if comm.rank == 0:
            print(f"t {step.time_s:8.1f} s  V {step.voltage_V:.4f}  Q {step.capacity_mAh_cm2:.4f}",
                  flush=True)

    sim = Simulation(tm, parameter_set("NMC811_ORegan2022"),
                     Discharge(c_rate=c_rate, max_time_s=max_time_s), callback=progress)
    res = sim.run(fields_dir=f"{out}/fields",
                  checkpoint=CheckpointOptions(f"{out}/checkpoint", every_s=600))
    res.write(out, comm)
    if comm.rank == 0:
        print(res.summary())


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe")
    ap.add_argument("out")
    ap.add_argument("--c-rate", type=float, default=1.0)
    ap.add_argument("--size-um", type=float, default=1.5, help="CGAL surface size")
    ap.add_argument("--bulk-um", type=float, default=4.0, help="CGAL largest cell")
    ap.add_argument("--max-time-s", type=float, default=None)
    a = ap.parse_args()
    main(a.recipe, a.out, a.c_rate, a.size_um, a.bulk_um, a.max_time_s)
