"""The whole chain from one TOML file: structure -> mesh -> discharge (or a rate sweep).

Schema: docs/config.md. Every table is optional except [structure]; unknown keys are refused
with the closest known ones. Rank 0 builds the structure and writes files; the mesh and the
discharge are distributed over the communicator.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROUTES = ("voxel", "spheres", "cgal")


class ConfigError(ValueError):
    pass


SCHEMA = {
    "structure": {"kind", "recipe", "seed", "radius_um", "box_um", "thickness_um", "counts",
                  "spacing_um", "path"},
    "mesh": {"route", "voxel_size_um", "size_um", "bulk_size_um", "separator_um", "mesh_cbd"},
    "parameters": {"active_material", "electrolyte", "values"},
    "model": {"cbd_reactive"},
    "experiment": {"c_rate", "current_density_mA_cm2", "cutoff_V", "report_dod", "fields_dod"},
    "sweep": {"c_rates"},
    "solver": {"linear"},
}
KINDS = ("recipe", "single_sphere", "sphere_lattice", "file")


def _check(table: dict, allowed, where: str):
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=2)
            raise ConfigError(f"unknown key {key!r} in {where}"
                              + (f"; did you mean {close[0]!r}?" if close else
                                 f"; allowed: {sorted(allowed)}"))


@dataclass
class RunConfig:
    structure: dict
    mesh: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    experiment: dict = field(default_factory=dict)
    sweep: dict = field(default_factory=dict)
    solver: dict = field(default_factory=dict)
    base: Path = Path(".")

    @classmethod
    def from_dict(cls, data: dict, base: Path = Path(".")) -> RunConfig:
        _check(data, SCHEMA, "the config")
        for name, table in data.items():
            if not isinstance(table, dict):
                raise ConfigError(f"[{name}] must be a table")
            _check({k: v for k, v in table.items() if k != "values"}, SCHEMA[name], f"[{name}]")
        if "structure" not in data:
            raise ConfigError("the config needs a [structure] table")
        kind = data["structure"].get("kind", "recipe")
        if kind not in KINDS:
            close = difflib.get_close_matches(kind, KINDS, n=1)
            raise ConfigError(f"unknown structure kind {kind!r}; known: {list(KINDS)}"
                              + (f"; did you mean {close[0]!r}?" if close else ""))
        route = data.get("mesh", {}).get("route", "voxel")
        if route not in ROUTES:
            raise ConfigError(f"mesh route must be one of {list(ROUTES)}, got {route!r}")
        ex = data.get("experiment", {})
        if "c_rate" in ex and "current_density_mA_cm2" in ex:
            raise ConfigError("[experiment]: give c_rate or current_density_mA_cm2, not both")
        return cls(**data, base=base)

    @classmethod
    def load(cls, path: str | Path) -> RunConfig:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: {e}") from None
        return cls.from_dict(data, base=path.parent)


# ---- structures ------------------------------------------------------------------------------

def single_sphere(radius_um: float = 5.0, box_um: float | None = None,
                  thickness_um: float | None = None):
    """One particle of radius R centred on the current collector (a hemisphere: its cut face
    is the electronic contact and a no-flux plane, so its diffusion is a full sphere's) in
    electrolyte, under the separator added by the mesher."""
    from mesostructure import Microstructure, Spheres

    r = radius_um * 1e-6
    box = (box_um or 2.5 * radius_um) * 1e-6
    h = (thickness_um or 1.5 * radius_um) * 1e-6
    if box <= 2 * r or h <= r:
        raise ConfigError("single_sphere: the box must be wider than the particle and the "
                          "electrode thicker than its radius")
    return Microstructure(box=(box, box, h), particles=Spheres([[box / 2, box / 2, 0.0]], [r]))


def sphere_lattice(radius_um: float = 5.0, counts=(2, 2, 3), spacing_um: float | None = None):
    """A simple cubic array of equal spheres; a spacing below 2R makes neighbours overlap
    (electronic paths through the stack); the first layer is cut by the current collector."""
    from mesostructure import Microstructure, Spheres

    r = radius_um * 1e-6
    a = (spacing_um or 1.9 * radius_um) * 1e-6
    nx, ny, nz = (int(c) for c in counts)
    if min(nx, ny, nz) < 1:
        raise ConfigError("sphere_lattice: counts must be positive")
    centres = [[(i + 0.5) * a, (j + 0.5) * a, r * 0.8 + k * a]
               for i in range(nx) for j in range(ny) for k in range(nz)]
    top = r * 0.8 + (nz - 1) * a + r + 0.5 * a
    return Microstructure(box=(nx * a, ny * a, top),
                          particles=Spheres(np.array(centres), np.full(len(centres), r)))


def build_structure(cfg: RunConfig, progress=None):
    from mesostructure import Microstructure, generate, load_recipe

    s = dict(cfg.structure)
    kind = s.pop("kind", "recipe")
    if kind == "single_sphere":
        return single_sphere(s.get("radius_um", 5.0), s.get("box_um"), s.get("thickness_um"))
    if kind == "sphere_lattice":
        return sphere_lattice(s.get("radius_um", 5.0), s.get("counts", (2, 2, 3)),
                              s.get("spacing_um"))
    if kind == "file":
        return Microstructure.load(cfg.base / s["path"])
    recipe = s.get("recipe", "default")
    from .cli import default_recipe_path

    path = default_recipe_path() if recipe == "default" else cfg.base / recipe
    rec = load_recipe(path)
    if "seed" in s:
        import dataclasses

        rec = dataclasses.replace(rec, seed=int(s["seed"]))
    return generate(rec, progress=progress)


def build_tagged_mesh(ms, cfg: RunConfig, comm, progress=None):
    from meshing import CGALOptions, SizeOptions, build_cgal_mesh, build_mesh, build_voxel_mesh

    m = cfg.mesh
    sep = m.get("separator_um", 12.0) * 1e-6
    route = m.get("route", "voxel")
    if route == "spheres":
        size = SizeOptions(m.get("size_um", 0.8) * 1e-6, m.get("bulk_size_um", 3.0) * 1e-6)
        return build_mesh(ms, comm, separator_thickness=sep, size=size, progress=progress)
    if route == "cgal":
        opt = CGALOptions(m.get("size_um", 1.5) * 1e-6, m.get("bulk_size_um", 4.0) * 1e-6,
                          mesh_cbd=bool(m.get("mesh_cbd", False)))
        return build_cgal_mesh(ms, comm, separator_thickness=sep, options=opt,
                               progress=progress)
    image = ms.rasterize(m.get("voxel_size_um", 1.0) * 1e-6) if comm.rank == 0 else None
    image = comm.bcast(image, root=0)
    return build_voxel_mesh(image, comm, separator_thickness=sep, progress=progress)


# ---- rate capability (paper 003, eq. 6) -------------------------------------------------------

def peukert_fit(currents, values) -> dict:
    """Least-squares fit of Y = beta I^-alpha (log-log); gamma = 2^-alpha is the factor by
    which Y drops for every doubling of the current (paper 003's rate-capability coefficient,
    written there as 10^(-0.301 alpha))."""
    currents, values = np.asarray(currents, float), np.asarray(values, float)
    ok = (currents > 0) & (values > 0)
    if ok.sum() < 2:
        raise ValueError("a Peukert fit needs at least two positive (current, value) pairs")
    slope, intercept = np.polyfit(np.log(currents[ok]), np.log(values[ok]), 1)
    return {"alpha": float(-slope), "beta": float(math.exp(intercept)),
            "gamma": float(2.0 ** slope)}


def discharge_energy_mWh_cm2(res) -> float:
    t, V, I = (np.asarray(a) for a in (res.time_s, res.voltage, res.current_A))
    area_cm2 = res.info["cc_area_m2"] * 1e4
    return float(np.trapezoid(V * I, t) / 3.6 / area_cm2)
