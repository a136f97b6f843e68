"""Drying (homogeneous, paper 001; heterogeneous with CBD migration, paper 000) and calendering
(moving top wall, papers 000/001) decks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checkpoint import Checkpoint, checkpoint_commands, resumed_banner, split_steps
from .inputs import (
    STAGE_CHUNKS,
    Blend,
    check_filled,
    dump,
    finish,
    header,
    integrator,
    loads,
    outputs,
    pair_commands,
    wall_command,
    wall_hertz,
)
from .io import CBD_TYPES, ParticleSet
from .recipe import DryingSpec, ManufactureRecipe


def zone_progress(spec: DryingSpec, t: float) -> np.ndarray:
    """Drying progress (0 = slurry, 1 = dry) of the bottom/centre/top CBD zones at normalised
    time t: the bottom zone dries at a constant rate ending at t = 1 (RSF 1); the others at RSF2
    and RSF3 times that rate, stage by stage (paper 000, section 2), capped at 1."""
    if spec.mode == "homogeneous":
        return np.ones(3)
    acc = np.zeros(3)
    start = 0.0
    for st in spec.schedule:
        dt = max(0.0, min(t, start + st.fraction) - start)
        acc += dt * np.array([1.0, st.rsf2, st.rsf3])
        start += st.fraction
    return np.minimum(acc, 1.0)


def blend_expressions(spec: DryingSpec, t: float, p: np.ndarray) -> list[str]:
    """LAMMPS expressions of the force-field blend (0 = slurry set, 1 = dry set) of the AM and
    the three CBD zones during the chunk ending at normalised time t, zone progress p (bottom,
    centre, top). Two linear regimes (paper 000, section 2): before the AM freeze the blend of
    a zone is ``ff_switch_blend`` x its drying progress (liquid-like); from the freeze (time
    v_tf, blends v_bf1..v_bf4 then) every blend goes linearly to 1 at t = 1."""
    bs = spec.ff_switch_blend
    return [f"(v_frozen==0)*{bs * q:.10g}+(v_frozen==1)*(v_bf{k}+(1-v_bf{k})*"
            f"({t:.10g}-v_tf)/(1-v_tf))" for k, q in enumerate(_by_type(p), 1)]


def _by_type(p: np.ndarray) -> list[float]:
    """Zone progress per particle type 1-4: the AM follow the bottom zone."""
    return [float(p[0]), *map(float, p)]


def _freeze_commands(spec: DryingSpec, t: float, p: np.ndarray) -> list[str]:
    """Inside LAMMPS, after a chunk: freeze the AM once the dry bulk porosity reaches the set
    point and record the regime switch (time and blends)."""
    bs = spec.ff_switch_blend
    sets = " ".join(f'"variable bf{k} equal {bs * q:.10g}"' for k, q in enumerate(_by_type(p), 1))
    return [f'if "${{frozen}} == 0 && ${{phi}} <= {spec.freeze_bulk_porosity:.6g}" then '
            '"velocity am set 0.0 0.0 0.0" "unfix integ" "fix integ cbd nve/sphere" '
            f'"timestep {spec.timestep_dry_us:.6g}" '
            f'"variable tf equal {t:.10g}" {sets} "variable frozen equal 1" '
            f'"print \'AM frozen at t = {t:.6g}\'"']


def assign_zones(ps: ParticleSet) -> ParticleSet:
    """CBD types 2/3/4 by the third of the film thickness (0 .. max z+r) holding the centre."""
    h = float(np.max(ps.xyz_um[:, 2] + ps.radius_um))
    zone = np.clip((ps.xyz_um[:, 2] / h * 3).astype(int), 0, 2)
    types = np.where(ps.cbd, np.array(CBD_TYPES)[zone], ps.types)
    return ParticleSet(ps.bounds_um, ps.ids, types, ps.xyz_um, ps.radius_um, ps.density_g_cm3)


@dataclass(frozen=True)
class DryingPlan:
    """What the drying deck does, chunk by chunk (for the observables)."""

    times: tuple[float, ...]  # normalised time at the end of each chunk
    steps_per_chunk: int
    solid_volume_um3: float  # dry AM + dry CBD volume (bulk porosity set point)


def _cbd_state(recipe: ManufactureRecipe, p: float) -> tuple[float, float]:
    s = recipe.system
    d = s.cbd_slurry_diameter_um + (s.cbd_dry_diameter_um - s.cbd_slurry_diameter_um) * p
    v_s, v_d = np.pi / 6 * s.cbd_slurry_diameter_um**3, np.pi / 6 * s.cbd_dry_diameter_um**3
    m = s.cbd_slurry_density_g_cm3 * v_s + (s.cbd_dry_density_g_cm3 * v_d
                                            - s.cbd_slurry_density_g_cm3 * v_s) * p
    return d, m / (np.pi / 6 * d**3)


def _am_scale(recipe: ManufactureRecipe, p: float) -> float:
    return 1.0 + (recipe.system.solvent_shell_factor - 1.0) * (1.0 - p)


def _p_am(spec: DryingSpec, t: float) -> float:
    """Drying progress of the AM solvent shells: the bottom zone's (homogeneous: dry at once)."""
    return float(zone_progress(spec, t)[0]) if spec.mode == "heterogeneous" else 1.0


