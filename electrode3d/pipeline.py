"""The whole chain from one TOML file: structure -> mesh -> discharge (or a rate sweep).

Schema: docs/config.md. Every table is optional except [structure]; unknown keys are refused
with the closest known ones. Rank 0 builds the structure and writes files; the mesh and the
discharge are distributed over the communicator.
"""

from __future__ import annotations

import difflib
import math
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROUTES = ("voxel", "spheres", "cgal")


class ConfigError(ValueError):
    pass


def read_config_file(path: str | Path) -> dict:
    """A study or run file (TOML) as a dict; unreadable or malformed files raise ConfigError
    naming the file."""
    from mesostructure.recipe import read_toml

    try:
        return read_toml(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: {e}") from None


class RunError(RuntimeError):
    """A discharge that cannot be set up or resumed (bad parameters, experiment, checkpoint)."""


SCHEMA = {
    "structure": {"kind", "recipe", "seed", "radius_um", "box_um", "thickness_um", "counts",
                  "spacing_um", "path"},
    "mesh": {"route", "voxel_size_um", "size_um", "bulk_size_um", "separator_um", "mesh_cbd",
             "perturb_slivers"},
    "parameters": {"active_material", "electrolyte", "values"},
    "model": {"cbd_reactive", "lumped"},
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
    from mesostructure import Microstructure, generate

    s = dict(cfg.structure)
    kind = s.pop("kind", "recipe")
    if kind == "single_sphere":
        return single_sphere(s.get("radius_um", 5.0), s.get("box_um"), s.get("thickness_um"))
    if kind == "sphere_lattice":
        return sphere_lattice(s.get("radius_um", 5.0), s.get("counts", (2, 2, 3)),
                              s.get("spacing_um"))
    if kind == "file":
        return Microstructure.load(cfg.base / s["path"])
    return generate(structure_recipe(cfg), progress=progress)


def structure_recipe(cfg: RunConfig):
    """The generator recipe of a ``kind = "recipe"`` structure, with the config's overrides:
    ``seed``, ``box_um`` (lateral size) and ``thickness_um`` (e.g. a reduced-size electrode)."""
    from mesostructure import RecipeError
    from mesostructure.recipe import parse_recipe, read_toml

    from .cli import default_recipe_path

    s = cfg.structure
    recipe = s.get("recipe", "default")
    path = default_recipe_path() if recipe == "default" else cfg.base / recipe
    data = read_toml(path)
    box = dict(data.get("box", {}))
    if "box_um" in s:
        box["size_um"] = [float(s["box_um"])] * 2
    if "thickness_um" in s:
        box.pop("am_loading_mg_cm2", None)
        box["thickness_um"] = float(s["thickness_um"])
    data["box"] = box
    if "seed" in s:
        data["seed"] = int(s["seed"])
    try:
        return parse_recipe(data)
    except RecipeError as e:
        raise ConfigError(f"{path}: {e}") from None


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
                          mesh_cbd=bool(m.get("mesh_cbd", False)),
                          perturb_slivers=bool(m.get("perturb_slivers", False)))
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


def energy_mWh_cm2(time_s, voltage_V, current_A, cc_area_m2: float) -> float:
    """Discharge energy per current-collector area: the integral of V I dt."""
    t, V, I = (np.asarray(a, float) for a in (time_s, voltage_V, current_A))  # noqa: E741
    return float(np.trapezoid(V * I, t) / 3.6 / (cc_area_m2 * 1e4))


def discharge_energy_mWh_cm2(res) -> float:
    return energy_mWh_cm2(res.time_s, res.voltage, res.current_A, res.info["cc_area_m2"])


# ---- discharges --------------------------------------------------------------------------------

def run_discharge(tm, output: Path, *, c_rate=None, current_density_mA_cm2=None, cutoff=3.0,
                  active_material="NMC811_ORegan2022", electrolyte="Nyman2008", values=None,
                  cbd_reactive=False, lumped=False, linear="mumps",
                  report_dod=(0.25, 0.5, 0.75),
                  fields_dod=(0.5,), inputs=None, checkpoint_every_s=300.0, resume=True,
                  echo=None, progress=None):
    """Set up and run one discharge of ``tm`` (collective), write its results (rank 0) to
    ``output``; the state is checkpointed in ``output/checkpoint`` and resumed from there
    (``resume``). ``echo(str)`` receives one-line summaries and ``progress(str)`` a line per
    step, on rank 0 only. Raises RunError on every rank for bad inputs."""
    from echem import (
        CheckpointError,
        CheckpointOptions,
        Discharge,
        ExperimentError,
        ModelOptions,
        ParameterError,
        Simulation,
        SolverOptions,
        parameter_set,
    )
    from echem.domains import DomainError

    from .provenance import versions

    comm = tm.mesh.comm
    say = echo if (echo is not None and comm.rank == 0) else (lambda _m: None)
    t0 = time.perf_counter()
    try:
        params = parameter_set(active_material, electrolyte).update(values or {})
        if current_density_mA_cm2 is not None:
            ex = Discharge.from_mA_cm2(current_density_mA_cm2, cutoff_V=cutoff,
                                       report_dod=report_dod, field_dod=fields_dod)
        else:
            ex = Discharge(c_rate=c_rate, cutoff_V=cutoff, report_dod=report_dod,
                           field_dod=fields_dod)
        sim = Simulation(tm, params, ex, model_options=ModelOptions(cbd_reactive=cbd_reactive,
                                                                    lumped=lumped),
                         solver_options=SolverOptions(linear=linear),
                         callback=_step_reporter(progress if comm.rank == 0 else None))
    except (ParameterError, ExperimentError, DomainError, ValueError) as e:
        raise RunError(str(e)) from None
    d = sim.describe()
    say(f"{d['dofs_total']} unknowns on {comm.size} rank(s); usable capacity "
        f"{d['usable_capacity_mAh_cm2']:.4f} mAh/cm2; I = {d['current_A']:.4e} A "
        f"({d['c_rate']:.3g}C, {d['current_density_A_m2'] / 10:.4g} mA/cm2)")
    try:
        res = sim.run(fields_dir=Path(output) / "fields" if fields_dod else None,
                      checkpoint=CheckpointOptions(Path(output) / "checkpoint",
                                                   every_s=checkpoint_every_s, resume=resume))
    except CheckpointError as e:
        raise RunError(str(e)) from None
    info = {"command": "discharge", "inputs": {**(inputs or {}), "parameters":
                                               params.as_json(),
                                               "experiment": ex.describe(),
                                               "cbd_reactive": cbd_reactive,
                                               "lumped": lumped,
                                               "linear": linear},
            "versions": versions() | _echem_versions(), "wall_time_total_s":
                time.perf_counter() - t0, "mesh_report": _mesh_summary(tm.report)}
    res.write(output, comm, extra_info=info)
    s = res.summary()
    say(f"{s['stop_reason']}: {s['capacity_mAh_cm2']:.4f} mAh/cm2, "
        f"{s['capacity_mAh_g']:.1f} mAh/g at {s['final_voltage_V']:.3f} V after "
        f"{s['time_s']:.0f} s; wrote {output}")
    for w in s["warnings"]:
        say(f"warning: {w}")
    return res


def _step_reporter(progress):
    if progress is None:
        return None

    def show(step):
        progress(f"step {step.step}: t {step.time_s:.1f} s, V {step.voltage_V:.4f}, "
                 f"{step.capacity_mAh_cm2:.4f} mAh/cm2, {step.newton_iterations} Newton its")
    return show


def _mesh_summary(report: dict) -> dict:
    keys = ("route", "n_cells", "min_dihedral_deg", "volume_m3", "isolated_particles",
            "separator_thickness_m", "voxel_size_m")
    return {k: report[k] for k in keys if k in report}


def _echem_versions() -> dict:
    from importlib import metadata

    out = {}
    for name in ("fenics-dolfinx", "dolfinx-solver-real", "petsc4py", "mpi4py", "gmsh"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def discharge_options(cfg: RunConfig, inputs: dict | None = None, resume: bool = True) -> dict:
    """The keyword arguments of ``run_discharge`` that a config fixes (all but the current)."""
    ex, par = cfg.experiment, cfg.parameters
    return dict(cutoff=ex.get("cutoff_V", 3.0),
                active_material=par.get("active_material", "NMC811_ORegan2022"),
                electrolyte=par.get("electrolyte", "Nyman2008"),
                values=par.get("values", {}), cbd_reactive=cfg.model.get("cbd_reactive", False),
                lumped=cfg.model.get("lumped", False),
                linear=cfg.solver.get("linear", "mumps"),
                report_dod=tuple(ex.get("report_dod", (0.25, 0.5, 0.75))),
                fields_dod=tuple(ex.get("fields_dod", (0.5,))), inputs=inputs or {},
                resume=resume)


def prepare_electrode(cfg: RunConfig, output: Path, comm, config_text: str | None = None,
                      progress=None):
    """Structure (built and written on rank 0, broadcast) and distributed mesh of ``cfg``,
    saved as ``output/structure.h5`` and ``output/mesh/``; ``config_text`` is copied to
    ``output/config.toml``. Errors are raised on every rank."""
    from .parallel import on_rank0

    def make_structure():
        output.mkdir(parents=True, exist_ok=True)
        if config_text is not None:
            (output / "config.toml").write_text(config_text)
        ms = build_structure(cfg, progress=progress)
        ms.save(output / "structure.h5")
        return ms

    ms = comm.bcast(on_rank0(comm if comm.size > 1 else None, make_structure), root=0)
    tm = build_tagged_mesh(ms, cfg, comm, progress=progress if comm.rank == 0 else None)
    tm.save(output / "mesh")
    return ms, tm


def rate_sweep(tm, output: Path, c_rates, options: dict, *, current_density_1C=None,
               echo=None, progress=None) -> dict:
    """One discharge per C-rate in ``output/discharge_<C>C`` (finished ones are resumed from
    their checkpoints, not recomputed); ``rate_capability.csv`` and ``.json`` (Peukert fits of
    capacity and energy, paper 003 eq. 6) on rank 0. ``current_density_1C`` (mA/cm2) fixes the
    current of 1C instead of the electrode's own usable capacity (to compare electrodes at equal
    currents). Returns {"rows": [...], "fits": {...}} on every rank."""
    comm = tm.mesh.comm
    rows = []
    for c in c_rates:
        kw = ({"current_density_mA_cm2": float(c) * current_density_1C}
              if current_density_1C is not None else {"c_rate": float(c)})
        res = run_discharge(tm, output / f"discharge_{c:g}C", **kw, **options, echo=echo,
                            progress=progress)
        rows.append({"c_rate": float(c),
                     "current_density_mA_cm2": res.info["current_density_A_m2"] / 10.0,
                     "capacity_mAh_cm2": res.capacity_mAh_cm2[-1],
                     "capacity_mAh_g": res.capacity_mAh_g[-1],
                     "energy_mWh_cm2": discharge_energy_mWh_cm2(res),
                     "stop_reason": res.stop_reason})
    cur = [r["current_density_mA_cm2"] for r in rows]
    fits = {}
    if len(rows) >= 2:
        fits = {"capacity": peukert_fit(cur, [r["capacity_mAh_cm2"] for r in rows]),
                "energy": peukert_fit(cur, [r["energy_mWh_cm2"] for r in rows])}
    if comm.rank == 0:
        import json

        with open(output / "rate_capability.csv", "w") as f:
            f.write(",".join(rows[0]) + "\n")
            for r in rows:
                f.write(",".join(f"{v:.10g}" if isinstance(v, float) else str(v)
                                 for v in r.values()) + "\n")
        (output / "rate_capability.json").write_text(json.dumps(
            {"current": "current density, mA/cm2", **fits}, indent=2))
        if echo is not None and fits:
            echo(f"rate capability: gamma (energy) {fits['energy']['gamma']:.3f}, "
                 f"alpha {fits['energy']['alpha']:.3f}")
    return {"rows": rows, "fits": fits}
