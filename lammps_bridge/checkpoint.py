"""Mid-stage restart points of a LAMMPS stage: after each chunk of a run the deck writes a
restart file, then a state file naming the chunk (and any LAMMPS variables worth keeping),
then removes the previous chunk's restart file. A kill at any moment therefore leaves a state
file whose restart file exists (or no state file: the stage starts again)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Checkpoint:
    """The last finished chunk of a stage: its number, the values the state file recorded and
    the restart file (relative to the stage folder)."""

    chunk: int
    values: dict[str, float]
    restart: str

    @staticmethod
    def read(path: str | Path) -> Checkpoint | None:
        """The checkpoint described by the state file ``path``, or None when there is none:
        no file, an unreadable one (a kill while it was written) or its restart file gone."""
        path = Path(path)
        if not path.exists():
            return None
        try:
            words = path.read_text().split()
            v = dict(zip(words[::2], map(float, words[1::2]), strict=True))
            chunk = int(v.pop("chunk"))
        except (KeyError, ValueError):
            return None
        restart = f"{path.stem}.chunk{chunk}.restart"
        return Checkpoint(chunk, v, restart) if (path.parent / restart).exists() else None


def checkpoint_commands(stem: str, k: int, variables: tuple[str, ...] = ()) -> list[str]:
    """After chunk k: a restart file, then the state file (``chunk k`` and the current values
    of the LAMMPS ``variables``), then the previous restart file removed."""
    state = "".join(f" {v} ${{{v}}}" for v in variables)
    cmds = [f"write_restart {stem}.chunk{k}.restart",
            f'print "chunk {k}{state}" file {stem}.state screen no']
    if k > 1:
        cmds.append(f"shell rm {stem}.chunk{k - 1}.restart")
    return cmds


def resumed_banner(resume, chunks: int) -> list[str]:
    """The log line a resumed deck prints first (none for a fresh start)."""
    return [f"print 'resumed after chunk {resume.chunk} of {chunks}'"] if resume else []


def split_steps(steps: int, parts: int) -> list[int]:
    """``steps`` cut into ``parts`` runs (at most one per step) as even as possible, longest
    first; zero steps give one empty run."""
    parts = max(1, min(parts, steps))
    base, extra = divmod(steps, parts)
    return [base + (i < extra) for i in range(parts)]

