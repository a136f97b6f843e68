"""Process -> property maps (paper 002, Duquesnoy et al.): a grid of process variables (AM
mass fraction, pre-calendering porosity, calendering degree or pressure) is turned into
calendered electrodes by a calendering law; each condition is generated with several seeds,
characterised (tortuosities, effective ionic conductivity, current-collector coverage, active
surface, electronic conductivity), averaged, fitted and mapped (``property_analysis``).

Study file (TOML; docs/studies.md has every key)::

    [study]
    recipe = "../recipes/paper002_nmc111.toml"  # base recipe (single layer), or "default"
    seeds = 10                    # structures per condition (paper 002: 10)
    box_um = [50.0, 50.0]         # lateral size (default: the recipe's)
    thickness_init_um = 100.0     # before calendering (default: the recipe's thickness)

    [grid]
    am_wt = [93.0, 94.5, 96.0]    # AM wt %; carbon and binder share the rest as in the recipe
    eps_init = [0.42, 0.48]       # porosity before calendering
    calendering_degree = [0.0, 0.1, 0.2]   # law "volume"; law "meyer" takes pressure_MPa

    [calendering]
    law = "volume"                # solids conserved, lateral size fixed
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..pipeline import ConfigError, read_config_file
from .rate_capability import _refuse_unknown

SIGMA_LP30_S_M = 1.119  # paper 002, eq. 1: LP30 at 25 C
LAWS = {"volume": "calendering_degree", "meyer": "pressure_MPa"}
STUDY_KEYS = {"recipe", "seeds", "first_seed", "box_um", "thickness_init_um", "voxel_size_um",
              "min_porosity", "sigma_bulk_S_m", "save_structures"}
GRID_KEYS = {"am_wt", "eps_init", *LAWS.values()}
CALENDERING_KEYS = {"law", "eps_min", "gamma_c_MPa"}
FIT_KEYS = {"model", "test_fraction", "cv_folds", "seed"}
MODELS = ("gaussian_process", "polynomial_ridge")


class StudyRunError(RuntimeError):
    """Structures that could not be computed (raised on every rank)."""


# ---- calendering laws ------------------------------------------------------------------------

def volume_calendering(eps_init: float, degree: float) -> tuple[float, float]:
    """Calendering by thickness reduction with the solids conserved and the lateral size fixed:
    the thickness becomes (1 - d) of the initial one and the porosity
    eps_cal = 1 - (1 - eps_init) / (1 - d). Returns (eps_cal, thickness ratio)."""
    ratio = 1.0 - degree
    return 1.0 - (1.0 - eps_init) / ratio, ratio


def meyer_porosity(eps_init: float, pressure: float, eps_min: float, gamma_c: float) -> float:
    """Meyer et al. 2017 (J. Mater. Process. Technol. 249, 172; ref. 18 of paper 002):
    eps(q) = eps_min + (eps_init - eps_min) exp(-q / gamma_c), q and gamma_c in one unit."""
    return eps_min + (eps_init - eps_min) * math.exp(-pressure / gamma_c)


def solid_conserving_thickness_ratio(eps_init: float, eps_cal: float) -> float:
    """Thickness after / before, with the solid volume and the lateral size conserved."""
    return (1.0 - eps_init) / (1.0 - eps_cal)


@dataclass(frozen=True)
class CalenderingLaw:
    law: str = "volume"
    eps_min: float | None = None
    gamma_c_MPa: float | None = None

    @property
    def variable(self) -> str:
        return LAWS[self.law]

    @property
    def label(self) -> str:
        return ("calendering degree d (thickness reduction)" if self.law == "volume"
                else "calender pressure (MPa)")

    def apply(self, eps_init: float, x: float) -> tuple[float, float]:
        """(eps_cal, thickness after / before) at calendering variable ``x``."""
        if self.law == "volume":
            return volume_calendering(eps_init, x)
        eps = meyer_porosity(eps_init, x, self.eps_min, self.gamma_c_MPa)
        return eps, solid_conserving_thickness_ratio(eps_init, eps)


@dataclass(frozen=True)
class Condition:
    am_wt: float
    eps_init: float
    x: float  # the calendering variable (degree or pressure)
    eps_cal: float
    thickness_cal_um: float
    variable: str

    @property
    def id(self) -> str:
        tag = "d" if self.variable == "calendering_degree" else "p"
        return f"am{self.am_wt:g}_ei{self.eps_init:g}_{tag}{self.x:g}"

    def describe(self) -> str:
        return f"am_wt = {self.am_wt:g}, eps_init = {self.eps_init:g}, {self.variable} = {self.x:g}"

    def variables(self) -> dict:
        return {"am_wt": self.am_wt, "eps_init": self.eps_init, self.variable: self.x}


# ---- the study file ---------------------------------------------------------------------------

def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _values(grid: dict, key: str, lo: float, hi: float, closed_lo: bool) -> tuple[float, ...]:
    raw = grid.get(key)
    if raw is None:
        raise ConfigError(f"[grid] needs {key}")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"[grid] {key} is empty; give a list of at least one value")
    vals = tuple(_number(v, f"[grid] {key}") for v in raw)
    if any(not ((lo <= v if closed_lo else lo < v) and v < hi) for v in vals):
        raise ConfigError(f"[grid] {key} values must lie in {'[' if closed_lo else '('}{lo:g}, "
                          f"{hi:g}), got {list(vals)}")
    if len(set(vals)) != len(vals):
        raise ConfigError(f"[grid] {key} repeats a value: {list(vals)}")
    return tuple(sorted(vals))


@dataclass(frozen=True)
class FitOptions:
    model: str = "gaussian_process"
    test_fraction: float = 0.2
    cv_folds: int = 5
    seed: int = 0


@dataclass(frozen=True)
class PropertyMapStudy:
    recipe: dict  # the base recipe as read
    recipe_path: str
    am_wt: tuple[float, ...]
    eps_init: tuple[float, ...]
    calendering: tuple[float, ...]
    law: CalenderingLaw
    seeds: int = 10
    first_seed: int = 1
    box_um: tuple[float, float] = (50.0, 50.0)
    thickness_init_um: float = 100.0
    voxel_size_um: float = 0.5
    min_porosity: float = 0.05
    sigma_bulk_S_m: float = SIGMA_LP30_S_M
    save_structures: bool = False
    fit: FitOptions = field(default_factory=FitOptions)
    source: dict = field(default_factory=dict)
    base: Path = Path(".")

    @classmethod
    def from_dict(cls, data: dict, base: Path = Path(".")) -> PropertyMapStudy:
        from mesostructure import RecipeError, parse_recipe
        from mesostructure.recipe import read_toml

        from ..cli import default_recipe_path

        _refuse_unknown(data, {"study", "grid", "calendering", "fit"}, "the study file")
        for name in ("study", "grid", "calendering", "fit"):
            if not isinstance(data.get(name, {}), dict):
                raise ConfigError(f"[{name}] must be a table")
        st, grid = data.get("study", {}), data.get("grid", {})
        cal, fit = data.get("calendering", {}), data.get("fit", {})
        _refuse_unknown(st, STUDY_KEYS, "[study]")
        _refuse_unknown(grid, GRID_KEYS, "[grid]")
        _refuse_unknown(cal, CALENDERING_KEYS, "[calendering]")
        _refuse_unknown(fit, FIT_KEYS, "[fit]")

        # the base recipe
        if "recipe" not in st:
            raise ConfigError("[study] needs recipe = a generator recipe file (docs/recipes.md) "
                              "or \"default\"")
        rpath = default_recipe_path() if st["recipe"] == "default" else base / st["recipe"]
        if not rpath.is_file():
            raise ConfigError(f"[study] recipe {str(rpath)!r} does not exist")
        try:
            recipe = read_toml(rpath)
            parsed = parse_recipe(recipe)
        except (RecipeError, OSError) as e:
            raise ConfigError(f"[study] recipe {str(rpath)!r}: {e}") from None
        if len(parsed.layers) != 1:
            raise ConfigError(f"[study] recipe {str(rpath)!r} has {len(parsed.layers)} layers; "
                              "property maps take a single-layer recipe")
        comp = parsed.layers[0].composition_wt
        if comp["carbon"] + comp["binder"] <= 0:
            raise ConfigError(f"[study] recipe {str(rpath)!r} has no carbon or binder whose "
                              "ratio the AM fractions could keep")

        # the calendering law
        law = cal.get("law", "volume")
        if law not in LAWS:
            close = difflib.get_close_matches(str(law), list(LAWS), n=1)
            raise ConfigError(f"[calendering] law {law!r} is not one of {tuple(LAWS)}"
                              + (f"; did you mean {close[0]!r}?" if close else ""))
        var = LAWS[law]
        other = next(v for v in LAWS.values() if v != var)
        if other in grid:
            raise ConfigError(f"[grid] {other} belongs to law "
                              f"{next(k for k, v in LAWS.items() if v == other)!r}; law "
                              f"{law!r} takes {var}")
        if law == "volume":
            if cal.keys() & {"eps_min", "gamma_c_MPa"}:
                raise ConfigError("[calendering] eps_min and gamma_c_MPa belong to law "
                                  "'meyer'; law 'volume' takes none")
            calendering = _values(grid, var, 0.0, 1.0, closed_lo=True)
            claw = CalenderingLaw("volume")
        else:
            if "eps_min" not in cal or "gamma_c_MPa" not in cal:
                raise ConfigError("[calendering] law 'meyer' needs eps_min and gamma_c_MPa, "
                                  "fitted to compaction experiments (there are no defaults)")
            eps_min = _number(cal["eps_min"], "[calendering] eps_min")
            gamma = _number(cal["gamma_c_MPa"], "[calendering] gamma_c_MPa")
            if gamma <= 0:
                raise ConfigError(f"[calendering] gamma_c_MPa must be positive, got {gamma:g}")
            calendering = _values(grid, var, 0.0, math.inf, closed_lo=True)
            claw = CalenderingLaw("meyer", eps_min, gamma)
        am = _values(grid, "am_wt", 0.0, 100.0, closed_lo=False)
        eps = _values(grid, "eps_init", 0.0, 1.0, closed_lo=False)
        if law == "meyer" and not 0.0 <= claw.eps_min < min(eps):
            raise ConfigError(f"[calendering] eps_min must lie in [0, min(eps_init) = "
                              f"{min(eps):g}), got {claw.eps_min:g}")

        # [study] scalars
        seeds = st.get("seeds", 10)
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise ConfigError(f"[study] seeds must be a positive integer, got {seeds!r}")
        first = st.get("first_seed", 1)
        if isinstance(first, bool) or not isinstance(first, int) or first < 0:
            raise ConfigError(f"[study] first_seed must be a non-negative integer, got {first!r}")
        box = st.get("box_um", list(parsed.size_um))
        if not isinstance(box, list) or len(box) != 2:
            raise ConfigError(f"[study] box_um must be [Lx, Ly] in um, got {box!r}")
        box = tuple(_number(b, "[study] box_um") for b in box)
        if min(box) <= 0:
            raise ConfigError(f"[study] box_um must be positive, got {list(box)}")
        scal = {}
        for key, default in (("thickness_init_um", parsed.thickness_um),
                             ("voxel_size_um", parsed.voxel_size_um),
                             ("sigma_bulk_S_m", SIGMA_LP30_S_M)):
            scal[key] = _number(st.get(key, default), f"[study] {key}")
            if scal[key] <= 0:
                raise ConfigError(f"[study] {key} must be positive, got {scal[key]:g}")
        min_por = _number(st.get("min_porosity", 0.05), "[study] min_porosity")
        if not 0.0 < min_por < 1.0:
            raise ConfigError(f"[study] min_porosity must lie in (0, 1), got {min_por:g}")
        save = st.get("save_structures", False)
        if not isinstance(save, bool):
            raise ConfigError(f"[study] save_structures must be true or false, got {save!r}")

        fo = FitOptions(**fit)
        _number(fo.test_fraction, "[fit] test_fraction")
        if isinstance(fo.seed, bool) or not isinstance(fo.seed, int) or fo.seed < 0:
            raise ConfigError(f"[fit] seed must be a non-negative integer, got {fo.seed!r}")
        if fo.model not in MODELS:
            close = difflib.get_close_matches(str(fo.model), MODELS, n=1)
            raise ConfigError(f"[fit] model {fo.model!r} is not one of {MODELS}"
                              + (f"; did you mean {close[0]!r}?" if close else ""))
        if not 0.0 < fo.test_fraction < 1.0:
            raise ConfigError(f"[fit] test_fraction must lie in (0, 1), got {fo.test_fraction}")
        if not isinstance(fo.cv_folds, int) or fo.cv_folds < 2:
            raise ConfigError(f"[fit] cv_folds must be an integer >= 2, got {fo.cv_folds!r}")

        study = cls(recipe=recipe, recipe_path=str(rpath), am_wt=am, eps_init=eps,
                    calendering=calendering, law=claw, seeds=seeds, first_seed=first,
                    box_um=box, min_porosity=min_por, save_structures=save, fit=fo,
                    source=data, base=base, **scal)
        study._check_conditions()
        return study

    def _check_conditions(self) -> None:
        """Every condition's porosity is above min_porosity and its recipe is valid (packing
        limit, particles fitting the box, voxel size), before anything runs."""
        from mesostructure import RecipeError, parse_recipe

        for c in self.conditions():
            if not c.eps_cal > self.min_porosity:
                raise ConfigError(f"condition {c.describe()}: the calendered porosity "
                                  f"{c.eps_cal:.4g} is not above min_porosity "
                                  f"{self.min_porosity:g}; calender less")
            try:
                parse_recipe(self.recipe_for(c, self.first_seed))
            except RecipeError as e:
                raise ConfigError(f"condition {c.describe()} (eps_cal = {c.eps_cal:.4g}, "
                                  f"thickness {c.thickness_cal_um:.4g} um): {e}") from None

    def conditions(self) -> list[Condition]:
        out = []
        for am in self.am_wt:
            for ei in self.eps_init:
                for x in self.calendering:
                    eps, ratio = self.law.apply(ei, x)
                    out.append(Condition(am, ei, x, eps, ratio * self.thickness_init_um,
                                         self.law.variable))
        return out

    def seed_values(self) -> list[int]:
        """The same seeds in every condition (common random numbers)."""
        return list(range(self.first_seed, self.first_seed + self.seeds))

    def recipe_for(self, c: Condition, seed: int) -> dict:
        """The base recipe at the condition's composition, calendered porosity and thickness,
        the study's box and voxel size."""
        from mesostructure import parse_recipe

        data = copy.deepcopy(self.recipe)
        comp = parse_recipe(self.recipe).layers[0].composition_wt
        carbon_share = comp["carbon"] / (comp["carbon"] + comp["binder"])
        rest = 100.0 - c.am_wt
        el = dict(data.get("electrode", {}))
        el["composition_wt"] = {"active": c.am_wt, "carbon": rest * carbon_share,
                                "binder": rest * (1.0 - carbon_share)}
        el["porosity"] = c.eps_cal
        data["electrode"] = el
        data["layer"] = [{k: v for k, v in ly.items() if k not in ("composition_wt", "porosity")}
                         for ly in (data.get("layer") or [{}])]
        box = {k: v for k, v in data.get("box", {}).items() if k != "am_loading_mg_cm2"}
        box.update(size_um=list(self.box_um), thickness_um=c.thickness_cal_um,
                   voxel_size_um=self.voxel_size_um)
        data["box"] = box
        data["seed"] = int(seed)
        data["name"] = f"{data.get('name', 'electrode')} {c.id} seed {seed}"
        return data

    def with_overrides(self, **tables) -> PropertyMapStudy:
        """The same study with keys of its tables replaced, checked again (e.g. a reduced
        size: ``study={"box_um": [16, 16], "seeds": 2}, grid={"am_wt": [93, 96]}``)."""
        data = copy.deepcopy(self.source)
        for name, over in tables.items():
            data[name] = {**data.get(name, {}), **over}
        return PropertyMapStudy.from_dict(data, base=self.base)

    @classmethod
    def load(cls, path: str | Path) -> PropertyMapStudy:
        path = Path(path)
        return cls.from_dict(read_config_file(path), base=path.parent)


