"""Manufactured solution: observed convergence rates of the coupled half-cell problem.

Geometry: the box [0, L]^2 x [0, H] split at z = H/2; below is one active-material particle
(its bottom face is the current collector), above is electrolyte (pore, or separator so that
the porosity and the Bruggeman factor enter). The plane z = H/2 is the reactive interface and
z = H the lithium-metal counter electrode. Structured tetrahedral meshes n x n x 2n.

Exact fields: smooth functions of (x, y, z), each a profile in z plus a profile in z times
cos(pi x/L) cos(pi y/L), so their normal derivatives vanish on the lateral faces (the model's
implied no-flux condition there); psi = 0 on the collector (the model's Dirichlet condition).
c_e stays within 1 +- 0.15, x within (0.5, 0.65); the potentials vary by tens of mV and V is
such that the overpotential spans -95 ... -8 mV on the interface (F eta / 2RT from -1.8 to
-0.15: from the linear to the exponential range of the sinh).

Time: the exact solution is linear in time, u(t) = u1 + (t - t1) r, so Backward Euler is exact
for it; the previous state is the interpolant of u(t1 - dt) and the storage sources are
written with that same discrete previous state, so it cancels: only the spatial error is left,
while the storage terms (sign and size, porosity) are exercised with O(1) weight.

Sources: derived from the strong form and the interface and boundary conditions of
shared/spec/newman3d.md, not from the model's weak form. For each balance
d_t m + div N = 0 with the outward flux N.n = N_bc(u) on a boundary piece (interface,
counter electrode, collector), the exact fields leave a volume residual d_t m + div N and a
boundary residual N.n - N_bc; both are subtracted from the model's residual, so u_ex solves
the modified problem exactly. The normals are the geometric ones (-e_z out of the
electrolyte on the interface), j = 2 j0 sinh(F eta / 2RT) with eta = V + psi - phi_e - U(x),
and the applied current is minus the exact total reaction, so V_ex is the exact V.

Scaling: the transport coefficients (kappa, D_e, sigma, D_s, and i0 of lithium) are scaled so
that storage, transport, interface and counter-electrode terms have comparable sizes in every
equation (with the physical values and these variations the interface terms are ~1/300 to
1/1000 of the transport terms of c_e, phi_e and psi, and an error in them would hardly show
above the discretisation error). This verifies the discretisation, not a physical case.

Verified: P1 rates for c_e, phi_e, x and psi (relative L2 errors ~ h^2, H1 seminorm ~ h) and
for V (~ h^2 or faster), with the errors below C h^p on the finest mesh, for a constant t+
(Nyman 2008, pore or separator) and for t+(c), TDF(c) (Landesfeind 2019, bulk migration).
Flipping the sign of any coupling term in a copy of the model's residual (the BV current in
any of the four balances, the lithium-metal current in either electrolyte balance, the
storage of c_e, the global constraint) leaves O(1) relative errors or stops Newton: the error
bounds catch it. One such flip is kept as a test of the test's sensitivity.

The same for the lumped scheme (ModelOptions(lumped=True): storage of c_e and reactions on
the vertex rule), pore and Nyman 2008. The interface sources have their own id so that they
keep an accurate quadrature.

Meshes n = 6, 12 in the default run (~25 s on one core with the JIT cache warm, ~45 s cold);
n = 4, 8, 16, 24 under the ``slow`` marker (~2 min).
"""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("dolfinx_solver")

from mpi4py import MPI  # noqa: E402

from echem import materials as mat  # noqa: E402
from echem import parameter_set  # noqa: E402
from echem.domains import G_REACTIVE, R_AM, R_PORE, R_SEP, build_domains  # noqa: E402
from echem.model import ModelOptions, NewmanModel  # noqa: E402
from echem.solver import BorderedNewton, SolverOptions  # noqa: E402
from meshing.gmsh_model import (  # noqa: E402
    COUNTER_ELECTRODE,
    CURRENT_COLLECTOR,
    INTERFACE_TAG_OFFSET,
    PARTICLE_TAG_OFFSET,
    PORE,
    SEPARATOR,
)
from meshing.tagged_mesh import TaggedMesh  # noqa: E402

pytestmark = pytest.mark.verification

