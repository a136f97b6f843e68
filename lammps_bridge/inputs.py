"""LAMMPS inputs for each stage (units micro: um, pg, us; atom_style sphere).

Particle types: 1 = AM, 2/3/4 = CBD of the bottom/centre/top drying zone. Force fields (paper
001, eqs. 1-2): Lennard-Jones (lj/cut, per type pair: eps_ij = sqrt(eps_i eps_j), sigma and
cut-off arithmetic means) overlaid with granular Hertz with shear history (gran/hertz/history).
Decks are plain text with every value filled in; ``check_filled`` refuses a left-over template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .checkpoint import Checkpoint, checkpoint_commands, resumed_banner, split_steps
from .io import AM_TYPE, CBD_TYPES, ParticleSet
from .recipe import ACCEL_TO_MICRO, PA_TO_MICRO, ForceField, ManufactureRecipe


class DeckError(ValueError):
    """An input deck that cannot be written."""


STAGE_CHUNKS = 10  # restart points per slurry / calendering run (the drying has its chunks)


def check_filled(deck: str) -> str:
    """Refuse a deck that still holds a ``{name}`` template placeholder (naming the line)."""
    for i, line in enumerate(deck.splitlines(), 1):
        m = re.search(r"(?<!\$)\{[A-Za-z_][A-Za-z0-9_]*\}", line)
        if m:
            raise DeckError(f"input line {i} holds the unfilled template variable {m.group(0)}: "
                            f"{line.strip()!r}")
    return deck


@dataclass(frozen=True)
class Blend:
    """Force-field parameters for given AM and per-zone CBD diameters, blended between the
    slurry (0) and dry (1) sets. A blend is a number or a LAMMPS equal-style expression (so the
    drying deck can switch regime when the AM freeze, which is decided inside LAMMPS)."""

    am_diameter_um: float
    cbd_diameters_um: tuple[float, float, float]
    am_blend: float | str
    cbd_blends: tuple[float | str, float | str, float | str]
    hertz_blend: float | str


def _expr(v: float | str) -> str:
    return f"{v:.10g}" if isinstance(v, (int, float)) else f"({v})"


_LJ = {True: ("lj_eps_am_per_um", "lj_sigma_am_rel", "lj_cut_am_rel"),
       False: ("lj_eps_cbd_per_um", "lj_sigma_cbd_rel", "lj_cut_cbd_rel")}
_HERTZ = ("hertz_kn", "hertz_gamma_n", "hertz_xmu")


def pair_commands(ff: ForceField, b: Blend) -> list[str]:
    """LJ (per type pair: eps_ij = sqrt(eps_i eps_j), sigma and cut-off arithmetic means) over
    granular Hertz with history; every value interpolated between the slurry and dry sets by
    the blend and evaluated by LAMMPS when the command is read."""
    lo, hi = ff.slurry, ff.dry
    per = {AM_TYPE: (b.am_diameter_um, b.am_blend, True)}
    for t, d, bl in zip(CBD_TYPES, b.cbd_diameters_um, b.cbd_blends, strict=True):
        per[t] = (d, bl, False)
    cmds, rc_max = [], 0.0
    for t, (d, bl, am) in per.items():
        cmds.append(f"variable b{t} equal {_expr(bl)}")
        for tag, name in zip("esc", _LJ[am], strict=True):
            a, z = getattr(lo, name) * d, getattr(hi, name) * d
            cmds.append(f"variable {tag}{t} equal {a:.10g}+({z - a:.10g})*v_b{t}")
        rc_max = max(rc_max, getattr(lo, _LJ[am][2]) * d, getattr(hi, _LJ[am][2]) * d)
    cmds.append(f"variable bh equal {_expr(b.hertz_blend)}")
    for name in _HERTZ:
        a, z = getattr(lo, name), getattr(hi, name)
        cmds.append(f"variable {name} equal {a:.10g}+({z - a:.10g})*v_bh")
    cmds += [f"pair_style hybrid/overlay lj/cut {rc_max:.6g} gran/hertz/history "
             f"${{hertz_kn}} $({ff.kt_over_kn:.8g}*v_hertz_kn) ${{hertz_gamma_n}} "
             f"$({ff.gammat_over_gamman:.8g}*v_hertz_gamma_n) ${{hertz_xmu}} 1",
             "pair_coeff * * gran/hertz/history"]
    types = sorted(per)
    for i in types:
        for j in types:
            if j >= i:
                cmds.append(f"pair_coeff {i} {j} lj/cut $(sqrt(v_e{i}*v_e{j})) "
                            f"$(0.5*(v_s{i}+v_s{j})) $(0.5*(v_c{i}+v_c{j}))")
    return cmds


def wall_hertz(ff: ForceField) -> str:
    """Granular Hertz arguments of the walls: stiffness ``wall_kn`` with the dry set's damping
    and friction throughout (the collector foil and the calender are solids from the start)."""
    d = ff.dry
    return (f"{ff.wall_kn:.6g} {ff.wall_kn * ff.kt_over_kn:.6g} {d.hertz_gamma_n:.6g} "
            f"{d.hertz_gamma_n * ff.gammat_over_gamman:.6g} {d.hertz_xmu:.6g} 1")


def wall_command(ff: ForceField, z_top_um: float | None = None) -> str:
    """The current collector at z = 0 (and, with ``z_top_um``, a top plane)."""
    top = "NULL" if z_top_um is None else f"{z_top_um:.8g}"
    return f"fix cc all wall/gran hertz/history {wall_hertz(ff)} zplane 0.0 {top}"


def header(data_file: str, timestep_us: float, skin_um: float, restart: str | None = None
           ) -> list[str]:
    """Units, style, box and particles (from ``data_file``, or from the LAMMPS ``restart``
    file, which holds the units, style, box and groups), neighbour lists, time step, groups and
    the reflecting planes at the box's z ends."""
    start = (["units micro", "atom_style sphere", "boundary p p f", "newton off",
              "comm_modify vel yes", f"read_data {data_file}"] if restart is None
             else [f"read_restart {restart}", "comm_modify vel yes"])
    return [*start, f"neighbor {skin_um:.6g} bin",
            "neigh_modify delay 0 every 1 check yes", f"timestep {timestep_us:.6g}",
            "group am type 1", "group cbd type 2 3 4",
            "fix floor all wall/reflect zlo EDGE zhi EDGE"]


