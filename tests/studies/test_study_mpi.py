"""`electrode3d study rate-capability` under mpirun -n 2: rank 0 builds and writes, the mesh
and the discharges are distributed, every rank gets the same summary, and the capacities equal
the serial ones."""

import csv
import json

import pytest

pytestmark = pytest.mark.mpi

MPI = pytest.importorskip("mpi4py.MPI")
pytest.importorskip("dolfinx_solver")

SPHERE = ('{{ kind = "single_sphere", radius_um = 3.0, box_um = {b} }}')
STUDY = f"""
[study]
c_rates = [1.0, 4.0]
cutoff_V = 3.9
reference = "narrow"
report_dod = [0.1]
[defaults]
mesh = {{ route = "voxel", voxel_size_um = 0.75, separator_um = 3.0 }}
[electrode.narrow]
structure = {SPHERE.format(b=7.5)}
[electrode.wide]
structure = {SPHERE.format(b=9.0)}
"""


def _run(tmp, comm):
    from electrode3d.studies.rate_capability import RateStudy, run_rate_study

    study = RateStudy.from_dict(__import__("tomllib").loads(STUDY))
    return run_rate_study(study, tmp / f"out{comm.size}", comm)


def test_study_under_mpi_matches_serial(tmp_path_factory):
    world = MPI.COMM_WORLD
    tmp = world.bcast(tmp_path_factory.mktemp("study") if world.rank == 0 else None, root=0)
    par = _run(tmp, world)
    everyone = world.allgather(json.dumps(par, sort_keys=True))
    assert len(set(everyone)) == 1  # the same summary on every rank
    world.barrier()
    if world.rank == 0:
        ser = _run(tmp, MPI.COMM_SELF)
        assert ser["fits"]["wide"]["energy"]["alpha"] == pytest.approx(
            par["fits"]["wide"]["energy"]["alpha"], rel=1e-6)
        rows = {}
        for n in (1, world.size):
            with open(tmp / f"out{n}" / "rate_capability.csv") as f:
                rows[n] = [float(r["capacity_mAh_cm2"]) for r in csv.DictReader(f)]
        assert rows[1] == pytest.approx(rows[world.size], rel=1e-6)
    world.barrier()
