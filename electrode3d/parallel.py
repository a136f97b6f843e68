"""MPI for the command line: the single-node steps (generation, characterisation) run on rank
0; every rank learns the outcome and fails together, so no rank waits forever."""

from __future__ import annotations

import os
from collections.abc import Callable

_MPI_ENV = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS")


def world():
    """MPI.COMM_WORLD when launched by mpirun with more than one rank, else None."""
    if not any(int(os.environ.get(k, "1") or 1) > 1 for k in _MPI_ENV):
        return None
    from mpi4py import MPI

    return MPI.COMM_WORLD if MPI.COMM_WORLD.size > 1 else None


class RankFailure(RuntimeError):
    """Raised on every rank when the work on rank 0 failed; the message is rank 0's."""


def on_rank0(comm, fn: Callable, *args, **kwargs):
    """Run ``fn`` on rank 0 only; broadcast its error (if any) and raise it on every rank."""
    if comm is None:
        return fn(*args, **kwargs)
    result, error = None, None
    if comm.rank == 0:
        try:
            result = fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - must reach the other ranks before raising
            error = (type(e).__name__, _message(e))
    error = comm.bcast(error, root=0)
    if error is not None:
        raise RankFailure(error[1] if error[0] in ("_Failure", "ClickException")
                          else f"{error[0]}: {error[1]}")
    return result


def _message(e: Exception) -> str:
    fmt = getattr(e, "format_message", None)
    return fmt() if callable(fmt) else str(e)