L, H = 4e-6, 8e-6  # box [0, L]^2 x [0, H]; interface at z = H/2
DT = 20.0  # s
V_EXACT = 3.75  # V
SOURCE_DEGREE = 4  # quadrature of the sources and of the errors
FIELDS = NewmanModel.FIELDS
G_SOURCES = 99  # the reactive interface's id for the manufactured sources

# coefficient scales (see the module docstring)
SCALES = {"Electrolyte conductivity [S.m-1]": 1e-3,
          "Electrolyte diffusivity [m2.s-1]": 1e-2,
          "Active material diffusivity [m2.s-1]": 10.0,
          "Lithium metal exchange-current density [A.m-2]": 0.05}
SIGMA_AM = 1e-3  # S/m


# ---- exact fields, written for numpy (interpolation) and UFL (sources, errors) --------------

def _lateral(X, m):
    return m.cos(np.pi * X[0] / L) * m.cos(np.pi * X[1] / L)


def ce_exact(X, m):
    z, c = X[2] / H, _lateral(X, m)
    return 1.0 + 0.1 * m.cos(np.pi * (z - 0.3)) + 0.08 * c * m.sin(np.pi * (z + 0.2))


def phie_exact(X, m):
    z, c = X[2] / H, _lateral(X, m)
    return -0.02 + 0.01 * m.sin(np.pi * (z + 0.1)) + 0.015 * c * m.cos(np.pi * (z - 0.35))


def x_exact(X, m):
    z, c = X[2] / H, _lateral(X, m)
    return 0.6 - 0.05 * m.cos(np.pi * z) + 0.04 * c * m.cos(np.pi * (z - 0.4))


def psi_exact(X, m):
    z, c = X[2] / H, _lateral(X, m)
    return 0.02 * m.sin(np.pi * z) + 0.015 * c * m.sin(1.6 * np.pi * z)


def ce_rate(X, m):  # d ce / dt (constant in time)
    return 0.05 / DT * (1.0 + 0.5 * m.sin(np.pi * X[0] / L + X[2] / H))


def x_rate(X, m):
    return 0.01 / DT * (1.0 + 0.5 * m.cos(np.pi * X[1] / L + 2 * X[2] / H))


EXACT = {"ce": ce_exact, "phie": phie_exact, "x": x_exact, "psi": psi_exact}
RATE = {"ce": ce_rate, "x": x_rate}
NP_TRIG = SimpleNamespace(cos=np.cos, sin=np.sin)


def _ufl_trig():
    import ufl

    return SimpleNamespace(cos=ufl.cos, sin=ufl.sin)


def scaled_parameters(electrolyte: str):
    """The default active material with ``electrolyte``, coefficients scaled (SCALES)."""
    p = parameter_set(electrolyte=electrolyte)

    def scaled(f, s):
        return lambda *args: s * f(*args)

    return p.update({k: scaled(p[k], s) for k, s in SCALES.items()}
                    | {"Active material conductivity [S.m-1]": SIGMA_AM})


# ---- mesh ------------------------------------------------------------------------------------

def box_mesh(comm, n: int, electrolyte_tag: int) -> TaggedMesh:
    """n x n x 2n box: particle 0 below z = H/2, ``electrolyte_tag`` above; tags on owned and
    ghost cells (the interface sides are told apart with them)."""
    from dolfinx import mesh as dmesh

    msh = dmesh.create_box(comm, [np.zeros(3), np.array([L, L, H])], [n, n, 2 * n],
                           dmesh.CellType.tetrahedron, ghost_mode=dmesh.GhostMode.shared_facet)
    cmap = msh.topology.index_map(3)
    cells = np.arange(cmap.size_local + cmap.num_ghosts, dtype=np.int32)
    below = dmesh.compute_midpoints(msh, 3, cells)[:, 2] < H / 2
    cell_tags = dmesh.meshtags(msh, 3, cells, np.where(below, PARTICLE_TAG_OFFSET,
                                                       electrolyte_tag).astype(np.int32))
    msh.topology.create_connectivity(2, 3)
    tol = 1e-6 * H
    planes = [(0.0, CURRENT_COLLECTOR), (H, COUNTER_ELECTRODE), (H / 2, INTERFACE_TAG_OFFSET)]
    found = [dmesh.locate_entities(msh, 2, lambda X, z=z: np.abs(X[2] - z) < tol)
             for z, _ in planes]
    facets = np.concatenate(found).astype(np.int32)
    values = np.concatenate([np.full(len(f), tag, np.int32)
                             for f, (_, tag) in zip(found, planes, strict=True)])
    order = np.argsort(facets)
    facet_tags = dmesh.meshtags(msh, 2, facets[order], values[order])
    return TaggedMesh(msh, cell_tags, facet_tags)


