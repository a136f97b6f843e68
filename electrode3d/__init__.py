"""electrode3d: from electrode manufacturing to pore-resolved 3D electrochemistry.

Top-level packages: ``mesostructure`` (structures and voxel metrics), ``electrode3d`` (CLI,
pipeline, provenance). Meshing, the echem solver, the LAMMPS bridge and surrogates follow.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("electrode3d")
except PackageNotFoundError:  # running from a source tree
    __version__ = "unknown"
