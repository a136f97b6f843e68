"""Characterise a microstructure or a label image: every voxel metric in one call.

The transport solves are independent, so they run in a pool of worker processes (``workers``).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .metrics import (
    MEDIA,
    SIGMA_AM_S_M,
    SIGMA_CBD_S_M,
    boundary_coverage,
    effective_conductivity,
    heterogeneity_factor,
    phase_profiles,
    plane_tortuosity,
    profile_planes,
    relative_phase_difference,
    tortuosity,
)
from .microstructure import Microstructure
from .particle_features import check_shell, particle_neighbourhood
from .surfaces import interface_areas, particle_areas
from .voxel import AM, CBD, PORE, VoxelImage


@dataclass(frozen=True)
class CharacterizationOptions:
    """What to compute. Defaults: through-plane (z) transport of every medium, per-particle
    features with a 10-plane tortuosity profile and a local-porosity shell one particle radius
    thick (``local_shell`` in ``local_shell_unit``: "radius" or "m"), paper 001's
    conductivities. ``periodic_lateral``: periodic lateral faces for transport, and for a label
    image also for the per-particle neighbourhoods (a Microstructure's own flags say that)."""

    directions: str = "z"
    media: tuple[str, ...] = MEDIA
    per_particle: bool = True
    n_planes: int = 10
    sigma_am_s_m: float = SIGMA_AM_S_M
    sigma_cbd_s_m: float = SIGMA_CBD_S_M
    periodic_lateral: bool = False
    local_shell: float = 1.0
    local_shell_unit: str = "radius"
    workers: int | None = None

    def __post_init__(self):
        if not self.directions or set(self.directions) - set("xyz"):
            raise ValueError(f"directions must be letters from 'xyz', got {self.directions!r}")
        bad = set(self.media) - set(MEDIA)
        if bad:
            raise ValueError(f"unknown media {sorted(bad)}; choose from {MEDIA}")
        if self.n_planes < 2:
            raise ValueError("n_planes must be at least 2")
        check_shell(self.local_shell, self.local_shell_unit)


@dataclass
class Metrics:
    scalars: dict
    profiles: dict
    particles: list[dict] = field(default_factory=list)
    tortuosity_profile: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "scalars": self.scalars,
            "profiles": {k: np.asarray(v).tolist() for k, v in self.profiles.items()},
            "tortuosity_profile": {k: np.asarray(v).tolist()
                                   for k, v in self.tortuosity_profile.items()},
            "n_particles": len(self.particles),
        }


def _task(args):
    kind, image, opts, extra = args
    if kind == "tortuosity":
        medium, axis = extra
        return tortuosity(image, medium, axis, periodic_lateral=opts.periodic_lateral).as_dict()
    if kind == "conductivity":
        return effective_conductivity(image, extra, sigma_am=opts.sigma_am_s_m,
                                      sigma_cbd=opts.sigma_cbd_s_m,
                                      periodic_lateral=opts.periodic_lateral)
    if kind == "plane":
        return plane_tortuosity(image, extra, "electrolyte")
    raise ValueError(kind)


def _size(task) -> float:
    """Relative cost of a task: the share of voxels that take part."""
    kind, image, _opts, extra = task
    if kind == "plane":
        return 1.0 - extra / image.shape[2]
    if kind == "tortuosity":
        return {"solid": 3.0, "electrolyte": 2.0, "pore": 1.0}[extra[0]]
    return 0.0


