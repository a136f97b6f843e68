"""Checkpoint and restart of a discharge: a run killed mid-way resumes from its last
checkpoint, on any number of ranks.

A checkpoint is one ``state.npz`` (written atomically by rank 0): for every field the
coordinates and values of its degrees of freedom (gathered from all ranks), the scalars of
the time loop (time, step, step size, V, the depths of discharge still to report), the
results recorded so far, and a fingerprint of the inputs (mesh size, parameters,
experiment, model options). On restart every rank matches its own degrees of freedom to the
stored coordinates with a KD-tree, so the partition (and the rank count) may differ. A
checkpoint whose fingerprint differs from the new run is refused, naming what differs.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .results import _json


class CheckpointError(RuntimeError):
    pass


@dataclass(frozen=True)
class CheckpointOptions:
    """Where and how often to checkpoint.

    every_s: wall-clock seconds between checkpoints (measured on rank 0);
    every_steps: or every this many time steps (whichever comes first);
    resume: restart from ``folder/state.npz`` when it exists (otherwise it is overwritten).
    """

    folder: Path
    every_s: float = 300.0
    every_steps: int | None = None
    resume: bool = True

    def __post_init__(self):
        object.__setattr__(self, "folder", Path(self.folder))
        if not self.every_s > 0 or (self.every_steps is not None and self.every_steps < 1):
            raise CheckpointError("checkpoint intervals must be positive")

    @property
    def path(self) -> Path:
        return self.folder / "state.npz"


@dataclass
class LoopState:
    """The scalars of the time loop (everything else is in the fields and the results)."""

    t: float = 0.0
    step: int = 0
    dt: float = 0.0
    Vcc: float = 0.0
    dod_marks: list = field(default_factory=list)
    li_s0: float = 0.0
    li_e0: float = 0.0
    wall_s: float = 0.0  # wall time spent before this segment of the run
    newton_iterations: int = 0
    factorisations: int = 0
    roundoff_accepts: int = 0  # Newton solves accepted at their round-off floor
    segments: int = 1
    finished: bool = False  # the checkpoint holds a completed run


class Checkpointer:
    """Writes and reads the checkpoints of one ``Simulation`` (collective calls)."""

    def __init__(self, sim, options: CheckpointOptions):
        self.sim, self.options = sim, options
        self.comm = sim.comm
        self._last_wall = time.perf_counter()
        self._last_step = 0

    # ---- what identifies a run -----------------------------------------------------------
    def fingerprint(self) -> dict:
        d = self.sim.describe()
        return {"dofs": d["dofs"], "cells": d["cells"],
                "current_A": float(f"{d['current_A']:.9e}"),
                "parameters": json.loads(json.dumps(self.sim.params.as_json(), default=str)),
                "experiment": self.sim.experiment.describe(),
                # lumped only when set: checkpoints from before the option stay valid
                "model_options": {k: getattr(self.sim.model.options, k)
                                  for k in ("cbd_reactive", "quadrature_degree", "lumped")
                                  if k != "lumped" or self.sim.model.options.lumped}}

    # ---- writing ---------------------------------------------------------------------------
    def due(self, step: int) -> bool:
        """Whether to write now; decided on rank 0 so that every rank agrees."""
        o = self.options
        due = (time.perf_counter() - self._last_wall >= o.every_s
               or (o.every_steps is not None and step - self._last_step >= o.every_steps))
        return bool(self.comm.bcast(due, root=0))

    def save(self, loop: LoopState, results, previous=None) -> None:
        """Gather the fields and write ``state.npz`` on rank 0 (atomic rename).
        ``previous``: the state one step back ({field: local array}, V, dt) for the
        predictor, so that the resumed run takes the same steps."""
        model = self.sim.model
        arrays = {}
        for k, f in model.u.items():
            V = f.function_space
            n = V.dofmap.index_map.size_local
            coords = V.tabulate_dof_coordinates()[:n]
            old = previous[0][k][:n] if previous is not None else None
            parts = self.comm.gather((coords, f.x.array[:n].copy(), old), root=0)
            if self.comm.rank == 0:
                arrays[f"coords_{k}"] = np.concatenate([p[0] for p in parts])
                arrays[f"values_{k}"] = np.concatenate([p[1] for p in parts])
                if previous is not None:
                    arrays[f"previous_{k}"] = np.concatenate([p[2] for p in parts])
        if self.comm.rank == 0:
            scalars, res_arrays = results.state()
            meta = {"fingerprint": self.fingerprint(), "loop": loop.__dict__,
                    "previous": None if previous is None else list(previous[1:]),
                    "results": scalars, "written": time.strftime("%Y-%m-%dT%H:%M:%S"),
                    "ranks": self.comm.size}
            arrays.update({f"results_{k}": v for k, v in res_arrays.items()})
            arrays["meta"] = np.frombuffer(json.dumps(meta, default=_json).encode(),
                                           dtype=np.uint8)
            self.options.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.options.folder / "state.tmp.npz"
            np.savez(tmp, **arrays)
            os.replace(tmp, self.options.path)
        self.comm.barrier()
        self._last_wall = time.perf_counter()
        self._last_step = loop.step

    # ---- reading ---------------------------------------------------------------------------
    def load(self, results) -> tuple[LoopState, tuple | None] | None:
        """Restore the fields and ``results`` from the checkpoint and return the loop state
        and the previous state (as given to ``save``, or None); None when there is no
        checkpoint (or ``resume`` is off). Raises CheckpointError on every rank if it does
        not fit."""
        from scipy.spatial import cKDTree

        o = self.options
        data, error = None, None
        if self.comm.rank == 0 and o.resume and o.path.exists():
            try:
                with np.load(o.path) as z:
                    data = {k: z[k] for k in z.files}
                meta = json.loads(bytes(data.pop("meta")).decode())
                diff = _differences(meta["fingerprint"], self.fingerprint())
                if diff:
                    error = (f"the checkpoint {o.path} belongs to another run ({'; '.join(diff)});"
                             " delete it or start afresh (--fresh) to overwrite it")
                data["meta"] = meta
            except (OSError, ValueError, KeyError) as e:
                error = f"cannot read the checkpoint {o.path}: {e}"
        error = self.comm.bcast(error, root=0)
        if error is not None:
            raise CheckpointError(error)
        data = self.comm.bcast(data, root=0)
        if data is None:
            return None
        model = self.sim.model
        meta = data["meta"]
        previous = None if meta.get("previous") is None else ({}, *meta["previous"])
        for k, f in model.u.items():
            coords = data[f"coords_{k}"]
            tree = cKDTree(coords)
            mine = f.function_space.tabulate_dof_coordinates()
            dist, idx = tree.query(mine)
            scale = float(np.ptp(coords, axis=0).max()) if len(coords) else 1.0
            bad = int(np.count_nonzero(dist > 1e-9 * scale))
            if self.comm.allreduce(bad):
                raise CheckpointError(f"the checkpoint's {k} degrees of freedom do not match "
                                      "this mesh (was it written for another mesh?)")
            f.x.array[:] = data[f"values_{k}"][idx]
            if previous is not None:
                previous[0][k] = data[f"previous_{k}"][idx]
        for k in ("ce", "x"):
            model.u_old[k].x.array[:] = model.u[k].x.array
        loop = LoopState(**meta["loop"])
        model.Vcc.value = loop.Vcc
        results.restore(meta["results"], {k[len("results_"):]: v for k, v in data.items()
                                          if k.startswith("results_")})
        self._last_step = loop.step
        return loop, previous


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    out = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, prefix + k + ".")
        elif a != b:
            out.append(f"{prefix}{k}: {a!r} then, {b!r} now")
    return out[:5]


__all__ = ["CheckpointError", "CheckpointOptions", "Checkpointer", "LoopState"]