# ---- the manufactured problem ---------------------------------------------------------------

def _coefficient(value, *args):
    return value(*args) if callable(value) else value


def strong_form_residuals(model, X, eps, brug):
    """Volume and boundary residuals of the exact fields in the strong form (UFL).

    Returns ({field: [(residual, measure, side)]}, exact total reaction form), with side the
    restriction of the test function on the interface (None elsewhere); the source of a field
    is sum(sign * residual * v(side) * measure), sign -1 for boundary pieces."""
    import ufl

    p, m, trig = model.params, mat.ufl_math(), _ufl_trig()
    T = p.temperature
    FRT = mat.F / (mat.R_GAS * T)
    c0, c_max = model.c_e0, model.c_max
    ce, phie, x, psi = (EXACT[k](X, trig) for k in FIELDS)
    c = c0 * ce
    kappa = _coefficient(p["Electrolyte conductivity [S.m-1]"], c, T, m)
    D_e = _coefficient(p["Electrolyte diffusivity [m2.s-1]"], c, T, m)
    tplus = _coefficient(p["Cation transference number"], c, T, m)
    tdf = _coefficient(p["Thermodynamic factor"], c, T, m)
    D_s = _coefficient(p["Active material diffusivity [m2.s-1]"], x, m)
    sigma = float(p["Active material conductivity [S.m-1]"])
    migration = callable(p["Cation transference number"])

    # fluxes of the balances d_t m + div N = 0
    i_e = -brug * kappa * (ufl.grad(phie) - 2 / FRT * (1 - tplus) * tdf * ufl.grad(ce) / ce)
    N_ce = -brug * D_e * c0 * ufl.grad(ce)
    if migration:
        N_ce = N_ce + tplus * i_e / mat.F
    N_x = -D_s * c_max * ufl.grad(x)
    i_s = -sigma * ufl.grad(psi)
    dt = model.dt
    store_ce = eps * c0 * (ce - model.u_old["ce"]) / dt
    store_x = c_max * (x - model.u_old["x"]) / dt

    # reactions (j > 0: oxidation) with the exact V
    eta = V_EXACT + psi - phie - p.ocp()(x, m)
    j = 2 * p["Active material exchange-current density [A.m-2]"](c, x, m) \
        * ufl.sinh(0.5 * FRT * eta)
    j_li = 2 * p["Lithium metal exchange-current density [A.m-2]"](c, m) \
        * ufl.sinh(0.5 * FRT * (0.0 - phie))
    # outward normals: the electrolyte lies above the interface
    e_z = ufl.as_vector((0.0, 0.0, 1.0))
    n_e, n_s = -e_z, e_z
    # the electrolyte gains (1 - t+) j/F by diffusion (all of j/F with the migration flux)
    share = 1.0 if migration else 1 - tplus

    md = {"quadrature_degree": SOURCE_DEGREE}
    dom = model.dom
    dx = ufl.Measure("dx", domain=dom.mesh, subdomain_data=dom.regions, metadata=md)
    dS = ufl.Measure("dS", domain=dom.mesh, subdomain_data=dom.interface_data, metadata=md)
    ds = ufl.Measure("ds", domain=dom.mesh, subdomain_data=dom.facet_tags, metadata=md)
    dxE, dxA = dx((R_PORE, R_SEP)), dx(R_AM)
    dG, dsCE, dsCC = dS(G_SOURCES), ds(COUNTER_ELECTRODE), ds(CURRENT_COLLECTOR)
    return {
        "ce": [(store_ce + ufl.div(N_ce), dxE, None),
               (ufl.dot(N_ce, n_e) + share * j / mat.F, dG, "+"),
               (ufl.dot(N_ce, e_z) + share * j_li / mat.F, dsCE, None)],
        "phie": [(ufl.div(i_e), dxE, None),
                 (ufl.dot(i_e, n_e) + j, dG, "+"),
                 (ufl.dot(i_e, e_z) + j_li, dsCE, None)],
        "x": [(store_x + ufl.div(N_x), dxA, None),
              (ufl.dot(N_x, n_s) - j / mat.F, dG, "-"),
              (ufl.dot(N_x, -e_z), dsCC, None)],  # no lithium flux through the collector
        "psi": [(ufl.div(i_s), dxA, None),
                (ufl.dot(i_s, n_s) - j, dG, "-")],
    }, j * dG