def _state_commands(recipe, p_am_old, p_am, p_zones) -> list[str]:
    """Set AM and per-zone CBD diameters and densities (AM keeps its mass)."""
    s = recipe.system
    f_old, f_new = _am_scale(recipe, p_am_old), _am_scale(recipe, p_am)
    cmds = []
    if f_new != f_old:
        cmds += [f"variable dam atom 2.0*radius*{f_new / f_old:.10g}",
                 "set type 1 diameter v_dam",
                 f"set type 1 density {s.am_density_g_cm3 / f_new**3:.8g}"]
    for t, p in zip(CBD_TYPES, p_zones, strict=True):
        d, rho = _cbd_state(recipe, p)
        cmds += [f"set type {t} diameter {d:.8g}", f"set type {t} density {rho:.8g}"]
    return cmds


@dataclass(frozen=True)
class DryingResume:
    """Where a killed drying run restarts: after chunk ``chunk`` (its restart file), with the
    freeze state LAMMPS had then (``<stem>.state``, written after every chunk)."""

    chunk: int
    frozen: bool
    tf: float
    bf: tuple[float, float, float, float]
    restart: str

    @staticmethod
    def read(path) -> DryingResume | None:
        """The state file written after the last finished chunk, or None (no file, a garbled
        one or its restart file gone: dry from the start)."""
        cp = Checkpoint.read(path)
        if cp is None or not set(_DRYING_STATE) <= set(cp.values):
            return None
        v = cp.values
        return DryingResume(cp.chunk, v["frozen"] > 0.5, v["tf"],
                            tuple(v[f"bf{k}"] for k in range(1, 5)), cp.restart)


_DRYING_STATE = ("frozen", "tf", "bf1", "bf2", "bf3", "bf4")


