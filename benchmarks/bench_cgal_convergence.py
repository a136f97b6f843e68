"""Is the CGAL mesh of the paper 004 benchmark fine enough? The paper 004 recipe cut to a
thinner electrode (default 30 x 30 x 50 um, same particles and CBD statistics) is discharged
at 1C to 3.0 V on CGAL meshes of decreasing size; prints unknowns, wall time and capacity.

    .venv/bin/python benchmarks/bench_cgal_convergence.py [thickness_um]
    mpiexec -n 2 .venv/bin/python benchmarks/bench_cgal_convergence.py
"""

import sys
import time
import tomllib
from pathlib import Path

import dolfinx_solver  # noqa: F401
from mpi4py import MPI

from echem import Discharge, Simulation, parameter_set
from meshing import CGALOptions, build_cgal_mesh
from mesostructure import generate, parse_recipe

RECIPE = Path(__file__).parents[1] / "examples" / "recipes" / "paper004_monolayer.toml"
SIZES_UM = [(2.0, 5.0), (1.5, 4.0), (1.0, 3.0)]


def main(thickness_um: float = 50.0) -> None:
    comm = MPI.COMM_WORLD
    data = tomllib.loads(RECIPE.read_text())
    data["box"]["thickness_um"] = thickness_um
    ms = generate(parse_recipe(data)) if comm.rank == 0 else None
    ms = comm.bcast(ms, root=0)
    rows = []
    for interface, bulk in SIZES_UM:
        t0 = time.perf_counter()
        tm = build_cgal_mesh(ms, comm, separator_thickness=12e-6,
                             options=CGALOptions(interface * 1e-6, bulk * 1e-6))
        t_mesh = time.perf_counter() - t0
        res = Simulation(tm, parameter_set(), Discharge(c_rate=1.0)).run()
        i = res.info
        rows.append((interface, bulk, i["dofs_total"], t_mesh, i["wall_time_s"],
                     res.capacity_mAh_g[-1], res.capacity_mAh_cm2[-1], res.stop_reason))
        if comm.rank == 0:
            print(f"CGAL {interface}/{bulk} um: {i['dofs_total']} unknowns, mesh {t_mesh:.0f} s, "
                  f"discharge {i['wall_time_s']:.0f} s ({i['steps']} steps), "
                  f"{res.capacity_mAh_g[-1]:.3f} mAh/g, {res.capacity_mAh_cm2[-1]:.4f} mAh/cm2, "
                  f"{res.stop_reason}", flush=True)
    if comm.rank == 0:
        ref = rows[-1][5]
        for r in rows:
            print(f"  {r[0]}/{r[1]} um: capacity {100 * (r[5] / ref - 1):+.2f} % vs the finest")


if __name__ == "__main__":
    main(*[float(a) for a in sys.argv[1:]])