def loads(pressure_pa: float, gravity_m_s2: float, viscosity_mpa_s: float = 0.0) -> list[str]:
    """Gravity (-z), the atmospheric pressure as a force on each particle in proportion to its
    surface area (paper 000, section 2): f_i = P Lx Ly S_i / sum_j S_j along -z, and the Stokes
    drag of the solvent at rest, -3 pi eta d_i v_i (1 mPa s = 1 pg/(um us))."""
    cmds = []
    if gravity_m_s2 > 0:
        cmds.append(f"fix grav all gravity {gravity_m_s2 * ACCEL_TO_MICRO:.6g} vector 0 0 -1")
    if pressure_pa <= 0 and viscosity_mpa_s <= 0:
        return cmds
    fz = []
    if pressure_pa > 0:
        p = pressure_pa * PA_TO_MICRO
        cmds += ["variable r2 atom radius*radius", "compute s2 all reduce sum v_r2",
                 f"variable fatm equal {p:.6g}*lx*ly", "variable s2sum equal c_s2"]
        fz.append("-v_fatm*v_r2/v_s2sum")
    drag = {c: "0.0" for c in "xyz"}
    if viscosity_mpa_s > 0:
        c = 6.0 * np.pi * viscosity_mpa_s  # 3 pi eta d = 6 pi eta r
        drag = {ax: f"-{c:.8g}*radius*v{ax}" for ax in "xyz"}
        fz.append(drag["z"])
    cmds += [f"variable fx atom {drag['x']}", f"variable fy atom {drag['y']}",
             f"variable fz atom {''.join(fz) or '0.0'}",
             "fix atm all addforce v_fx v_fy v_fz"]
    return cmds


def integrator(damping_us: float = 0.0, seed: int = 1) -> list[str]:
    """Velocity Verlet for spheres; with damping_us > 0 a numerical drag m v / damping_us (a
    Langevin thermostat at 0 K, i.e. without noise) keeps a dry compression quasi-static."""
    cmds = ["fix integ all nve/sphere"]
    if damping_us > 0:
        cmds.append(f"fix lang all langevin 0.0 0.0 {damping_us:.6g} {seed} omega yes")
    return cmds


def outputs(stem: str, every: int, with_phi: float | None) -> list[str]:
    cmds = ["variable ztopa atom z+radius", "compute ztop all reduce max v_ztopa"]
    cols = "step time c_ztop ke"
    if with_phi is not None:
        cmds.append(f"variable phi equal 1.0-{with_phi:.8g}/(lx*ly*c_ztop)")
        cols += " v_phi"
    cmds += [f"thermo_style custom {cols}", f"thermo {max(1, every)}",
             "thermo_modify lost error norm no flush yes"]
    return cmds