def drying_deck(recipe: ManufactureRecipe, ps: ParticleSet, data_file: str, stem: str,
                resume: DryingResume | None = None) -> tuple[str, DryingPlan]:
    """The drying deck for the particles ``ps`` read from ``data_file``; with ``resume``, the
    same deck from the chunk after ``resume.chunk`` on, starting from its restart file."""
    spec, s, ff = recipe.drying, recipe.system, recipe.forcefield
    am_d_dry = 2 * ps.radius_um[ps.am] / s.solvent_shell_factor
    mean_am = float(np.mean(am_d_dry)) if len(am_d_dry) else s.am_diameter_um
    v_solid = float(np.sum(np.pi / 6 * am_d_dry**3)
                    + np.count_nonzero(ps.cbd) * np.pi / 6 * s.cbd_dry_diameter_um**3)
    n_chunks = 1 if spec.mode == "homogeneous" else spec.chunks
    per = max(1, spec.steps // n_chunks)
    k0 = resume.chunk if resume else 0
    frozen = resume is not None and resume.frozen
    cmds = (header(data_file, spec.timestep_dry_us if frozen else spec.timestep_us,
                   0.3 * s.cbd_slurry_diameter_um, resume.restart if resume else None)
            + loads(spec.pressure_pa, spec.gravity_m_s2, spec.solvent_viscosity_mPa_s)
            + (["fix integ cbd nve/sphere"] if frozen else integrator())
            + outputs(stem, per, v_solid) + [dump(stem, per)]
            + [f"variable frozen equal {int(frozen)}",
               f"variable tf equal {resume.tf if resume else 0:.10g}"]
            + [f"variable bf{k} equal {resume.bf[k - 1] if resume else 0:.10g}"
               for k in range(1, 5)])
    cmds += resumed_banner(resume, n_chunks)
    p_am_old = _p_am(spec, k0 / n_chunks) if resume else 0.0
    for k in range(k0 + 1, n_chunks + 1):
        t = k / n_chunks
        pz = zone_progress(spec, t)
        p_am = _p_am(spec, t)
        het = spec.mode == "heterogeneous"
        bl = blend_expressions(spec, t, pz) if het else [1.0] * 4
        b = Blend(mean_am * _am_scale(recipe, p_am), tuple(_cbd_state(recipe, p)[0] for p in pz),
                  bl[0], tuple(bl[1:]), "(v_b2+v_b3+v_b4)/3" if het else 1.0)
        cmds += _state_commands(recipe, p_am_old, p_am, pz)
        cmds += pair_commands(ff, b) + [f"run {per}"]
        if spec.mode == "heterogeneous":
            cmds += _freeze_commands(spec, t, pz) + checkpoint_commands(stem, k, _DRYING_STATE)
        p_am_old = p_am
    if spec.mode == "heterogeneous":
        cmds.append(f'if "${{frozen}} == 0" then "print \'AM not frozen: bulk porosity '
                    f'${{phi}} above {spec.freeze_bulk_porosity:.6g} at t = 1\'"')
    if spec.equilibration_steps:
        # any blend still below 1 (no freeze) goes to the dry set in ten steps
        cmds.append(f"timestep {spec.timestep_dry_us:.6g}")
        n_eq = 10
        for j in range(1, n_eq + 1):
            bl = f"(v_frozen==1)+(v_frozen==0)*({spec.ff_switch_blend:.10g}" \
                 f"+(1-{spec.ff_switch_blend:.10g})*{j / n_eq:.10g})"
            b = Blend(mean_am, (s.cbd_dry_diameter_um,) * 3, bl, (bl,) * 3, bl)
            cmds += pair_commands(ff, b) + [f"run {max(1, spec.equilibration_steps // n_eq)}"]
    cmds += finish(stem)
    all_times = tuple(k / n_chunks for k in range(1, n_chunks + 1))
    return check_filled("\n".join(cmds) + "\n"), DryingPlan(all_times, per, v_solid)


def calendering_runs(c) -> list[tuple[str, int]]:
    """The calendering runs, (phase, steps) in order: compression, hold, springback, cut into
    about ``STAGE_CHUNKS`` runs in all (a restart point after each)."""
    phases = [("compression", c.compression_steps), ("hold", c.hold_steps),
              ("springback", c.springback_steps)]
    total = max(1, sum(n for _, n in phases))
    return [(name, n) for name, steps in phases if steps or name == "compression"
            for n in split_steps(steps, round(STAGE_CHUNKS * steps / total))]


def calendering_deck(recipe: ManufactureRecipe, ps: ParticleSet, data_file: str, stem: str,
                     resume: Checkpoint | None = None) -> tuple[str, float, float]:
    """Top wall (granular Hertz, dry set) moving down at constant speed from the film top h0
    to (1 - degree) h0, then held as a fixed plane; optional springback (top plane removed).
    With ``resume``, the runs after ``resume.chunk`` from its restart file (the wall follows
    the step counter, which goes on). Returns the deck, h0 and the commanded final height (um).
    """
    c, ff, s = recipe.calendering, recipe.forcefield, recipe.system
    h0 = float(np.max(ps.xyz_um[:, 2] + ps.radius_um))
    h1 = (1.0 - c.degree) * h0
    b = Blend(float(2 * np.mean(ps.radius_um[ps.am])), (s.cbd_dry_diameter_um,) * 3, 1.0,
              (1.0, 1.0, 1.0), 1.0)
    speed = (h0 - h1) / max(1, c.compression_steps)  # um per step
    every = max(1, (c.compression_steps + c.hold_steps) // 10)
    enter = {  # from the collector-only walls
        "compression": [f"variable dz equal -((step<{c.compression_steps})*{speed:.10g}*step"
                        f"+(step>={c.compression_steps})*{h0 - h1:.10g})",
                        f"region roll plane 0 0 {h0:.8g} 0 0 -1 side in move NULL NULL v_dz",
                        f"fix roll all wall/gran/region hertz/history {wall_hertz(ff)} "
                        "region roll"],
        "hold": ["unfix cc", wall_command(ff, h1)],  # a fixed top plane at the final height
        "springback": [],
    }
    leave = {"compression": ["unfix roll"], "hold": ["unfix cc", wall_command(ff)],
             "springback": []}
    cmds = (header(data_file, c.timestep_us, 0.3 * s.cbd_dry_diameter_um,
                   resume.restart if resume else None)
            + pair_commands(ff, b) + [wall_command(ff)]
            + integrator(c.damping_us, recipe.seed + 3)
            + outputs(stem, every, None))
    runs = calendering_runs(c)
    k0 = resume.chunk if resume else 0
    cmds += resumed_banner(resume, len(runs)) or ["reset_timestep 0"]
    cmds.append(dump(stem, c.compression_steps + c.hold_steps))
    phase = None
    for k in range(k0 + 1, len(runs) + 1):
        name, n = runs[k - 1]
        if name != phase:
            cmds += (leave[phase] if phase else []) + enter[name]
            phase = name
        cmds += [f"run {n}", *checkpoint_commands(stem, k)]
    cmds += finish(stem)
    return check_filled("\n".join(cmds) + "\n"), h0, h1