def characterize(source: Microstructure | VoxelImage, voxel_size: float | None = None,
                 options: CharacterizationOptions | None = None,
                 progress: Callable[[str], None] | None = None) -> Metrics:
    """All voxel metrics of ``source`` (a Microstructure is rasterised at ``voxel_size``)."""
    opts = options or CharacterizationOptions()
    say = progress or (lambda msg: None)
    ms = source if isinstance(source, Microstructure) else None
    if ms is not None:
        if voxel_size is None:
            raise ValueError("characterising a Microstructure needs a voxel size")
        image = ms.rasterize(voxel_size)
    else:
        image = source
    say(f"image {image.shape} at {image.spacing.max() * 1e6:.3g} um")

    tasks = [("tortuosity", image, opts, (m, a)) for m in opts.media for a in opts.directions]
    tasks += [("conductivity", image, opts, a) for a in opts.directions]
    planes = profile_planes(image.shape[2], opts.n_planes) \
        if opts.per_particle and image.particle is not None else np.zeros(0, int)
    tasks += [("plane", image, opts, int(k)) for k in planes]
    workers = opts.workers or min(2, os.cpu_count() or 1)
    say(f"{len(tasks)} transport solves on {workers} worker(s)")
    if workers > 1 and len(tasks) > 1:
        import multiprocessing as mp

        # slowest first for load balance: the high-contrast conductivity, then the solid, ...
        rank = {"conductivity": 0, "tortuosity": 1, "plane": 2}
        order = sorted(range(len(tasks)), key=lambda i: (rank[tasks[i][0]], -_size(tasks[i])))
        # forkserver: workers never inherit an MPI/PETSc state initialised in this process
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("forkserver")) as pool:
            done = list(pool.map(_task, [tasks[i] for i in order]))
        results = [None] * len(tasks)
        for i, r in zip(order, done, strict=True):
            results[i] = r
    else:
        results = [_task(t) for t in tasks]

    scalars: dict = {
        "shape": list(image.shape),
        "voxel_size_m": image.spacing.tolist(),
        "size_m": image.size_m.tolist(),
        "cbd_nanoporosity": image.cbd_nanoporosity,
        "volume_fractions": {"am": image.fraction(AM), "cbd": image.fraction(CBD),
                             "pore": image.fraction(PORE)},
    }
    scalars["porosity"] = scalars["volume_fractions"]["pore"] + \
        image.cbd_nanoporosity * scalars["volume_fractions"]["cbd"]
    i = 0
    tort = {}
    for m in opts.media:
        for a in opts.directions:
            tort[f"{m}_{a}"] = results[i]
            i += 1
    scalars["tortuosity"] = tort
    scalars["effective_conductivity_S_m"] = {a: results[i + j] for j, a in
                                             enumerate(opts.directions)}
    scalars["conductivity_inputs_S_m"] = {"am": opts.sigma_am_s_m, "cbd": opts.sigma_cbd_s_m}
    i += len(opts.directions)
    plane_tau = np.array(results[i:], float)

    say("interface areas")
    areas = interface_areas(image)
    volume = float(np.prod(image.size_m))
    scalars["areas"] = areas
    scalars["specific_areas_m-1"] = {k.replace("_m2", ""): v / volume for k, v in areas.items()}
    am_surface = areas["am_pore_m2"] + areas["am_cbd_m2"]
    scalars["active_surface_fraction"] = areas["am_pore_m2"] / am_surface if am_surface else 0.0
    scalars["coverage"] = boundary_coverage(image)
    profiles = phase_profiles(image)

    t_prof = {}
    if len(planes):
        t_prof = {"z_m": planes * image.spacing[2], "tortuosity_factor": plane_tau}
    particles = []
    if opts.per_particle and image.particle is not None:
        say("per-particle features")
        periodic = ms.periodic[:2] if ms is not None else (opts.periodic_lateral,) * 2
        particles = _particle_table(image, t_prof, opts, periodic)
    if ms is not None:
        scalars["layers"] = _layer_metrics(ms, image)
    return Metrics(scalars, profiles, particles, t_prof)


