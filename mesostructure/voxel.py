"""Voxel label images: the derived representation every voxel metric works on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PORE, AM, CBD = 0, 1, 2
PHASE_NAMES = {PORE: "pore", AM: "am", CBD: "cbd"}


@dataclass
class VoxelImage:
    """Phase labels (0 pore, 1 AM, 2 CBD) on a regular grid indexed [ix, iy, iz].

    ``spacing`` is the voxel edge length per axis (m); z (last axis) is normal to the current
    collector, which lies at iz = 0. ``particle`` holds AM particle ids (0 = none), when known.
    """

    phase: np.ndarray
    spacing: np.ndarray
    particle: np.ndarray | None = None
    cbd_nanoporosity: float = 0.5

    def __post_init__(self):
        self.phase = np.asarray(self.phase)
        if self.phase.ndim != 3:
            raise ValueError(f"a voxel image must be 3-D, got shape {self.phase.shape}")
        if self.phase.dtype != np.uint8:
            if np.any((self.phase < 0) | (self.phase > 2)) or not np.all(
                    np.equal(np.mod(self.phase, 1), 0)):
                raise ValueError("phase labels must be 0 (pore), 1 (AM) or 2 (CBD)")
            self.phase = self.phase.astype(np.uint8)
        elif self.phase.max(initial=0) > 2:
            raise ValueError(f"phase labels must be 0 (pore), 1 (AM) or 2 (CBD); found "
                             f"{sorted(set(np.unique(self.phase).tolist()) - {0, 1, 2})}")
        self.spacing = np.broadcast_to(np.asarray(self.spacing, dtype=float), (3,)).copy()
        if np.any(self.spacing <= 0):
            raise ValueError(f"voxel spacing must be positive, got {self.spacing}")
        if self.particle is not None and self.particle.shape != self.phase.shape:
            raise ValueError("particle label image must have the phase image's shape")
        if not 0.0 <= self.cbd_nanoporosity < 1.0:
            raise ValueError(f"cbd_nanoporosity must lie in [0, 1), got {self.cbd_nanoporosity}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.phase.shape

    @property
    def size_m(self) -> np.ndarray:
        return self.spacing * np.array(self.phase.shape)

    @property
    def voxel_volume(self) -> float:
        return float(np.prod(self.spacing))

    def fraction(self, label: int) -> float:
        return float(np.mean(self.phase == label))

    def z_centres(self) -> np.ndarray:
        return (np.arange(self.shape[2]) + 0.5) * self.spacing[2]


def load_image(path: str | Path, voxel_size: float | None = None,
               cbd_nanoporosity: float = 0.5) -> VoxelImage:
    """Read a label image (.npy or .tif/.tiff) with labels 0 pore, 1 AM, 2 CBD.

    A two-phase image (0/1) is read as pore/AM. The voxel size must be given (m).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no image at {path}")
    if voxel_size is None or not voxel_size > 0:
        raise ValueError(f"reading {path.name} needs a positive voxel size (--voxel-size, in m)")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
    elif suffix in (".tif", ".tiff"):
        import tifffile

        # TIFF stacks are stored slice by slice (z, y, x); we index (x, y, z).
        arr = np.transpose(tifffile.imread(path), (2, 1, 0))
    else:
        raise ValueError(f"unsupported image format {suffix!r}: use .npy, .tif or .tiff")
    if arr.ndim != 3:
        raise ValueError(f"{path.name}: expected a 3-D label image, got shape {arr.shape}")
    return VoxelImage(arr, voxel_size, cbd_nanoporosity=cbd_nanoporosity)
