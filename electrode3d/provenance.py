"""What every run writes beside its outputs: inputs, versions, timings (``info.json``)."""

from __future__ import annotations

import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

_PACKAGES = ("electrode3d", "numpy", "scipy", "pyamg", "scikit-image", "h5py")


def versions() -> dict:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_info(path: str | Path, command: str, inputs: dict, started: float,
               results: dict | None = None) -> Path:
    """Write ``info.json`` (or the given file name) with the command, inputs, versions and the
    wall time since ``started`` (a ``time.perf_counter()`` value)."""
    path = Path(path)
    info = {
        "command": command,
        "inputs": inputs,
        "versions": versions(),
        "wall_time_s": time.perf_counter() - started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if results:
        info["results"] = results
    path.write_text(json.dumps(info, indent=2, default=str))
    return path