# ---- one structure ----------------------------------------------------------------------------

def characterise_structure(recipe_data: dict, progress=None, save_to: Path | None = None) -> dict:
    """Generate one structure and characterise it along z (all three media, the electronic
    conductivity, areas, coverage; no per-particle features). Returns the raw record."""
    from mesostructure import CharacterizationOptions, characterize, generate, parse_recipe

    recipe = parse_recipe(recipe_data)
    t0 = time.perf_counter()
    ms = generate(recipe, progress=progress)
    t1 = time.perf_counter()
    if save_to is not None:
        ms.save(save_to)
    m = characterize(ms, recipe.voxel_size_um * 1e-6,
                     CharacterizationOptions(directions="z", per_particle=False, workers=1))
    s = m.scalars
    t2 = time.perf_counter()
    return {"shape": s["shape"], "volume_fractions": s["volume_fractions"],
            "porosity": s["porosity"], "n_particles": len(ms.particles),
            "tortuosity": {k: _finite_or_none(v) for k, v in s["tortuosity"].items()},
            "electronic_conductivity_S_m": s["effective_conductivity_S_m"]["z"],
            "conductivity_inputs_S_m": s["conductivity_inputs_S_m"],
            "active_surface_fraction": s["active_surface_fraction"],
            "coverage": s["coverage"], "generation": ms.metadata["report"]["layers"][0],
            "generate_s": t1 - t0, "characterise_s": t2 - t1}


