"""The pore-resolved Newman half-cell model (shared/spec/newman3d.md) as UFL forms.

Unknowns (P1 on submeshes, see ``domains``):
- ``ce``  c_e / c_e0 on the electrolyte E (pore, CBD, separator),
- ``phie`` phi_e [V] on E,
- ``x``   c_s / c_max on the active material A,
- ``psi`` phi_s - V [V] on the conductor S (AM + CBD); psi = 0 on the current collector,
- ``V``   the uniform current-collector potential [V], a global scalar fixed by the applied
  current (sum of the reaction currents = -I_app) and solved by bordering (``solver``).

Sign convention of PyBaMM: j > 0 is oxidation; I_app > 0 is a discharge (j < 0 on the AM).
Residuals are in mol/s (mass balances) and A (charge balances), Backward Euler in time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import materials as mat
from .domains import G_AM_CBD, G_REACTIVE, R_AM, R_CBD, R_PORE, R_SEP, Domains
from .parameters import ParameterSet


@dataclass(frozen=True)
class ModelOptions:
    """Physics switches.

    cbd_reactive: the AM/CBD interface reacts, with its area scaled by the CBD nanoporosity
    (the closure approach); otherwise it is non-reactive (Khan 2021).
    quadrature_degree: for all integrals (P1 fields; nonlinear coefficients).
    lumped: the storage of c_e and the reactions on the vertex rule (mass lumping), so that
    each node's reaction depends on its own c_e and a depleted node stops reacting: c_e stays
    ~positive where the Gauss-point coupling drives it negative (severe depletion at high
    rates). Second order too, with a larger error constant on coarse meshes (+1.5 % capacity
    on the 0.5 um voxel regression case at 5C, +0.6 % at 0.25 um).
    """

    cbd_reactive: bool = False
    quadrature_degree: int = 2
    lumped: bool = False


class NewmanModel:
    """Function spaces, state and residual forms of the half-cell model on ``Domains``."""

    FIELDS = ("ce", "phie", "x", "psi")

    def __init__(self, dom: Domains, params: ParameterSet, options: ModelOptions | None = None,
                 area_correction: dict | None = None):
        import ufl
        from dolfinx import fem

        self.dom, self.params = dom, params
        self.options = options or ModelOptions()
        msh = dom.mesh
        m = mat.ufl_math()
        p = params
        T = p.temperature
        self.c_e0 = float(p["Initial electrolyte concentration [mol.m-3]"])
        self.c_max = float(p["Maximum concentration in active material [mol.m-3]"])
        x_lo, _ = p.usable_window()
        self.x_init = x_lo

        # one space per field (a bc on a shared space would act on every block using it)
        self.V = {"ce": fem.functionspace(dom.electrolyte[0], ("Lagrange", 1)),
                  "phie": fem.functionspace(dom.electrolyte[0], ("Lagrange", 1)),
                  "x": fem.functionspace(dom.active[0], ("Lagrange", 1)),
                  "psi": fem.functionspace(dom.conductor[0], ("Lagrange", 1))}
        self.u = {k: fem.Function(v, name=k) for k, v in self.V.items()}
        self.u_old = {k: fem.Function(self.V[k], name=k + "_old") for k in ("ce", "x")}
        self.u["ce"].x.array[:] = 1.0
        self.u["x"].x.array[:] = self.x_init
        for k in ("ce", "x"):
            self.u_old[k].x.array[:] = self.u[k].x.array
        self.Vcc = fem.Constant(msh, float(p.ocp()(self.x_init)))
        self.dt = fem.Constant(msh, 1.0)
        self.I_app = fem.Constant(msh, 0.0)

        # piecewise-constant coefficients on the parent mesh
        Q0 = fem.functionspace(msh, ("DG", 0))
        reg = dom.regions.values
        eps_n = float(p["CBD nanoporosity"])
        b_cbd = float(p["CBD Bruggeman exponent"])
        eps_sep = float(p["Separator porosity"])
        b_sep = float(p["Separator Bruggeman exponent"])

        def dg0(values: dict, name: str):
            f = fem.Function(Q0, name=name)
            for r, v in values.items():
                f.x.array[reg == r] = v
            return f

        self.eps = dg0({R_PORE: 1.0, R_CBD: eps_n, R_SEP: eps_sep}, "porosity")
        self.brug = dg0({R_PORE: 1.0, R_CBD: eps_n**b_cbd, R_SEP: eps_sep**b_sep},
                        "transport_efficiency")
        sigma_cbd = float(p["CBD bulk conductivity [S.m-1]"]) * (1 - eps_n) ** b_cbd
        self.sigma = dg0({R_AM: float(p["Active material conductivity [S.m-1]"]),
                          R_CBD: sigma_cbd}, "sigma_s")
        if dom.cbd_fraction is not None:
            # a cell partly filled with CBD (fraction f): the CBD and the free pore side by
            # side (parallel mixing), which gives the full CBD values at f = 1
            cbd = reg == R_CBD
            f = dom.cbd_fraction[cbd]
            self.eps.x.array[cbd] = 1 - f * (1 - eps_n)
            self.brug.x.array[cbd] = 1 - f + f * eps_n**b_cbd
            self.sigma.x.array[cbd] = f * sigma_cbd
        # reactive-area factor on the AM side (voxel meshes: smooth/staircase area)
        self.area = fem.Function(Q0, name="area_factor")
        self.area.x.array[:] = 1.0
        if area_correction:
            pid = dom.particle_of_cell
            for k, corr in area_correction.items():
                self.area.x.array[pid == int(k)] = corr

        # measures on the parent mesh
        md = {"quadrature_degree": self.options.quadrature_degree}
        self.dx = ufl.Measure("dx", domain=msh, subdomain_data=dom.regions, metadata=md)
        self.dS = ufl.Measure("dS", domain=msh, subdomain_data=dom.interface_data, metadata=md)
        self.ds = ufl.Measure("ds", domain=msh, subdomain_data=dom.facet_tags, metadata=md)
        # the electrolyte's storage and the reactions: on the vertex rule when lumped
        if self.options.lumped:
            mv = {"quadrature_rule": "vertex", "quadrature_degree": 1}
            dSr = ufl.Measure("dS", domain=msh, subdomain_data=dom.interface_data, metadata=mv)
            dxEm = ufl.Measure("dx", domain=msh, subdomain_data=dom.regions,
                               metadata=mv)((R_PORE, R_SEP, R_CBD))
        else:
            dSr, dxEm = self.dS, self.dx((R_PORE, R_SEP, R_CBD))
        from .domains import COUNTER_ELECTRODE

        dxE = self.dx((R_PORE, R_SEP, R_CBD))
        dxS = self.dx((R_AM, R_CBD))
        dxA = self.dx(R_AM)
        dsCE = self.ds(COUNTER_ELECTRODE)

        ce, phie, x, psi = (self.u[k] for k in self.FIELDS)
        q, v, w, z = (ufl.TestFunction(self.V[k]) for k in self.FIELDS)
        FRT = mat.F / (mat.R_GAS * T)

        c_e = self.c_e0 * ufl.max_value(ce, 1e-6)
        # the kinetics see a smooth positive part of c_e, so that j0 ~ sqrt(c_e) vanishes
        # with it: a depleted pore stops reacting, and c_e stays >= 0 but for the P1
        # undershoot (with j0 of max(c_e, eps) the reaction went on at c_e = 0 and drove
        # the concentration through any floor); exact to < 1e-11 for c_e / c_e0 > 1e-4,
        # and > 0 for the square root's derivative
        c_kin = self.c_e0 * (1e-12 + _softplus(ce, CE_KINETIC_WIDTH, ufl))
        kappa = _fun(p["Electrolyte conductivity [S.m-1]"], c_e, T, m)
        D_e = _fun(p["Electrolyte diffusivity [m2.s-1]"], c_e, T, m)
        tplus = _fun(p["Cation transference number"], c_e, T, m)
        tdf = _fun(p["Thermodynamic factor"], c_e, T, m)
        t_const = not callable(p["Cation transference number"])

        i_e = -self.brug * kappa * (ufl.grad(phie) - 2 / FRT * (1 - tplus) * tdf
                                    * ufl.grad(ce) / ufl.max_value(ce, 1e-6))
        # reaction current densities
        # x kept in (0, 1) smoothly (a hard clamp makes Newton cycle once a node of a full
        # surface overshoots 1); exact to < 1e-20 for x more than 5e-3 from the bounds
        xs = _smooth_unit(x, ufl)
        # and strictly inside for the square roots of j0 where exp(-|z|/d) underflows
        xj = 1e-10 + (1 - 2e-10) * xs
        j0_am = p["Active material exchange-current density [A.m-2]"]
        U = p.ocp()

        def bv(side_e, side_s):
            eta = self.Vcc + psi(side_s) - phie(side_e) - U(xs(side_s), m)
            j0 = j0_am(c_kin(side_e), xj(side_s), m)
            return 2 * j0 * ufl.sinh(0.5 * FRT * eta)

        j = self.area("-") * bv("+", "-")
        j_li = 2 * _fun1(p["Lithium metal exchange-current density [A.m-2]"], c_kin, m) \
            * ufl.sinh(0.5 * FRT * (0.0 - phie))
        dG = dSr(G_REACTIVE)
        reactions = [(j, dG)]
        if self.options.cbd_reactive:
            reactions.append((eps_n * bv("+", "-"), dSr(G_AM_CBD)))
        self.j, self.j_li, self.dG = j, j_li, dG

        D_s = p["Active material diffusivity [m2.s-1]"]
        D_s = D_s(xs, m) if callable(D_s) else D_s

        dt = self.dt
        F_ce = self.eps * self.c_e0 * (ce - self.u_old["ce"]) / dt * q * dxEm \
            + self.brug * D_e * self.c_e0 * ufl.inner(ufl.grad(ce), ufl.grad(q)) * dxE
        if t_const:
            F_ce -= sum((1 - tplus) / mat.F * jr * q("+") * dm for jr, dm in reactions)
            F_ce -= (1 - tplus) / mat.F * j_li * q * dsCE
        else:
            F_ce -= ufl.inner(tplus * i_e / mat.F, ufl.grad(q)) * dxE
            F_ce -= sum(jr / mat.F * q("+") * dm for jr, dm in reactions)
            F_ce -= j_li / mat.F * q * dsCE
        F_phie = -ufl.inner(i_e, ufl.grad(v)) * dxE \
            - sum(jr * v("+") * dm for jr, dm in reactions) - j_li * v * dsCE
        F_x = (self.c_max * (x - self.u_old["x"]) / dt * w
               + D_s * self.c_max * ufl.inner(ufl.grad(x), ufl.grad(w))) * dxA \
            + sum(jr / mat.F * w("-") * dm for jr, dm in reactions)
        F_psi = self.sigma * ufl.inner(ufl.grad(psi), ufl.grad(z)) * dxS \
            + sum(jr * z("-") * dm for jr, dm in reactions)
        self.residuals = {"ce": F_ce, "phie": F_phie, "x": F_x, "psi": F_psi}
        # the global constraint: total reaction current + I_app = 0
        self.total_reaction = sum(jr * dm for jr, dm in reactions)
        self.one_psi = fem.Function(self.V["psi"])
        self.one_psi.x.array[:] = 1.0

        # psi = 0 on the current collector: the conductor's vertices on its tagged facets
        Vs = self.V["psi"]
        msh.topology.create_connectivity(2, 0)
        f2v = msh.topology.connectivity(2, 0)
        cc = np.asarray(dom.cc_facets, dtype=np.int32)
        verts = np.unique(f2v.array.reshape(-1, 3)[cc]) if len(cc) else np.zeros(0, np.int32)
        sub_verts = dom.conductor[2].sub_topology_to_topology(verts.astype(np.int32), True)
        sub = dom.conductor[0]
        sub.topology.create_connectivity(0, 3)
        cc_dofs = fem.locate_dofs_topological(Vs, 0, sub_verts[sub_verts >= 0])
        self.bcs = [fem.dirichletbc(0.0, cc_dofs, Vs)]


SMOOTH_WIDTH = 1e-4
CE_KINETIC_WIDTH = 1e-6  # of the positive part of c_e / c_e0 that the kinetics see


def _softplus(z, d, ufl):
    """d ln(1 + exp(z / d)) in an overflow-safe form: max(z, 0) smoothed over a width d."""
    return ufl.max_value(z, 0) + d * ufl.ln(1 + ufl.exp(-abs(z) / d))


def _smooth_unit(x, ufl, d: float = SMOOTH_WIDTH):
    """1 - softplus(1 - softplus(x)): a smooth map of R into (0, 1), ~identity inside."""
    return 1 - _softplus(1 - _softplus(x, d, ufl), d, ufl)


def _fun(value, c, T, m):
    return value(c, T, m) if callable(value) else value


def _fun1(value, c, m):
    return value(c, m) if callable(value) else value


__all__ = ["ModelOptions", "NewmanModel"]
