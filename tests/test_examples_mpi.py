"""examples/discharge_mpi.py, the plain API script, under mpirun -n 2 (a small electrode, a
short discharge): it meshes, discharges, checkpoints and writes the run folder once."""

import importlib.util
import subprocess
from pathlib import Path

import pytest

from .conftest import small_recipe_dict
from .test_cli import _write_recipe

pytestmark = pytest.mark.mpi

MPI = pytest.importorskip("mpi4py.MPI")
pytest.importorskip("pygalmesh")
EXAMPLES = Path(__file__).parents[1] / "examples"


def test_discharge_mpi_script(tmp_path_factory):
    comm = MPI.COMM_WORLD
    tmp = comm.bcast(tmp_path_factory.mktemp("example") if comm.rank == 0 else None, root=0)
    recipe = tmp / "r.toml"
    if comm.rank == 0:
        _write_recipe(recipe, small_recipe_dict())
    comm.barrier()
    spec = importlib.util.spec_from_file_location("discharge_mpi", EXAMPLES / "discharge_mpi.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.main(str(recipe), str(tmp / "run"), c_rate=2.0, size_um=2.0, bulk_um=5.0,
                max_time_s=120.0)
    comm.barrier()
    for name in ("discharge.csv", "particles.csv", "info.json", "mesh/mesh.xdmf",
                 "checkpoint/state.npz"):
        assert (tmp / "run" / name).exists(), name
    rows = (tmp / "run" / "discharge.csv").read_text().splitlines()
    assert len(rows) > 3


def test_slurm_script_is_valid_bash():
    result = subprocess.run(["bash", "-n", str(EXAMPLES / "slurm_discharge.sh")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "electrode3d -v run" in (EXAMPLES / "slurm_discharge.sh").read_text()
