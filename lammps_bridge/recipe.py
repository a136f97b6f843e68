"""Manufacturing recipes: TOML in, validated dataclasses out (schema in docs/lammps.md).

Tables: ``seed``, ``[system]`` (particles, box), ``[forcefield]`` (slurry and dry sets, paper 001
Table S1), ``[slurry]``, ``[drying]`` (with ``[[drying.schedule]]`` stages) and
``[calendering]``. LAMMPS ``units micro``: um, pg, us; 1 g/cm3 = 1 pg/um3, 1 Pa = 1e-3
pg/(um us^2), 1 m/s^2 = 1e-6 um/us^2. Every key carries its unit in its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from pathlib import Path

from mesostructure.recipe import RecipeError, _check_keys, _positive, read_toml

__all__ = ["RecipeError", "ForceField", "ForceFieldSet", "SystemSpec", "SlurrySpec",
           "DryingStage", "DryingSpec", "CalenderingSpec", "ManufactureRecipe",
           "parse_manufacture_recipe", "load_manufacture_recipe", "PA_TO_MICRO",
           "ACCEL_TO_MICRO"]

PA_TO_MICRO = 1e-3  # 1 Pa = 1 kg/(m s^2) = 1e-3 pg/(um us^2)
ACCEL_TO_MICRO = 1e-6  # 1 m/s^2 = 1e-6 um/us^2
_TEMPLATE = re.compile(r"\$\{|\{\{|\$[A-Za-z_]")


@dataclass(frozen=True)
class ForceFieldSet:
    """One force-field set (paper 001, eqs. 1-2 and Table S1). LJ epsilons scale with the
    particle diameter (pg um^2 us^-2 per um); sigmas and cut-offs are multiples of it. Table S1
    prints the CBD sigma without "x d_CBD" (0.97 / 0.89); read as absolute um it would put the
    LJ core at 1/8 of the CBD diameter and collapse CBD pairs (measured), so we read it as
    relative like the AM and SE rows."""

    lj_eps_am_per_um: float
    lj_sigma_am_rel: float
    lj_cut_am_rel: float
    lj_eps_cbd_per_um: float
    lj_sigma_cbd_rel: float
    lj_cut_cbd_rel: float
    hertz_kn: float
    hertz_gamma_n: float
    hertz_xmu: float


@dataclass(frozen=True)
class ForceField:
    slurry: ForceFieldSet
    dry: ForceFieldSet
    kt_over_kn: float
    gammat_over_gamman: float
    wall_kn: float


@dataclass(frozen=True)
class SystemSpec:
    n_am: int
    n_cbd: int
    am_diameter_um: float
    am_diameter_sd_um: float
    am_density_g_cm3: float
    solvent_shell_factor: float
    cbd_slurry_diameter_um: float
    cbd_slurry_density_g_cm3: float
    cbd_dry_diameter_um: float
    cbd_dry_density_g_cm3: float
    cbd_nanoporosity: float
    box_xy_um: float
    insertion_solid_fraction: float


@dataclass(frozen=True)
class SlurrySpec:
    pressure_pa: float
    solvent_viscosity_mPa_s: float
    timestep_us: float
    steps: int


@dataclass(frozen=True)
class DryingStage:
    fraction: float
    rsf2: float
    rsf3: float


@dataclass(frozen=True)
class DryingSpec:
    mode: str
    schedule: tuple[DryingStage, ...]
    pressure_pa: float
    solvent_viscosity_mPa_s: float
    gravity_m_s2: float
    freeze_bulk_porosity: float
    ff_switch_blend: float
    timestep_us: float
    timestep_dry_us: float
    steps: int
    chunks: int
    equilibration_steps: int


@dataclass(frozen=True)
class CalenderingSpec:
    degree: float
    timestep_us: float
    compression_steps: int
    hold_steps: int
    springback_steps: int
    damping_us: float


@dataclass(frozen=True)
class ManufactureRecipe:
    seed: int
    system: SystemSpec
    forcefield: ForceField
    slurry: SlurrySpec
    drying: DryingSpec
    calendering: CalenderingSpec
    raw: dict


# Defaults. Paper 001 = Alabdali et al. (Table S1, section 3), paper 000 = Lombardo et al.
_DEFAULTS: dict = {
    "seed": 1,
    "system": {
        "n_am": 155,  # paper 000, section 4 (155 AM + 5821 CBD)
        "n_cbd": 5821,
        "am_diameter_um": 10.0,  # paper 001, section 3 (NMC622 ~10 um); ours for NMC
        "am_diameter_sd_um": 1.0,  # ours
        "am_density_g_cm3": 4.7,  # ours (NMC crystal density; not given in the papers)
        "solvent_shell_factor": 1.14,  # paper 001, section 2.3: AM diameter +14 % in slurry
        "cbd_slurry_diameter_um": 7.5,  # paper 001, section 3
        "cbd_slurry_density_g_cm3": 0.9,  # paper 001, section 3
        "cbd_dry_diameter_um": 3.0,  # paper 001, section 3.2
        "cbd_dry_density_g_cm3": 0.95,  # ours: carbon+binder ~1.9 g/cm3 with 50 % nanopores
        "cbd_nanoporosity": 0.5,  # paper 000, section 2 (~50 %)
        "box_xy_um": 26.7,  # paper 000, Fig. 2 caption (26.7 x 26.7 um^2)
        "insertion_solid_fraction": 0.3,  # ours: random insertion box
    },
    "forcefield": {
        "kt_over_kn": 1.378,  # paper 001, Table S1 note
        "gammat_over_gamman": 0.959,  # paper 001, Table S1 note
        # ours: Hertz stiffness of the current collector and of the calender plane (pressure
        # units, pg/(um us^2) = 1 kPa); the particles' dry kn (100) would let an AM sink by
        # its radius under the drying load (docs/lammps.md)
        "wall_kn": 1.0e5,
        "slurry": {  # paper 001, Table S1, "Slurry" column
            "lj_eps_am_per_um": 1.0, "lj_sigma_am_rel": 0.99, "lj_cut_am_rel": 1.5,
            "lj_eps_cbd_per_um": 0.88, "lj_sigma_cbd_rel": 0.97,  # x d_CBD (see ForceFieldSet)
            "lj_cut_cbd_rel": 2.2,
            "hertz_kn": 0.1, "hertz_gamma_n": 55.0, "hertz_xmu": 0.016,
        },
        "dry": {  # paper 001, Table S1, "Dried electrode" column
            "lj_eps_am_per_um": 100.0, "lj_sigma_am_rel": 0.93, "lj_cut_am_rel": 1.2,
            "lj_eps_cbd_per_um": 400.0, "lj_sigma_cbd_rel": 0.89, "lj_cut_cbd_rel": 2.2,
            "hertz_kn": 100.0, "hertz_gamma_n": 10.0,
            # ours: Table S1 gives 12.5; with it the held, compressed packing heats up
            # until it blows up (measured, docs/lammps.md)
            "hertz_xmu": 1.0,
        },
    },
    "slurry": {
        # ours: the film is compacted (slurry) and collapses (drying) by the paper-000 load
        # against a Stokes drag, at v ~ P Lx Ly / (3 pi eta sum d); with eta = 0.33 mPa s,
        # 41 kPa brings the paper-000 film to its dry thickness within the simulated drying
        # time (a few hundred us instead of the paper's 1e4 us). Paper 000 (section 2): 1 atm.
        "pressure_pa": 4.1e4,
        # ours: Stokes drag 3 pi eta d v of the solvent on every particle (the papers
        # thermostat instead, NPT/NVT at 300/353 K: kT is ~1e-5 of the LJ wells here)
        "solvent_viscosity_mPa_s": 0.33,
        "timestep_us": 0.01,  # ours (paper 000: 1 ns)
        "steps": 40000,
    },
    "drying": {
        "mode": "heterogeneous",  # or "homogeneous" (paper 001)
        "schedule": [{"fraction": 1.0, "rsf2": 1.1, "rsf3": 1.4}],  # paper 000, Fig. 2
        "pressure_pa": 4.1e4,  # ours, see [slurry] (paper 000, section 2: 1 atm)
        "solvent_viscosity_mPa_s": 0.33,  # ours, see [slurry]
        "gravity_m_s2": 9.81,  # paper 000, section 2
        "freeze_bulk_porosity": 0.46,  # paper 000, section 2 (~46 %)
        # ours: blend (0 slurry .. 1 dry set) a zone reaches at full drying progress in the
        # first regime; from the AM freeze every blend goes linearly to 1 (paper 000, section 2:
        # two linear regimes switching at the freeze; its Table S1 values are in its SI)
        "ff_switch_blend": 0.1,
        # ours (paper 000: 0.1 ns): the first regime's blend (<= ff_switch_blend) allows
        # 0.002 us; from the AM freeze on the dry CBD LJ well (period ~0.027 us at 1.2 um)
        # needs 0.0005 us (docs/lammps.md)
        "timestep_us": 0.002,
        "timestep_dry_us": 0.0005,
        "steps": 40000,
        "chunks": 40,
        "equilibration_steps": 5000,
    },
    "calendering": {
        "degree": 0.25,  # paper 000, section 3 (25 %); paper 001 spans 0-0.5
        "timestep_us": 0.0005,  # ours: the dry set (see [drying].timestep_dry_us)
        "compression_steps": 20000,
        "hold_steps": 5000,
        "springback_steps": 0,
        # ours: numerical drag (m / damping_us) v at 0 K keeping the dry compression quasi-static
        "damping_us": 2.0,
    },
}


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) \
            else v
    return out


def _no_template(value, where: str) -> None:
    if isinstance(value, str) and _TEMPLATE.search(value):
        raise RecipeError(f"{where} = {value!r} holds an unfilled template variable")
    if isinstance(value, dict):
        for k, v in value.items():
            _no_template(v, f"{where}.{k}")
    if isinstance(value, list):
        for i, v in enumerate(value):
            _no_template(v, f"{where}[{i}]")


def _int(value, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise RecipeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _fraction(value, name: str, lo: float = 0.0, hi: float = 1.0) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise RecipeError(f"{name} must be a number, got {value!r}") from None
    if not lo <= v <= hi:
        raise RecipeError(f"{name} must lie in [{lo}, {hi}], got {value!r}")
    return v


def _build(cls, table: dict, where: str, ints: tuple[str, ...] = (), fracs: tuple[str, ...] = (),
           skip: tuple[str, ...] = ()):
    names = {f.name for f in fields(cls)}
    _check_keys(table, names, where)
    kw = {}
    for name in names - set(skip):
        v = table[name]
        if name in ints:
            kw[name] = _int(v, f"{where}.{name}", 1 if name in ("n_am", "chunks") else 0)
        elif name in fracs:
            hi = float("inf") if name.endswith("_um") else 1.0
            kw[name] = _fraction(v, f"{where}.{name}", 0.0, hi)
        elif isinstance(v, str):
            kw[name] = v
        else:
            kw[name] = _positive(v, f"{where}.{name}")
    return kw


_REPLACED = {
    ("slurry", "damping_us"): "solvent_viscosity_mPa_s (Stokes drag of the solvent)",
    ("drying", "damping_us"): "solvent_viscosity_mPa_s (Stokes drag of the solvent)",
    ("slurry", "temperature_k"): "nothing: thermal motion is negligible at these sizes, the "
                                 "solvent acts through its drag (solvent_viscosity_mPa_s)",
    ("drying", "temperature_k"): "nothing: thermal motion is negligible at these sizes, the "
                                 "solvent acts through its drag (solvent_viscosity_mPa_s)",
    ("drying", "ff_switch_progress"): "nothing: the second force-field regime starts when the "
                                      "AM freeze (paper 000)",
}


def parse_manufacture_recipe(data: dict) -> ManufactureRecipe:
    """Validate a manufacturing recipe (a dict from TOML); missing keys take the defaults."""
    for (table, key), instead in _REPLACED.items():
        if isinstance(data.get(table), dict) and key in data[table]:
            raise RecipeError(f"[{table}].{key} is no longer a recipe key; it was replaced by "
                              f"{instead} (docs/lammps.md)")
    _check_keys(data, set(_DEFAULTS), "the recipe")
    _no_template(data, "recipe")
    d = _merge(_DEFAULTS, data)
    seed = _int(d["seed"], "seed")
    system = SystemSpec(**_build(SystemSpec, d["system"], "[system]",
                                 ints=("n_am", "n_cbd"),
                                 fracs=("cbd_nanoporosity", "insertion_solid_fraction",
                                        "am_diameter_sd_um")))
    if system.am_diameter_sd_um >= system.am_diameter_um / 2:
        raise RecipeError("[system].am_diameter_sd_um must be below half the mean diameter")
    if system.cbd_dry_diameter_um > system.cbd_slurry_diameter_um:
        raise RecipeError("[system].cbd_dry_diameter_um must not exceed cbd_slurry_diameter_um")
    ffd = d["forcefield"]
    _check_keys(ffd, set(_DEFAULTS["forcefield"]), "[forcefield]")
    ff = ForceField(
        slurry=ForceFieldSet(**_build(ForceFieldSet, ffd["slurry"], "[forcefield.slurry]")),
        dry=ForceFieldSet(**_build(ForceFieldSet, ffd["dry"], "[forcefield.dry]")),
        kt_over_kn=_positive(ffd["kt_over_kn"], "[forcefield].kt_over_kn"),
        gammat_over_gamman=_positive(ffd["gammat_over_gamman"], "[forcefield].gammat_over_gamman"),
        wall_kn=_positive(ffd["wall_kn"], "[forcefield].wall_kn"),
    )
    slurry = SlurrySpec(**_build(SlurrySpec, d["slurry"], "[slurry]", ints=("steps",)))
    dr = d["drying"]
    kw = _build(DryingSpec, dr, "[drying]", ints=("steps", "chunks", "equilibration_steps"),
                fracs=("freeze_bulk_porosity", "ff_switch_blend"),
                skip=("schedule", "gravity_m_s2", "pressure_pa"))
    for k in ("gravity_m_s2", "pressure_pa"):
        kw[k] = _fraction(dr[k], f"[drying].{k}", 0.0, float("inf"))
    if kw["mode"] not in ("heterogeneous", "homogeneous"):
        raise RecipeError(f"[drying].mode must be 'heterogeneous' or 'homogeneous', "
                          f"got {kw['mode']!r}")
    stages = []
    if not isinstance(dr["schedule"], list) or not dr["schedule"]:
        raise RecipeError("[drying].schedule must be a non-empty list of stages")
    for i, st in enumerate(dr["schedule"]):
        stages.append(DryingStage(**_build(DryingStage, st, f"[[drying.schedule]] #{i + 1}",
                                           fracs=("fraction",))))
        if stages[-1].rsf2 < 1 or stages[-1].rsf3 < 1:
            raise RecipeError(f"[[drying.schedule]] #{i + 1}: relative shrinking factors must "
                              f"be >= 1 (the bottom zone has 1), got {st}")
    total = sum(s.fraction for s in stages)
    if abs(total - 1.0) > 1e-9:
        raise RecipeError(f"[[drying.schedule]] fractions must sum to 1, got {total:g}")
    kw["schedule"] = tuple(stages)
    drying = DryingSpec(**kw)
    cal = CalenderingSpec(**_build(CalenderingSpec, d["calendering"], "[calendering]",
                                   ints=("compression_steps", "hold_steps", "springback_steps"),
                                   skip=("degree",)),
                          degree=_fraction(d["calendering"]["degree"], "[calendering].degree",
                                           0.0, 0.5))
    return ManufactureRecipe(seed, system, ff, slurry, drying, cal, d)


def load_manufacture_recipe(path: str | Path) -> ManufactureRecipe:
    return parse_manufacture_recipe(read_toml(path))
