"""Verification: a sphere lattice against PyBaMM's DFN fed with the lattice's measured
properties; delivered capacity to the 3.0 V cut-off within 3 % from C/10 to 2C (issue 4).

Structure: ``sphere_lattice(5 µm, (1, 1, 3), 1.9 R)``, one column of the simple cubic
lattice (its lateral faces lie midway between neighbours, so with no-flux lateral faces it is
every (n, n, 3) lattice), under a 12 µm separator. Meshed by the spheres route: the geometry is
conforming (interface areas within 0.1 % of the analytic ones), whereas the voxel route at 1 µm
loses ~30 % of this lattice's interface area in its area correction and shortens the particles'
diffusion length by 8 % (its capacities are 4 % (1C) and 9 % (2C) high).

DFN (``pybamm_reference.dfn_half_cell``) inputs, all measured on the same structure:
- electrode thickness L (collector to separator plane) and area: the box's;
- AM volume fraction eps_s = meshed AM volume / (A L), porosity 1 - eps_s (no CBD), so the
  DFN's usable capacity and current equal ``sim.usable_capacity_C`` and ``sim.current_A``;
- electrolyte tortuosity factor tau = eps / D_rel of the pore phase through the thickness
  (``mesostructure.tortuosity`` on a 0.25 µm raster of the meshed spheres), transport
  efficiency eps / tau (PyBaMM option "transport efficiency": "tortuosity factor");
- separator: our porosity, Bruggeman exponent and thickness; electrolyte functions, c_e0,
  c_max, D_s(x), j0, U, Li-metal kinetics, T and the cut-off: ours;
- particle radius: the *diffusion-equivalent* radius R_D = sqrt(15 <u>) with -lap u = 1 in
  the AM, u = 0 on its electrolyte interface and no flux on the collector and lateral faces
  (a steady solve on the mesh, like tau's; a sphere gives R_D = R: the pseudo-steady gap
  between surface and mean concentration is q R^2 / 15 D).

Why R_D and not R = 3 eps_s / a: the necks and the collector cut remove 12-23 % of each
sphere's surface but hardly shorten its diffusion paths, so R = 3 eps_s / a (6.1 µm) makes the
DFN's particles too deep and the sphere radius (5.05 µm as meshed) too shallow for this
diffusion-limited capacity. Measured at 2C (0.8 µm mesh), delivered fractions of the usable
capacity: lattice 0.766; DFN 0.716 with 3 eps_s / a (-6.5 %), 0.798 with 5.05 µm (+4.2 %),
0.768 with R_D = 5.43 µm (+0.3 %); at 1C 0.897 against 0.856 / 0.911 / 0.891. The DFN's
specific area is then 3 eps_s / R_D, 12 % above the measured one: kinetics only (scaling the
DFN's j0 by 0.89 moves its capacity by < 1e-5). At these rates and this thickness (33 µm) the
capacity does not depend on the electrolyte either (tau from 1 to 10 moves the DFN's 2C
capacity by 3e-5): it is set by solid diffusion.

Below C/2 the 3D run cannot reach 3.0 V: j0's floor (x <= 1 - 1e-10 inside the kinetics, so
j0 >= 5.6e-5 A/m2) caps the overpotential of full surfaces at ~0.41 V (C/10) and 0.45 V (C/5)
below U(1) = 3.49 V, so the run goes on at ~3.07 / 3.03 V filling the particles' cores until
the mean stoichiometry reaches 1 (or Newton gives up at the wall), where the DFN stops at
3.0 V. That tail is most of the differences at C/10 (+1.0 %) and C/5 (+2.0 %): down to 3.1 V
the two agree to 0.3 %, their voltages before the wall to < 1 mV (1.6, 4.3 and 10 mV at C/2,
1C and 2C, where the particle shapes and the areas differ). The stoichiometry bound is checked
after a step (not interpolated like the cut-off), so a run may overshoot it by up to dt_max
(x_mean > 1, measured +0.6 % at C/5 with dt_max = 1/50): the runs are capped at the time at
which the electrode is full (``max_time_s``), which no model can go past.
"""

import numpy as np
import pytest

pytest.importorskip("dolfinx_solver")
pytest.importorskip("pybamm")

from mpi4py import MPI  # noqa: E402

from echem import Discharge, Simulation, TimeOptions, parameter_set  # noqa: E402
from electrode3d.pipeline import sphere_lattice  # noqa: E402
from meshing import SizeOptions, build_mesh, repair_spheres  # noqa: E402
from mesostructure import Microstructure, Spheres, tortuosity  # noqa: E402

from .pybamm_reference import dfn_half_cell  # noqa: E402

pytestmark = pytest.mark.verification

SEPARATOR = 12e-6


def lattice(h: float):
    """The (1, 1, 3) lattice of 5 µm spheres at spacing 1.9 R, meshed conformally with
    element size h at the AM surfaces (3 h away from them)."""
    ms = sphere_lattice(5.0, (1, 1, 3))
    tm = build_mesh(ms, MPI.COMM_WORLD, separator_thickness=SEPARATOR,
                    size=SizeOptions(interface=h, bulk=3 * h))
    return ms, tm