def _finite_or_none(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in d.items()}


def _read_record(path: Path, recipe: dict) -> dict | None:
    """A finished structure's record, if it was computed from this very recipe."""
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    same = json.dumps(rec.get("recipe"), sort_keys=True) == json.dumps(recipe, sort_keys=True)
    return rec if same else None


def _write_json(path: Path, data: dict) -> None:
    """Written whole or not at all: a killed study never leaves half a record."""
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(data, indent=1, allow_nan=False))
    os.replace(tmp, path)


# ---- the study --------------------------------------------------------------------------------

def run_property_map(study: PropertyMapStudy, output: str | Path, comm=None, *,
                     resume: bool = True, plots: bool = True, echo=None,
                     progress=None) -> dict:
    """Generate and characterise every (condition, seed) structure, one JSON each in
    ``output/structures/`` (a killed study resumes: structures already characterised from the
    same recipe are read back unless ``resume`` is False), then analyse (rank 0): tables,
    fits, maps (if ``plots``), info.json. Under MPI (``comm`` with several ranks) the
    structures are dealt round-robin to the ranks. Returns the summary on every rank."""
    from ..parallel import on_rank0
    from ..provenance import write_info
    from .property_analysis import analyse

    t0 = time.perf_counter()
    rank, size = (comm.rank, comm.size) if comm is not None else (0, 1)
    say = echo if (echo is not None and rank == 0) else (lambda _m: None)
    output = Path(output)
    folder = output / "structures"

    def prepare():
        folder.mkdir(parents=True, exist_ok=True)
        (output / "study.json").write_text(json.dumps(study.source, indent=2, default=str))

    on_rank0(comm if size > 1 else None, prepare)  # its error reaches every rank
    jobs = [(c, s) for c in study.conditions() for s in study.seed_values()]
    say(f"{len(jobs) // study.seeds} conditions x {study.seeds} seeds = {len(jobs)} structures"
        + (f" on {size} ranks" if size > 1 else ""))
    counts = {"computed": 0, "reused": 0, "failed": 0}
    error = None
    try:
        for i, (c, seed) in enumerate(jobs):
            if i % size != rank:
                continue
            path = folder / f"{c.id}_s{seed}.json"
            recipe = study.recipe_for(c, seed)
            if resume and _read_record(path, recipe) is not None:
                counts["reused"] += 1
                continue
            rec = {"condition": c.id, "variables": c.variables(), "eps_cal": c.eps_cal,
                   "thickness_cal_um": c.thickness_cal_um, "seed": seed, "recipe": recipe}
            h5 = folder / f"{c.id}_s{seed}.h5" if study.save_structures else None
            try:
                rec |= {"status": "ok"} | characterise_structure(recipe, progress, h5)
                counts["computed"] += 1
            except (RuntimeError, ValueError) as e:  # GenerationError, RecipeError
                rec |= {"status": "failed", "error": f"{type(e).__name__}: {e}"}
                counts["failed"] += 1
                say(f"{c.id} seed {seed}: {rec['error']}")
            _write_json(path, rec)
            if rec["status"] == "ok":
                say(f"[{i + 1}/{len(jobs)}] {c.id} seed {seed}: eps {rec['porosity']:.3f}, "
                    f"{rec['generate_s'] + rec['characterise_s']:.1f} s")
    except Exception as e:  # noqa: BLE001 - every rank must reach the gather below
        error = f"{type(e).__name__}: {e}"
    errors = comm.allgather(error) if comm is not None else [error]
    if any(errors):
        raise StudyRunError("; ".join(f"rank {r}: {m}" for r, m in enumerate(errors) if m))
    if comm is not None:
        counts = {k: sum(c[k] for c in comm.allgather(counts)) for k in counts}
    say(f"structures: {counts['computed']} computed, {counts['reused']} read back, "
        f"{counts['failed']} failed")
    summary = on_rank0(comm if size > 1 else None, analyse, output, study, plots)
    if comm is not None and size > 1:
        summary = comm.bcast(summary, root=0)
    summary["structures"] = counts
    if rank == 0:
        write_info(output / "info.json", "study property-map",
                   {"study": study.source, "recipe": study.recipe_path, "ranks": size,
                    "resume": resume}, t0, summary)
    return summary