def _particle_table(image: VoxelImage, t_prof: dict, opts: CharacterizationOptions,
                    periodic) -> list[dict]:
    rows = []
    near = particle_neighbourhood(image, opts.local_shell, opts.local_shell_unit, periodic)
    zt, tt = t_prof.get("z_m"), t_prof.get("tortuosity_factor")
    finite = np.isfinite(tt) if tt is not None else None
    for pid, rec in particle_areas(image).items():
        z = rec["centroid_m"][2]
        tau = float(np.interp(z, zt[finite], tt[finite])) if finite is not None and \
            finite.any() else float("nan")
        rows.append({"particle_id": pid, "volume_m3": rec["volume_m3"],
                     "centroid_x_m": rec["centroid_m"][0], "centroid_y_m": rec["centroid_m"][1],
                     "centroid_z_m": z, "surface_m2": rec["surface_m2"],
                     "active_surface_m2": rec["active_surface_m2"],
                     "cbd_contact_m2": rec["cbd_contact_m2"],
                     "am_contact_m2": rec["am_contact_m2"],
                     "electrolyte_tortuosity_from_separator": tau,
                     "distance_to_separator_m": float(image.size_m[2] - z),
                     **near[pid],
                     "cut_by_box": rec["cut_by_box"],
                     "touches_current_collector": rec["touches_current_collector"]})
    return rows


def _layer_metrics(ms: Microstructure, image: VoxelImage) -> dict:
    """Per-layer phase fractions and the heterogeneity factor delta (paper 003, eq. 3)."""
    zc = image.z_centres()
    layers, f, w = [], [], []
    for layer in ms.layers:
        m = (zc >= layer.z_min) & (zc < layer.z_max)
        sub = image.phase[:, :, m]
        am, cbd = float(np.mean(sub == AM)), float(np.mean(sub == CBD))
        layers.append({"name": layer.name, "z_min_m": layer.z_min, "z_max_m": layer.z_max,
                       "am": am, "cbd": cbd, "pore": float(np.mean(sub == PORE))})
        f.append(cbd / am if am > 0 else 0.0)
        w.append(am * (layer.z_max - layer.z_min))
    out = {"layers": layers, "delta_voxel": heterogeneity_factor(f, w)}
    recipe = ms.metadata.get("recipe")
    if recipe and len(ms.layers) > 1:
        comp = [_layer_recipe(recipe, i)["composition_wt"] for i in range(len(ms.layers))]
        fc = [c.get("carbon", 0.0) / 100.0 for c in comp]
        out["delta_recipe"] = heterogeneity_factor(fc, w)
    return out


def _layer_recipe(recipe: dict, i: int) -> dict:
    from .recipe import _merge

    return _merge(recipe.get("electrode", {}), recipe.get("layer", [{}])[i])


def write_outputs(metrics: Metrics, outdir: str | Path, inputs: dict | None = None,
                  reference: Metrics | None = None) -> Path:
    """metrics.json, particles.csv, profiles.csv and PNG plots in ``outdir``."""
    from . import plots

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    data = metrics.to_json()
    if inputs:
        data["inputs"] = inputs
    if reference is not None:
        rpd = relative_phase_difference(metrics.profiles, reference.profiles)
        data["relative_phase_difference"] = {k: np.asarray(v).tolist() for k, v in rpd.items()}
        plots.plot_rpd(rpd, out / "rpd.png")
    (out / "metrics.json").write_text(json.dumps(_strict(data), indent=2, default=_finite,
                                                 allow_nan=False))
    with open(out / "profiles.csv", "w", newline="") as fh:
        keys = ["z_m", "am", "cbd", "pore", "porosity"]
        wr = csv.writer(fh)
        wr.writerow(keys)
        for row in zip(*(metrics.profiles[k] for k in keys), strict=True):
            wr.writerow([f"{v:.6g}" for v in row])
    if metrics.particles:
        with open(out / "particles.csv", "w", newline="") as fh:
            wr = csv.DictWriter(fh, fieldnames=list(metrics.particles[0]))
            wr.writeheader()
            wr.writerows(metrics.particles)
    plots.plot_profiles(metrics, out / "profiles.png")
    if metrics.tortuosity_profile:
        plots.plot_tortuosity_profile(metrics, out / "tortuosity_profile.png")
    return out


def _strict(obj):
    """Standard JSON: non-finite numbers (a medium that does not percolate has an infinite
    tortuosity) become null."""
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_strict(v) for v in obj]
    if isinstance(obj, float | np.floating) and not np.isfinite(obj):
        return None
    return obj


def _finite(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(type(obj).__name__)