def diffusion_radius(tm) -> float:
    """R_D = sqrt(15 <u>): -lap u = 1 in the AM (P2), u = 0 on every node shared with the
    electrolyte, no flux elsewhere; the AM is one field across contacts, as in the model."""
    import ufl
    from dolfinx import fem
    from dolfinx.fem.petsc import LinearProblem

    msh = tm.mesh
    tdim = msh.topology.dim
    am = np.concatenate([tm.cell_tags.find(int(p["tag"])) for p in tm.particles.values()])
    imap = msh.topology.index_map(tdim)
    other = np.setdiff1d(np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32), am)
    V = fem.functionspace(msh, ("Lagrange", 2))
    # an indicator rather than a subdomain measure keeps every cell in the sparsity pattern,
    # so the Dirichlet rows outside the AM get their unit diagonal
    chi = fem.Function(fem.functionspace(msh, ("DG", 0)))
    chi.x.array[am] = 1.0
    dx = ufl.dx(domain=msh)
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    bc = fem.dirichletbc(0.0, fem.locate_dofs_topological(V, tdim, other), V)
    uh = LinearProblem(chi * ufl.inner(ufl.grad(u), ufl.grad(v)) * dx, chi * v * dx, bcs=[bc],
                       petsc_options_prefix="dfn_lattice_rd_",
                       petsc_options={"ksp_type": "preonly", "pc_type": "lu",
                                      "pc_factor_mat_solver_type": "mumps"}).solve()
    comm = msh.comm
    volume = comm.allreduce(fem.assemble_scalar(fem.form(chi * dx)))
    mean = comm.allreduce(fem.assemble_scalar(fem.form(chi * uh * dx))) / volume
    return float(np.sqrt(15 * mean))


def pore_tortuosity(ms, voxel: float = 0.25e-6) -> float:
    """Through-plane tortuosity factor of the pores of the meshed spheres (radii as repaired
    by the spheres route) on a ``voxel`` raster of the electrode."""
    pieces = repair_spheres(ms)
    meshed = Microstructure(box=ms.box, particles=Spheres(pieces.centres, pieces.radii))
    return tortuosity(meshed.rasterize(voxel), "pore", "z").tortuosity_factor


def measured_inputs(ms, tm, sim) -> dict:
    L = float(ms.box[2])
    area = sum(p["interface_area_mesh_m2"] for p in tm.report["particles"].values())
    eps_s = sim.am_volume_m3 / (sim.cc_area_m2 * L)
    return {"thickness_m": L, "am_volume_fraction": eps_s, "cc_area_m2": sim.cc_area_m2,
            "separator_thickness_m": tm.report["volume_m3"]["separator"] / sim.cc_area_m2,
            "tortuosity_factor": pore_tortuosity(ms), "radius_m": diffusion_radius(tm),
            "specific_area_m": area / (sim.cc_area_m2 * L)}


def compare(ms, tm, c_rate: float, time_options: TimeOptions) -> dict:
    p = parameter_set()
    x0, x1 = p.usable_window()
    full_s = 3600 / c_rate * (1 - x0) / (x1 - x0)  # every particle full (mean x = 1)
    sim = Simulation(tm, p, Discharge(c_rate=c_rate, max_time_s=full_s),
                     time_options=time_options)
    res = sim.run()
    # the 3D run ends at 3.0 V, or below C/2 at the wall just above it or with the electrode
    # full (see the module docstring)
    assert res.stop_reason in ("cutoff", "wall", "stoichiometry_bound", "max_time")
    inputs = measured_inputs(ms, tm, sim)
    kw = {k: v for k, v in inputs.items() if k != "specific_area_m"}
    ref = dfn_half_cell(p, current_A=sim.current_A, cutoff_V=sim.experiment.cutoff_V, **kw)
    assert "Minimum voltage" in ref["termination"]
    q3d = sim.current_A * res.time_s[-1] / sim.usable_capacity_C
    qdfn = ref["capacity_C"] / sim.usable_capacity_C
    return {"q3d": q3d, "qdfn": qdfn, "rel": q3d / qdfn - 1, **inputs,
            "dofs": sim.describe()["dofs_total"], "wall_s": res.info["wall_time_s"]}


def test_lattice_matches_dfn_1C():
    """CI: 1C on a 1 µm mesh (12k unknowns, ~50 s). Measured: 3D 0.898, DFN 0.892 of the
    usable capacity (+0.7 %); R_D = 5.42 µm, tau = 1.84, eps_s = 0.529."""
    ms, tm = lattice(1.0e-6)
    r = compare(ms, tm, 1.0, TimeOptions(dt_initial=1 / 100, dt_max=1 / 30))
    assert 0.52 < r["am_volume_fraction"] < 0.54
    assert 5.3e-6 < r["radius_m"] < 5.6e-6
    assert abs(r["rel"]) < 0.03, r


@pytest.fixture(scope="module")
def lattice_08():
    return lattice(0.8e-6)


@pytest.mark.slow
@pytest.mark.parametrize("c_rate", [0.1, 0.2, 0.5, 1.0, 2.0])
def test_lattice_matches_dfn_rates(lattice_08, c_rate):
    """C/10 to 2C on a 0.8 µm mesh (16k unknowns; capacities within 0.2 % of a 0.35 µm mesh
    at 1C and 2C, and within 0.1 % of a 4x finer time step at 2C). Measured (3D vs DFN):
    C/10 1.025 vs 1.013 (+1.2 %), C/5 1.023 vs 1.003 (+2.0 %), C/2 0.970 vs 0.964 (+0.6 %),
    1C 0.897 vs 0.891 (+0.7 %), 2C 0.766 vs 0.768 (-0.3 %); 1-2.5 min per rate."""
    ms, tm = lattice_08
    r = compare(ms, tm, c_rate, TimeOptions(dt_initial=1 / 100, dt_max=1 / 30))
    assert abs(r["rel"]) < 0.03, r
