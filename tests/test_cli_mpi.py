"""The CLI under mpirun -n 2: rank 0 works and writes, both ranks share its outcome."""

import json

import pytest

from .conftest import small_recipe_dict
from .test_cli import _write_recipe

pytestmark = pytest.mark.mpi

MPI = pytest.importorskip("mpi4py.MPI")


def _shared_tmp(tmp_path_factory):
    comm = MPI.COMM_WORLD
    path = tmp_path_factory.mktemp("mpi") if comm.rank == 0 else None
    return comm.bcast(path, root=0)


def test_generate_under_mpi_writes_once(tmp_path_factory):
    from click.testing import CliRunner

    from electrode3d.cli import main

    comm = MPI.COMM_WORLD
    tmp = _shared_tmp(tmp_path_factory)
    recipe = tmp / "r.toml"
    if comm.rank == 0:
        _write_recipe(recipe, small_recipe_dict())
    comm.barrier()
    res = CliRunner().invoke(main, ["generate", str(recipe), "-o", str(tmp / "s.h5")])
    assert res.exit_code == 0, res.output
    # only rank 0 reports
    assert ("wrote" in res.output) == (comm.rank == 0)
    comm.barrier()
    info = json.loads((tmp / "s.info.json").read_text())
    assert info["inputs"]["seed"] == 3


def test_errors_reach_every_rank(tmp_path_factory):
    from click.testing import CliRunner

    from electrode3d.cli import main

    comm = MPI.COMM_WORLD
    tmp = _shared_tmp(tmp_path_factory)
    bad = tmp / "bad.toml"
    if comm.rank == 0:
        bad.write_text("seed = 1\n[box]\nsize_um = [20.0, 20.0]\nthickness_um = 30\n")
    comm.barrier()
    res = CliRunner().invoke(main, ["generate", str(bad), "-o", str(tmp / "s.h5")])
    assert res.exit_code == 1
    assert "composition_wt" in res.output
