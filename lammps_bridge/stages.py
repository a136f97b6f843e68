"""Drying (homogeneous, paper 001; heterogeneous with CBD migration, paper 000) and calendering
(moving top wall, papers 000/001) decks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .inputs import (
    Blend,
    check_filled,
    dump,
    finish,
    header,
    loads,
    outputs,
    pair_commands,
    thermostat,
    wall_command,
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


def ff_blend(spec: DryingSpec, p: float) -> float:
    """Force-field blend (0 = slurry set, 1 = dry set) at drying progress p: two linear regimes
    meeting at (ff_switch_progress, ff_switch_blend)."""
    ps, sb = spec.ff_switch_progress, spec.ff_switch_blend
    if p <= ps:
        return sb * p / ps if ps > 0 else sb
    return sb + (1 - sb) * (p - ps) / (1 - ps)


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


def drying_deck(recipe: ManufactureRecipe, ps: ParticleSet, data_file: str, stem: str
                ) -> tuple[str, DryingPlan]:
    spec, s, ff = recipe.drying, recipe.system, recipe.forcefield
    am_d_dry = 2 * ps.radius_um[ps.am] / s.solvent_shell_factor
    mean_am = float(np.mean(am_d_dry)) if len(am_d_dry) else s.am_diameter_um
    v_solid = float(np.sum(np.pi / 6 * am_d_dry**3)
                    + np.count_nonzero(ps.cbd) * np.pi / 6 * s.cbd_dry_diameter_um**3)
    n_chunks = 1 if spec.mode == "homogeneous" else spec.chunks
    per = max(1, spec.steps // n_chunks)
    cmds = (header(data_file, spec.timestep_us, 0.3 * s.cbd_slurry_diameter_um)
            + loads(spec.pressure_pa, spec.gravity_m_s2)
            + thermostat(spec.temperature_k, spec.damping_us, recipe.seed + 1)
            + outputs(stem, per, v_solid) + [dump(stem, per), "variable frozen equal 0"])
    times = []
    p_am_old = 0.0
    for k in range(1, n_chunks + 1):
        t = k / n_chunks
        pz = zone_progress(spec, t)
        p_am = float(pz[0]) if spec.mode == "heterogeneous" else 1.0
        blends = tuple(ff_blend(spec, float(p)) for p in pz)
        b = Blend(mean_am * _am_scale(recipe, p_am), tuple(_cbd_state(recipe, p)[0] for p in pz),
                  ff_blend(spec, p_am), blends)
        cmds += _state_commands(recipe, p_am_old, p_am, pz)
        cmds += pair_commands(ff, b, float(np.mean(blends)))
        cmds += (["unfix cc"] if k > 1 else []) + [wall_command(ff, float(np.mean(blends))),
                                                   f"run {per}"]
        if spec.mode == "heterogeneous":
            cmds.append(
                f'if "${{frozen}} == 0 && ${{phi}} <= {spec.freeze_bulk_porosity:.6g}" then '
                '"velocity am set 0.0 0.0 0.0" "unfix integ" "unfix lang" '
                '"fix integ cbd nve/sphere" '
                f'"fix lang cbd langevin {spec.temperature_k:.6g} {spec.temperature_k:.6g} '
                f'{spec.damping_us:.6g} {recipe.seed + 2} omega yes" '
                f'"variable frozen equal 1" "print \'AM frozen at t = {t:.6g}\'"')
        times.append(t)
        p_am_old = p_am
    if spec.equilibration_steps:
        cmds.append(f"run {spec.equilibration_steps}")
    cmds += finish(stem)
    return check_filled("\n".join(cmds) + "\n"), DryingPlan(tuple(times), per, v_solid)


def calendering_deck(recipe: ManufactureRecipe, ps: ParticleSet, data_file: str, stem: str
                     ) -> tuple[str, float, float]:
    """Top wall (granular Hertz, dry set) moving down at constant speed from the film top h0
    to (1 - degree) h0, then held; optional springback (wall removed). Returns the deck, h0
    and the commanded final wall height (um)."""
    c, ff, s = recipe.calendering, recipe.forcefield, recipe.system
    h0 = float(np.max(ps.xyz_um[:, 2] + ps.radius_um))
    h1 = (1.0 - c.degree) * h0
    b = Blend(float(2 * np.mean(ps.radius_um[ps.am])), (s.cbd_dry_diameter_um,) * 3, 1.0,
              (1.0, 1.0, 1.0))
    speed = (h0 - h1) / max(1, c.compression_steps)  # um per step
    every = max(1, (c.compression_steps + c.hold_steps) // 10)
    cmds = (header(data_file, c.timestep_us, 0.3 * s.cbd_dry_diameter_um)
            + pair_commands(ff, b, 1.0) + [wall_command(ff, 1.0)]
            + thermostat(recipe.drying.temperature_k, recipe.drying.damping_us, recipe.seed + 3)
            + outputs(stem, every, None)
            + [f"variable dz equal -((step<{c.compression_steps})*{speed:.10g}*step"
               f"+(step>={c.compression_steps})*{h0 - h1:.10g})",
               f"region roll plane 0 0 {h0:.8g} 0 0 -1 side in move NULL NULL v_dz",
               f"fix roll all wall/gran/region hertz/history "
               f"{pair_commands(ff, b, 1.0)[0].split('gran/hertz/history ')[1]} region roll",
               "reset_timestep 0", dump(stem, c.compression_steps + c.hold_steps),
               f"run {c.compression_steps}",
               # hold: the moving region is replaced by a fixed top plane at the final height
               "unfix roll", "unfix cc",
               wall_command(ff, 1.0).replace("zplane 0.0 NULL", f"zplane 0.0 {h1:.8g}")])
    if c.hold_steps:
        cmds.append(f"run {c.hold_steps}")
    if c.springback_steps:
        cmds += ["unfix cc", wall_command(ff, 1.0), f"run {c.springback_steps}"]
    cmds += finish(stem)
    return check_filled("\n".join(cmds) + "\n"), h0, h1
