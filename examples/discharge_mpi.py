"""A plain MPI script using the API: generate (rank 0), mesh (distributed), discharge.

    mpirun -n 4 python examples/discharge_mpi.py examples/recipes/paper004_monolayer.toml run/
"""

import sys

import dolfinx_solver  # noqa: F401  (before petsc4py / dolfinx)
from mpi4py import MPI

from echem import CheckpointOptions, Discharge, Simulation, parameter_set
from meshing import build_voxel_mesh
from mesostructure import generate, load_recipe


def main(recipe: str, out: str, c_rate: float = 1.0, voxel_m: float = 1e-6):
    comm = MPI.COMM_WORLD
    image = generate(load_recipe(recipe)).rasterize(voxel_m) if comm.rank == 0 else None
    tm = build_voxel_mesh(comm.bcast(image, root=0), comm, separator_thickness=12e-6)
    tm.save(f"{out}/mesh")

    def progress(step):  # called on every rank: print from rank 0
        if comm.rank == 0:
            print(f"t {step.time_s:8.1f} s  V {step.voltage_V:.4f}  Q {step.capacity_mAh_cm2:.4f}",
                  flush=True)

    sim = Simulation(tm, parameter_set("NMC811_ORegan2022"), Discharge(c_rate=c_rate),
                     callback=progress)
    # a killed job resumes from its last checkpoint when started again with the same arguments
    res = sim.run(fields_dir=f"{out}/fields",
                  checkpoint=CheckpointOptions(f"{out}/checkpoint", every_s=600))
    res.write(out, comm)
    if comm.rank == 0:
        print(res.summary())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