def manufactured_model(n: int, electrolyte_tag: int, electrolyte: str, comm=MPI.COMM_WORLD,
                       lumped: bool = False):
    """The model on the n-mesh with the manufactured sources subtracted from its residuals,
    I_app set to minus the exact total reaction, the previous state and the Newton start set."""
    import ufl
    from dolfinx import fem

    params = scaled_parameters(electrolyte)
    tm = box_mesh(comm, n, electrolyte_tag)
    dom = build_domains(tm)
    # the interface again under its own id, so that its sources get their own (accurate)
    # quadrature: one interior-facet integral cannot mix the model's vertex rule with it
    dom.interface_data.append((G_SOURCES, dict(dom.interface_data)[G_REACTIVE]))
    model = NewmanModel(dom, params, ModelOptions(lumped=lumped))
    msh = tm.mesh
    X = ufl.SpatialCoordinate(msh)
    if electrolyte_tag == SEPARATOR:
        eps = float(params["Separator porosity"])
        brug = eps ** float(params["Separator Bruggeman exponent"])
    else:
        eps, brug = 1.0, 1.0
    residuals, total_exact = strong_form_residuals(
        model, X, fem.Constant(msh, eps), fem.Constant(msh, brug))
    for k, pieces in residuals.items():
        v = ufl.TestFunction(model.V[k])
        source = sum((1.0 if dm.integral_type() == "cell" else -1.0)
                     * (r * v if side is None else r(side) * v(side)) * dm
                     for r, dm, side in pieces)
        model.residuals[k] = model.residuals[k] - source
    model.dt.value = DT
    model.I_app.value = -_assemble(total_exact, model)
    for k, f in model.u_old.items():
        f.interpolate(lambda X, k=k: EXACT[k](X, NP_TRIG) - DT * RATE[k](X, NP_TRIG))
    for k, f in model.u.items():  # the Newton start: the interpolants, V off by 10 mV
        f.interpolate(lambda X, k=k: EXACT[k](X, NP_TRIG))
    model.Vcc.value = V_EXACT + 0.01
    return model


def _assemble(form, model) -> float:
    from dolfinx import fem

    return model.dom.mesh.comm.allreduce(
        fem.assemble_scalar(fem.form(form, entity_maps=model.dom.entity_maps)), op=MPI.SUM)


def errors(model) -> dict:
    """Relative L2 and H1-seminorm errors of each field on its submesh, |V - V_ex| [V]."""
    import ufl

    dom = model.dom
    X = ufl.SpatialCoordinate(dom.mesh)
    dx = ufl.Measure("dx", domain=dom.mesh, subdomain_data=dom.regions,
                     metadata={"quadrature_degree": SOURCE_DEGREE})
    where = {"ce": dx((R_PORE, R_SEP)), "phie": dx((R_PORE, R_SEP)), "x": dx(R_AM),
             "psi": dx(R_AM)}
    out = {"V": abs(float(model.Vcc.value) - V_EXACT)}
    for k, dm in where.items():
        u_ex = EXACT[k](X, _ufl_trig())
        e = model.u[k] - u_ex
        volume = _assemble(1.0 * dm, model)
        mean = _assemble(u_ex * dm, model) / volume
        l2 = _assemble(e**2 * dm, model) / _assemble((u_ex - mean) ** 2 * dm, model)
        h1 = _assemble(ufl.inner(ufl.grad(e), ufl.grad(e)) * dm, model) \
            / _assemble(ufl.inner(ufl.grad(u_ex), ufl.grad(u_ex)) * dm, model)
        out[k + "_L2"], out[k + "_H1"] = np.sqrt(l2), np.sqrt(h1)
    return out


