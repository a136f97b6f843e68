"""The CBD on the mesh: a per-cell volume fraction, and the electronic wiring of particles.

The CBD (thousands of sub-micrometre fibres, bridges or films) is not meshed: conformal
elements around it would need sizes far below the AM particles' and OpenCASCADE booleans on
thousands of capsules fail. Each pore cell instead carries the fraction of its volume inside
CBD primitives, sampled at points spread over the cell, so the solver can set its porosity,
Bruggeman transport and electronic conductivity cell by cell.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mesostructure import AM, CBD, PORE, Microstructure, VoxelImage

# barycentric sample points: centroid, 4 points towards the vertices, 6 edge midpoints' mix
_BARY = np.array([[0.25, 0.25, 0.25, 0.25]]
                 + [[0.55 if i == k else 0.15 for i in range(4)] for k in range(4)]
                 + [[0.4 if i in (a, b) else 0.1 for i in range(4)]
                    for a in range(4) for b in range(a + 1, 4)])


def cbd_fraction_per_cell(source: Microstructure | VoxelImage, cell_vertices: np.ndarray,
                          voxel_size: float = 0.2e-6) -> np.ndarray:
    """Fraction of each tetrahedron (n, 4, 3) in the CBD, sampled at 11 points per cell on a
    raster of ``voxel_size`` (a microstructure) or on the image itself."""
    img = source.rasterize(voxel_size) if isinstance(source, Microstructure) else source
    periodic = source.periodic if isinstance(source, Microstructure) else (False,) * 3
    cbd = img.phase == CBD
    pts = np.einsum("sk,nkd->nsd", _BARY, cell_vertices)
    idx = np.floor(pts / img.spacing).astype(np.int64)
    shape = np.array(img.shape)
    for a in range(3):  # periodic axes wrap (the mesh may be shifted), others clip
        idx[..., a] = np.mod(idx[..., a], shape[a]) if periodic[a] else \
            np.clip(idx[..., a], 0, shape[a] - 1)
    inside = cbd[idx[..., 0], idx[..., 1], idx[..., 2]]
    return inside.mean(axis=1)


def isolated_particles(ms: Microstructure, voxel_size: float = 0.25e-6) -> list[int]:
    """Particles with no AM/CBD path to the current collector (z = 0), on a voxel image."""
    img = ms.rasterize(voxel_size)
    return isolated_in_image(img.phase, img.particle)


def isolated_in_image(phase: np.ndarray, particle: np.ndarray) -> list[int]:
    """Ids (``particle`` labels, 0 = none) of AM particles whose 6-connected solid (AM + CBD)
    cluster does not reach the first voxel layer (the current collector)."""
    labels, _ = ndimage.label(phase != PORE)
    wired = np.unique(labels[:, :, 0])
    ok = np.isin(labels, wired[wired > 0])
    am = (phase == AM) & (particle > 0)
    return sorted(int(p) for p in np.setdiff1d(np.unique(particle[am]),
                                               np.unique(particle[am & ok])))
