"""The `Microstructure`: analytic primitives first, voxel images derived from them.

Units are SI (metres). Coordinates run over the box ``[0, Lx] x [0, Ly] x [0, Lz]`` with z
normal to the current collector (z = 0) and the separator face at z = Lz.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .voxel import AM, CBD, PORE, VoxelImage

FORMAT_VERSION = 1


def _as_array(a, shape_tail: tuple, dtype, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=dtype)
    if arr.size == 0:
        arr = arr.reshape((0, *shape_tail))
    if arr.shape[1:] != shape_tail:
        raise ValueError(f"{name} must have shape (n, {', '.join(map(str, shape_tail))}), "
                         f"got {arr.shape}")
    return arr


@dataclass(frozen=True)
class Spheres:
    """A set of spheres (AM particles or CBD spheres)."""

    centres: np.ndarray
    radii: np.ndarray

    def __post_init__(self):
        c = _as_array(self.centres, (3,), float, "centres")
        r = np.asarray(self.radii, dtype=float).reshape(-1)
        if len(r) != len(c):
            raise ValueError(f"{len(c)} centres but {len(r)} radii")
        if np.any(~np.isfinite(c)) or np.any(~np.isfinite(r)):
            raise ValueError("sphere centres and radii must be finite")
        if np.any(r <= 0):
            raise ValueError(f"sphere radii must be positive (min {r.min():.3g} m)")
        object.__setattr__(self, "centres", c)
        object.__setattr__(self, "radii", r)

    def __len__(self) -> int:
        return len(self.radii)

    @property
    def volumes(self) -> np.ndarray:
        return 4.0 / 3.0 * np.pi * self.radii**3

    @classmethod
    def empty(cls) -> Spheres:
        return cls(np.zeros((0, 3)), np.zeros(0))


@dataclass(frozen=True)
class Capsules:
    """Cylinders with hemispherical caps (CBD fibres and bridges): segment p0-p1, radius."""

    p0: np.ndarray
    p1: np.ndarray
    radii: np.ndarray

    def __post_init__(self):
        p0 = _as_array(self.p0, (3,), float, "p0")
        p1 = _as_array(self.p1, (3,), float, "p1")
        r = np.asarray(self.radii, dtype=float).reshape(-1)
        if not (len(p0) == len(p1) == len(r)):
            raise ValueError(f"capsule arrays differ in length: {len(p0)}, {len(p1)}, {len(r)}")
        if np.any(r <= 0):
            raise ValueError("capsule radii must be positive")
        object.__setattr__(self, "p0", p0)
        object.__setattr__(self, "p1", p1)
        object.__setattr__(self, "radii", r)

    def __len__(self) -> int:
        return len(self.radii)

    @property
    def volumes(self) -> np.ndarray:
        length = np.linalg.norm(self.p1 - self.p0, axis=1)
        return np.pi * self.radii**2 * length + 4.0 / 3.0 * np.pi * self.radii**3

    @classmethod
    def empty(cls) -> Capsules:
        return cls(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))


@dataclass(frozen=True)
class Layer:
    """A slab of the electrode along z, generated from its own recipe."""

    name: str
    z_min: float
    z_max: float


@dataclass
class Microstructure:
    """An electrode microstructure.

    Attributes:
        box: (Lx, Ly, Lz) in m.
        particles: active-material spheres; ``particle_ids[k]`` (>= 1) labels sphere k.
        particle_ids: integer id of each AM sphere (>= 1, unique).
        particle_layers: index into ``layers`` of each AM sphere.
        cbd_spheres, cbd_capsules: CBD primitives.
        cbd_film_thickness: per AM sphere, thickness (m) of a CBD film coating it (0: none).
        periodic: which axes the primitives wrap around (x, y may; z never does).
        cbd_nanoporosity: volume fraction of electrolyte-filled nanopores inside the CBD phase.
        densities_kg_m3: dense phase densities {"active", "carbon", "binder"}.
        layers: the slabs along z.
        metadata: free-form JSON-serialisable record (recipe, seed, versions, reports).
    """

    box: np.ndarray
    particles: Spheres
    particle_ids: np.ndarray | None = None
    particle_layers: np.ndarray | None = None
    cbd_spheres: Spheres = field(default_factory=Spheres.empty)
    cbd_capsules: Capsules = field(default_factory=Capsules.empty)
    cbd_film_thickness: np.ndarray | None = None
    periodic: tuple[bool, bool, bool] = (False, False, False)
    cbd_nanoporosity: float = 0.5
    densities_kg_m3: dict = field(default_factory=dict)
    layers: list[Layer] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.box = np.asarray(self.box, dtype=float).reshape(3)
        if np.any(self.box <= 0) or not np.all(np.isfinite(self.box)):
            raise ValueError(f"box sizes must be positive and finite, got {self.box}")
        n = len(self.particles)
        if self.particle_ids is None:
            self.particle_ids = np.arange(1, n + 1, dtype=np.int64)
        self.particle_ids = np.asarray(self.particle_ids, dtype=np.int64).reshape(-1)
        if len(self.particle_ids) != n:
            raise ValueError(f"{n} particles but {len(self.particle_ids)} particle ids")
        if n and (self.particle_ids.min() < 1 or len(np.unique(self.particle_ids)) != n):
            raise ValueError("particle ids must be unique integers >= 1")
        if self.particle_layers is None:
            self.particle_layers = np.zeros(n, dtype=np.int64)
        self.particle_layers = np.asarray(self.particle_layers, dtype=np.int64).reshape(-1)
        if self.cbd_film_thickness is None:
            self.cbd_film_thickness = np.zeros(n)
        self.cbd_film_thickness = np.asarray(self.cbd_film_thickness, dtype=float).reshape(-1)
        if len(self.particle_layers) != n or len(self.cbd_film_thickness) != n:
            raise ValueError("particle_layers and cbd_film_thickness need one entry per particle")
        self.periodic = tuple(bool(p) for p in self.periodic)
        if self.periodic[2]:
            raise ValueError("a microstructure cannot be periodic along z (current collector)")
        if not 0.0 <= self.cbd_nanoporosity < 1.0:
            raise ValueError(f"cbd_nanoporosity must lie in [0, 1), got {self.cbd_nanoporosity}")
        if not self.layers:
            self.layers = [Layer("electrode", 0.0, float(self.box[2]))]
        if n and self.particle_layers.max() >= len(self.layers):
            raise ValueError("a particle refers to a layer that does not exist")

    # ------------------------------------------------------------------ voxels
    def grid_shape(self, voxel_size: float) -> tuple[int, int, int]:
        if not voxel_size > 0:
            raise ValueError(f"voxel size must be positive, got {voxel_size}")
        shape = tuple(max(1, int(round(L / voxel_size))) for L in self.box)
        return shape

    def rasterize(self, voxel_size: float) -> VoxelImage:
        """Label image at (about) ``voxel_size``.

        The box is split into ``round(L / voxel_size)`` voxels per axis, so spacings may differ
        slightly from ``voxel_size`` when it does not divide the box. Each voxel takes the phase
        of its centre: AM over CBD over pore. A voxel inside several AM spheres goes to the one
        of least power distance |x - c|^2 - r^2.
        """
        from .raster import paint_capsules, paint_spheres

        shape = self.grid_shape(voxel_size)
        spacing = self.box / np.array(shape)
        phase = np.full(shape, PORE, dtype=np.uint8)
        particle = np.zeros(shape, dtype=np.int32)
        best = np.full(shape, np.inf, dtype=np.float64)
        paint_spheres(phase, spacing, self.periodic, self.particles.centres, self.particles.radii,
                      AM, particle=particle, ids=self.particle_ids, best=best)
        grid = (phase, spacing, self.periodic)
        film = self.cbd_film_thickness > 0
        if np.any(film):
            paint_spheres(*grid, self.particles.centres[film],
                          self.particles.radii[film] + self.cbd_film_thickness[film], CBD)
        paint_spheres(*grid, self.cbd_spheres.centres, self.cbd_spheres.radii, CBD)
        paint_capsules(*grid, self.cbd_capsules.p0, self.cbd_capsules.p1,
                       self.cbd_capsules.radii, CBD)
        return VoxelImage(phase, spacing, particle=particle,
                          cbd_nanoporosity=self.cbd_nanoporosity)

    # ------------------------------------------------------------------ io
    def save(self, path: str | Path) -> None:
        """Write to HDF5 (lossless: arrays as datasets, records as JSON attributes)."""
        path = Path(path)
        with h5py.File(path, "w") as f:
            f.attrs["format"] = "electrode3d.Microstructure"
            f.attrs["format_version"] = FORMAT_VERSION
            f["box"] = self.box
            f.attrs["periodic"] = json.dumps(list(self.periodic))
            f.attrs["cbd_nanoporosity"] = self.cbd_nanoporosity
            f.attrs["densities_kg_m3"] = json.dumps(self.densities_kg_m3)
            f.attrs["layers"] = json.dumps([vars(layer) for layer in self.layers])
            f.attrs["metadata"] = json.dumps(self.metadata, default=_json_default)
            g = f.create_group("particles")
            g["centres"] = self.particles.centres
            g["radii"] = self.particles.radii
            g["ids"] = self.particle_ids
            g["layers"] = self.particle_layers
            g["film_thickness"] = self.cbd_film_thickness
            g = f.create_group("cbd_spheres")
            g["centres"] = self.cbd_spheres.centres
            g["radii"] = self.cbd_spheres.radii
            g = f.create_group("cbd_capsules")
            g["p0"] = self.cbd_capsules.p0
            g["p1"] = self.cbd_capsules.p1
            g["radii"] = self.cbd_capsules.radii

    @classmethod
    def load(cls, path: str | Path) -> Microstructure:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no microstructure file at {path}")
        with h5py.File(path, "r") as f:
            if f.attrs.get("format") != "electrode3d.Microstructure":
                raise ValueError(f"{path} is not an electrode3d microstructure file")
            version = int(f.attrs["format_version"])
            if version > FORMAT_VERSION:
                raise ValueError(f"{path} has format version {version}; this electrode3d reads "
                                 f"up to {FORMAT_VERSION}")
            p = f["particles"]
            return cls(
                box=f["box"][()],
                particles=Spheres(p["centres"][()], p["radii"][()]),
                particle_ids=p["ids"][()],
                particle_layers=p["layers"][()],
                cbd_film_thickness=p["film_thickness"][()],
                cbd_spheres=Spheres(f["cbd_spheres/centres"][()], f["cbd_spheres/radii"][()]),
                cbd_capsules=Capsules(f["cbd_capsules/p0"][()], f["cbd_capsules/p1"][()],
                                      f["cbd_capsules/radii"][()]),
                periodic=tuple(json.loads(f.attrs["periodic"])),
                cbd_nanoporosity=float(f.attrs["cbd_nanoporosity"]),
                densities_kg_m3=json.loads(f.attrs["densities_kg_m3"]),
                layers=[Layer(**d) for d in json.loads(f.attrs["layers"])],
                metadata=json.loads(f.attrs["metadata"]),
            )


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in metadata")