def solve_manufactured(n: int, electrolyte_tag: int, electrolyte: str,
                       lumped: bool = False) -> dict:
    model = manufactured_model(n, electrolyte_tag, electrolyte, lumped=lumped)
    newton = BorderedNewton(model, FIELDS, SolverOptions())
    try:
        newton.solve()
    finally:
        newton.destroy()
    return errors(model)


def observed_rates(meshes, errs: list[dict]) -> dict:
    """Observed orders between successive meshes: log(e1/e2) / log(n2/n1)."""
    return {k: [float(np.log(errs[i][k] / errs[i + 1][k]) / np.log(meshes[i + 1] / meshes[i]))
                for i in range(len(meshes) - 1)] for k in errs[0]}


# ---- tests --------------------------------------------------------------------------------------

CASES = [pytest.param(PORE, "Nyman2008", False, id="pore-Nyman"),
         pytest.param(SEPARATOR, "Nyman2008", False, id="separator-Nyman"),
         pytest.param(SEPARATOR, "Landesfeind2019", False, id="separator-Landesfeind"),
         pytest.param(PORE, "Nyman2008", True, id="pore-Nyman-lumped")]
FAST_MESHES, FULL_MESHES = (6, 12), (4, 8, 16, 24)
# error bounds C h^p on the finest mesh (n cells across L); the measured constants are
# ~3.0 (L2), ~1.6 (H1) and ~9e-4 V (V); with the reactions and the storage of c_e on the
# vertex rule (ModelOptions(lumped=True)) ~1.3-2.5 (L2) and 2.4e-3 to 3.8e-3 V (V), V still
# of order ~1.98; a flipped coupling sign leaves O(1) relative errors
L2_BOUND, H1_BOUND = 4.0, 2.0
V_BOUND = {False: 2e-3, True: 6e-3}  # by lumped


def check_convergence(meshes, electrolyte_tag, electrolyte, lumped):
    errs = [solve_manufactured(n, electrolyte_tag, electrolyte, lumped) for n in meshes]
    rates, finest, n = observed_rates(meshes, errs), errs[-1], meshes[-1]
    for k in FIELDS:
        assert rates[k + "_L2"][-1] > 1.8, (k, rates)
        assert rates[k + "_H1"][-1] > 0.9, (k, rates)
        assert finest[k + "_L2"] < L2_BOUND / n**2, (k, finest)
        assert finest[k + "_H1"] < H1_BOUND / n, (k, finest)
    assert rates["V"][-1] > 1.8, rates
    assert finest["V"] < V_BOUND[lumped] / n**2, finest


@pytest.mark.parametrize("electrolyte_tag, electrolyte, lumped", CASES)
def test_manufactured_solution_converges_at_optimal_rates(electrolyte_tag, electrolyte, lumped):
    check_convergence(FAST_MESHES, electrolyte_tag, electrolyte, lumped)


@pytest.mark.slow
@pytest.mark.parametrize("electrolyte_tag, electrolyte, lumped", CASES)
def test_manufactured_solution_converges_on_finer_meshes(electrolyte_tag, electrolyte, lumped):
    check_convergence(FULL_MESHES, electrolyte_tag, electrolyte, lumped)


def test_a_flipped_coupling_sign_is_caught():
    """The check is sensitive to the coupling terms: with the sign of the reaction term of
    the electrolyte's lithium balance flipped in a copy of the residual (a term that would
    be ~1/300 of the diffusive flux with the physical coefficients), the error is far above
    the bound."""
    import ufl

    n = FAST_MESHES[0]
    model = manufactured_model(n, PORE, "Nyman2008")
    q = ufl.TestFunction(model.V["ce"])
    tplus = float(model.params["Cation transference number"])
    model.residuals["ce"] += 2 * (1 - tplus) / mat.F * model.j * q("+") * model.dG
    newton = BorderedNewton(model, FIELDS, SolverOptions())
    try:
        newton.solve()
    finally:
        newton.destroy()
    assert errors(model)["ce_L2"] > 10 * L2_BOUND / n**2