def dump(stem: str, every: int) -> str:
    return (f"dump d all custom {max(1, every)} {stem}.*.dump id type x y z radius mass\n"
            "dump_modify d sort id format float %.8g")


def finish(stem: str) -> list[str]:
    return [f"write_data {stem}.data", f"write_restart {stem}.restart"]


# ----------------------------------------------------------------------------- slurry
def insert_slurry(recipe: ManufactureRecipe) -> ParticleSet:
    """Random non-overlapping insertion in a tall box (lateral size from the recipe), AM first
    (sizes from the PSD, inflated by the solvent shell), then CBD effective particles."""
    sysr = recipe.system
    rng = np.random.default_rng(recipe.seed)
    d_am = rng.normal(sysr.am_diameter_um, sysr.am_diameter_sd_um, sysr.n_am)
    d_am = np.clip(d_am, 0.5 * sysr.am_diameter_um, 1.5 * sysr.am_diameter_um)
    d_am = np.sort(d_am)[::-1] * sysr.solvent_shell_factor
    d = np.concatenate([d_am, np.full(sysr.n_cbd, sysr.cbd_slurry_diameter_um)])
    lxy = sysr.box_xy_um
    if d.max() >= lxy:
        raise DeckError(f"box_xy_um = {lxy} is smaller than the largest particle ({d.max():.3g}"
                        " um)")
    vol = np.sum(np.pi / 6 * d**3)
    lz = vol / (sysr.insertion_solid_fraction * lxy * lxy) + d.max()
    xyz = np.empty((len(d), 3))
    for i, di in enumerate(d):
        for _ in range(10000):
            p = np.array([rng.uniform(0, lxy), rng.uniform(0, lxy),
                          rng.uniform(di / 2, lz - di / 2)])
            if i == 0:
                break
            dv = xyz[:i] - p
            dv[:, :2] -= lxy * np.round(dv[:, :2] / lxy)
            if np.all(np.einsum("ij,ij->i", dv, dv) >= (0.5 * (d[:i] + di)) ** 2):
                break
        else:
            raise DeckError(f"could not insert particle {i + 1} without overlap; lower "
                            f"[system].insertion_solid_fraction")
        xyz[i] = p
    n_am = sysr.n_am
    types = np.concatenate([np.full(n_am, AM_TYPE), np.full(sysr.n_cbd, CBD_TYPES[0])])
    # AM keeps its dry mass: the effective (inflated) particle has a lower density
    dens = np.concatenate([np.full(n_am, sysr.am_density_g_cm3 / sysr.solvent_shell_factor**3),
                           np.full(sysr.n_cbd, sysr.cbd_slurry_density_g_cm3)])
    bounds = np.array([[0, lxy], [0, lxy], [0, lz]])
    return ParticleSet(bounds, np.arange(1, len(d) + 1), types, xyz, d / 2, dens)


def slurry_deck(recipe: ManufactureRecipe, data_file: str, stem: str, mean_am_um: float,
                resume: Checkpoint | None = None) -> str:
    """Compaction of the inserted slurry under the pressure force against the solvent drag, in
    ``STAGE_CHUNKS`` runs with a restart point after each; with ``resume``, the runs after
    ``resume.chunk`` from its restart file (the step counter goes on from there)."""
    s, sysr, ff = recipe.slurry, recipe.system, recipe.forcefield
    b = Blend(mean_am_um * sysr.solvent_shell_factor, (sysr.cbd_slurry_diameter_um,) * 3,
              0.0, (0.0, 0.0, 0.0), 0.0)
    every = max(1, s.steps // 10)
    cmds = (header(data_file, s.timestep_us, 0.3 * sysr.cbd_slurry_diameter_um,
                   resume.restart if resume else None)
            + pair_commands(ff, b) + [wall_command(ff)]
            + loads(s.pressure_pa, 0.0, s.solvent_viscosity_mPa_s) + integrator()
            + outputs(stem, every, None) + [dump(stem, s.steps)])
    runs = split_steps(s.steps, STAGE_CHUNKS)
    k0 = resume.chunk if resume else 0
    cmds += resumed_banner(resume, len(runs))
    for k in range(k0 + 1, len(runs) + 1):
        cmds += [f"run {runs[k - 1]}", *checkpoint_commands(stem, k)]
    return check_filled("\n".join(cmds + finish(stem)) + "\n")
