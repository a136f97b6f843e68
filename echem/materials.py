"""Material functions: open-circuit potentials, exchange-current densities, electrolyte
transport. Each is named after its source and written once for both numpy arrays and UFL
expressions: the math namespace ``m`` (``NP`` or ``ufl_math()``) supplies tanh, exp, sqrt, log,
min and max.

Sources are those of ../shared/reference/parameters.md (PyBaMM parameter files, which cite the
papers): concentrations in mol/m3, temperatures in K, results in SI units.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

F = 96485.33212  # C/mol
R_GAS = 8.314462618  # J/(mol K)
T_REF = 298.15  # K

NP = SimpleNamespace(tanh=np.tanh, exp=np.exp, sqrt=np.sqrt, log=np.log, min=np.minimum,
                     max=np.maximum)


def ufl_math():
    import ufl

    return SimpleNamespace(tanh=ufl.tanh, exp=ufl.exp, sqrt=ufl.sqrt, log=ufl.ln,
                           min=ufl.min_value, max=ufl.max_value)


def arrhenius(activation_energy_J_mol: float, T: float) -> float:
    """exp(E/R (1/T_ref - 1/T)): the factor scaling a rate measured at 298.15 K."""
    return float(np.exp(activation_energy_J_mol / R_GAS * (1.0 / T_REF - 1.0 / T)))


# ---- active materials: U(x) [V], x = c_s / c_max --------------------------------------------

def ocp_nmc811_chen2020(x, m=NP):
    """NMC811 (LG M50) OCP, Chen et al. JES 167 (2020) 080534; fit valid for x in [0.26, 0.91]
    (also used by O'Regan et al. 2022)."""
    return (-0.8090 * x + 4.4875 - 0.0428 * m.tanh(18.5138 * (x - 0.5542))
            - 17.7326 * m.tanh(15.7890 * (x - 0.3117))
            + 17.5842 * m.tanh(15.9308 * (x - 0.3120)))


def ocp_nmc532_xu2019(x, m=NP):
    """NMC532 vs Li OCP, Xu et al. JES 166 (2019) A3456 (= Mohtat 2020)."""
    return (4.3452 - 1.6518 * x + 1.6225 * x**2 - 2.0843 * x**3 + 3.5146 * x**4
            - 2.2166 * x**5 - 0.5623e-4 * m.exp(109.451 * x - 100.006))


def ocp_nmc111_bpx(x, m=NP):
    """NMC111 OCP of the About:Energy BPX 12.5 Ah pouch cell (nmc_pouch_cell_BPX.json)."""
    return (-3.04420906 * x + 10.04892207 - 0.65637536 * m.tanh(-4.02134095 * (x - 0.80063948))
            + 4.24678547 * m.tanh(12.17805062 * (x - 7.57659337))
            - 0.3757068 * m.tanh(59.33067782 * (x - 0.99784492)))


# MSMR thermodynamics of NMC622, Verbrugge et al. JES 164 (2017) E3243, Table 1: x(U)
NMC622_MSMR_U0_V = (3.62274, 3.72645, 3.90575, 4.22955)
NMC622_MSMR_X = (0.13442, 0.32460, 0.21118, 0.32980)
NMC622_MSMR_W = (0.96710, 1.39712, 3.50500, 5.52757)


def stoichiometry_nmc622_msmr(U, T=T_REF, m=NP):
    """x(U) of the MSMR model (Baker & Verbrugge 2018 eq. 5)."""
    f = F / (R_GAS * T)
    return sum(X / (1 + m.exp(f * (U - U0) / w))
               for U0, X, w in zip(NMC622_MSMR_U0_V, NMC622_MSMR_X, NMC622_MSMR_W, strict=True))


def _ocp_nmc622_table(n: int = 2001):
    U = np.linspace(3.0, 4.6, n)
    x = stoichiometry_nmc622_msmr(U)
    order = np.argsort(x)
    return x[order], U[order]


# x(U) spans (0, 1) only (the X sum to 1): outside this range of x the OCP is continued
# linearly with the slope at its ends, so that it is defined (and C1) everywhere.
# U(1 - 1e-10) = 1.117 V and U(1e-10) = 7.34 V: far beyond any cut-off (a surface node at
# 3.0 V has 1 - x ~ 7.5e-5, which a range of (1e-4, 1 - 1e-4) left in the continuation)
NMC622_MSMR_X_RANGE = (1e-10, 1.0 - 1e-10)


def ocp_nmc622_msmr(x, m=NP):
    """NMC622 OCP: the MSMR x(U) inverted by Newton steps on logit x(U) = ln x - ln(1 - x),
    which is nearly linear at both ends, so 8 steps from a linear start reach round-off
    over the whole range; UFL differentiates the steps exactly. Outside
    ``NMC622_MSMR_X_RANGE`` (x(U) has no inverse at x >= 1) it is continued linearly."""
    lo, hi = NMC622_MSMR_X_RANGE
    xc = m.min(m.max(x, lo), hi)
    target = m.log(xc) - m.log(1 - xc)
    f = F / (R_GAS * T_REF)
    U = 4.3 - 0.75 * xc  # start: about the secant through x(4.3 V) and x(3.6 V)
    for _ in range(8):
        U, slope = _msmr_logit_newton_step(U, target, f, m)
    return U + (x - xc) * slope


def _msmr_logit_newton_step(U, target, f, m):
    """One Newton step on logit x(U) = target; returns the new U and dU/dx at the old U."""
    terms = [(X, f / w, 1 / (1 + m.exp(f * (U - U0) / w)))
             for U0, X, w in zip(NMC622_MSMR_U0_V, NMC622_MSMR_X, NMC622_MSMR_W, strict=True)]
    x = sum(X * s for X, _, s in terms)
    one_minus_x = sum(X * (1 - s) for X, _, s in terms)  # accurate as x -> 1
    dx = -sum(X * k * s * (1 - s) for X, k, s in terms)
    dlogit = dx / (x * one_minus_x)
    return U - (m.log(x) - m.log(one_minus_x) - target) / dlogit, 1 / dx


# ---- exchange-current densities j0(c_e, x) [A/m2] --------------------------------------------

def j0_mref(m_ref: float, c_max: float):
    """j0 = m_ref c_e^0.5 c_s^0.5 (c_max - c_s)^0.5 (Chen2020 form, PyBaMM 'm_ref');
    m_ref in (A/m2)(m3/mol)^1.5."""
    def j0(c_e, x, m=NP):
        return m_ref * m.sqrt(c_e) * c_max * m.sqrt(x) * m.sqrt(1 - x)
    j0.__doc__ = f"m_ref = {m_ref} (A/m2)(m3/mol)^1.5, c_max = {c_max} mol/m3"
    return j0


def j0_oregan2022(c_e0: float = 1000.0):
    """NMC811 j0 of O'Regan et al. (2022): 5.028 (c_e/c_e0)^0.57 x^0.43 (1-x)^0.57 at 298 K."""
    def j0(c_e, x, m=NP):
        return 5.028 * (c_e / c_e0) ** 0.57 * x**0.43 * (1 - x) ** 0.57
    return j0


def j0_li_metal_pybamm(c_e, m=NP):
    """Li foil: 3.5e-8 F c_Li^0.7 c_e^0.3 with c_Li = 1/1.3e-5 mol/m3 (PyBaMM, Xu2019)."""
    return 3.5e-8 * F * (1 / 1.3e-5) ** 0.7 * c_e**0.3


# ---- diffusivities -------------------------------------------------------------------------

def diffusivity_nmc811_oregan2022(x, m=NP):
    """O'Regan et al. (2022) NMC811 D_s(x) [m2/s] at 298 K."""
    return 2.7 * 10 ** (-13.96 - 0.9231 * m.exp(-((x - 0.3216) ** 2) / 0.002534)
                        - 0.4066 * m.exp(-((x - 0.4532) ** 2) / 0.003926)
                        - 0.9930 * m.exp(-((x - 0.8098) ** 2) / 0.09924))


# ---- electrolytes: c in mol/m3 ---------------------------------------------------------------

def kappa_nyman2008(c, T=T_REF, m=NP):
    """LiPF6 in EC:EMC 3:7, Nyman et al. (2008) [S/m]."""
    cl = c / 1000
    return 0.1297 * cl**3 - 2.51 * cl**1.5 + 3.329 * cl


def diffusivity_nyman2008(c, T=T_REF, m=NP):
    """Nyman et al. (2008) [m2/s]."""
    cl = c / 1000
    return 8.794e-11 * cl**2 - 3.972e-10 * cl + 4.862e-10


def kappa_valoen2005(c, T=T_REF, m=NP):
    """Valøen & Reimers (2005) [S/m]."""
    cl = c / 1000
    return 0.1 * cl * ((-10.5 + 0.0740 * T - 6.96e-5 * T**2)
                       + cl * (0.668 - 0.0178 * T + 2.80e-5 * T**2)
                       + cl**2 * (0.494 - 8.86e-4 * T)) ** 2


def diffusivity_valoen2005(c, T=T_REF, m=NP):
    """Valøen & Reimers (2005) [m2/s]."""
    cl = c / 1000
    return 1e-4 * 10 ** (-4.43 - 54 / (T - 229 - 5 * cl) - 0.22 * cl)


_LANDESFEIND = {
    "EC:EMC 3:7": dict(
        kappa=(5.21e-1, 2.28e2, -1.06, 3.53e-1, -3.59e-3, 1.48e-3),
        D=(1.01e3, 1.01, -1.56e3, -4.87e2),
        tplus=(-12.8, -6.12, 8.21e-2, 9.04e-1, 3.18e-2, -1.27e-4, 1.75e-2, -3.12e-3, -3.96e-5),
        tdf=(25.7, -45.1, -0.177, 1.94, 0.295, 3.08e-4, 0.259, -9.46e-3, -4.54e-4)),
    "EC:DMC 1:1": dict(
        kappa=(7.98e-1, 2.28e2, -1.22, 5.09e-1, -4e-3, 3.79e-3),
        D=(1.47e3, 1.33, -1.69e3, -5.63e2),
        tplus=(-7.91, 0.245, 5.28e-2, 0.698, -1.08e-2, -8.21e-5, 7.43e-4, -2.22e-3, 3.07e-5),
        tdf=(-5.58, 7.17, 3.80e-2, 1.91, -6.65e-2, -5.08e-5, 0.110, -6.10e-3, 1.51e-4)),
}


def landesfeind2019(solvent: str):
    """(kappa, D, t+, TDF) functions of Landesfeind & Gasteiger, JES 166 (2019) A3079."""
    p = _LANDESFEIND[solvent]

    def kappa(c, T=T_REF, m=NP):
        k = p["kappa"]
        cl = c / 1000
        e = np.exp(1000 / T)
        return k[0] * (1 + (T - k[1])) * cl * (1 + k[2] * m.sqrt(cl) + k[3] * (1 + k[4] * e) * cl) \
            / (1 + cl**4 * k[5] * e) / 10

    def D(c, T=T_REF, m=NP):
        d = p["D"]
        cl = c / 1000
        return d[0] * m.exp(d[1] * cl) * np.exp(d[2] / T) * m.exp(d[3] * cl / T) * 1e-10

    def poly(q):
        def f(c, T=T_REF, m=NP):
            cl = c / 1000
            return (q[0] + q[1] * cl + q[2] * T + q[3] * cl**2 + q[4] * cl * T + q[5] * T**2
                    + q[6] * cl**3 + q[7] * cl**2 * T + q[8] * cl * T**2)
        return f

    return kappa, D, poly(p["tplus"]), poly(p["tdf"])


def invert_ocp(ocp, voltage: float, lo: float = 1e-4, hi: float = 1 - 1e-4) -> float:
    """x with ocp(x) = voltage (OCPs decrease with x), by bisection."""
    from scipy.optimize import brentq

    f = lambda x: float(ocp(x)) - voltage  # noqa: E731
    if f(lo) * f(hi) > 0:
        raise ValueError(f"the OCP does not reach {voltage} V on x in [{lo}, {hi}] "
                         f"(U from {float(ocp(hi)):.4f} to {float(ocp(lo)):.4f} V)")
    return float(brentq(f, lo, hi, xtol=1e-12))
