"""PyBaMM (test-only dependency) references for the verification tests: the single-particle
and pseudo-2D (DFN) models of an NMC | Li half-cell with exactly our parameter functions."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def _pybamm_math():
    import pybamm

    return SimpleNamespace(tanh=pybamm.tanh, exp=pybamm.exp, sqrt=pybamm.sqrt, log=pybamm.log)


def _half_cell_values(params, pm, *, radius_m: float, eps_s: float, thickness_m: float,
                      cc_area_m2: float, current_A: float, cutoff_V: float) -> dict:
    """The PyBaMM values both references share: our AM functions, c_max, x0, geometry,
    Li-metal kinetics, temperature, cut-off and current."""
    c_max = float(params["Maximum concentration in active material [mol.m-3]"])
    ocp = params["Active material OCP [V]"]
    D = params["Active material diffusivity [m2.s-1]"]
    j0 = params["Active material exchange-current density [A.m-2]"]
    j0_li = params["Lithium metal exchange-current density [A.m-2]"]
    x0, _ = params.usable_window()
    T = params.temperature
    return {
        "Positive electrode OCP [V]": lambda sto: ocp(sto, pm),
        "Positive particle diffusivity [m2.s-1]":
            (lambda sto, T: D(sto, pm)) if callable(D) else D,
        "Positive electrode exchange-current density [A.m-2]":
            lambda c_e, c_s_surf, c_s_max, T: j0(c_e, c_s_surf / c_s_max, pm),
        "Maximum concentration in positive electrode [mol.m-3]": c_max,
        "Initial concentration in positive electrode [mol.m-3]": x0 * c_max,
        "Positive particle radius [m]": radius_m,
        "Positive electrode active material volume fraction": eps_s,
        "Positive electrode porosity": 1 - eps_s,
        "Positive electrode thickness [m]": thickness_m,
        "Electrode height [m]": np.sqrt(cc_area_m2), "Electrode width [m]": np.sqrt(cc_area_m2),
        "Exchange-current density for lithium metal electrode [A.m-2]":
            lambda c_e, c_Li, T: j0_li(c_e, pm),
        "Lithium metal partial molar volume [m3.mol-1]": 1.3e-5,
        "Negative electrode OCP [V]": 0.0, "Negative electrode conductivity [S.m-1]": 1.0776e7,
        "Negative electrode thickness [m]": 7e-4,
        "Ambient temperature [K]": T, "Initial temperature [K]": T,
        "Reference temperature [K]": T,
        "Lower voltage cut-off [V]": cutoff_V, "Upper voltage cut-off [V]": 4.6,
        "Open-circuit voltage at 100% SOC [V]": 4.2, "Open-circuit voltage at 0% SOC [V]": 3.5,
        "Nominal cell capacity [A.h]": current_A / 3600,
        "Current function [A]": current_A,
    }


def spm_half_cell(params, *, radius_m: float, am_volume_m3: float, cc_area_m2: float,
                  thickness_m: float, current_A: float, cutoff_V: float = 3.0,
                  r_points: int = 100) -> dict:
    """Discharge a PyBaMM SPM half cell whose particle has our radius, AM volume (as eps L
    A_cc), c_max, D_s, j0, U and Li-metal kinetics; returns time_s and voltage_V."""
    import pybamm

    pm = _pybamm_math()
    eps = am_volume_m3 / (cc_area_m2 * thickness_m)
    pv = pybamm.ParameterValues("Chen2020")
    pv.update(_half_cell_values(params, pm, radius_m=radius_m, eps_s=eps,
                                thickness_m=thickness_m, cc_area_m2=cc_area_m2,
                                current_A=current_A, cutoff_V=cutoff_V),
              check_already_exists=False)
    model = pybamm.lithium_ion.SPM(options={"working electrode": "positive"})
    var_pts = {**model.default_var_pts, "r_p": r_points}
    sim = pybamm.Simulation(model, parameter_values=pv, var_pts=var_pts,
                            solver=pybamm.IDAKLUSolver(rtol=1e-9, atol=1e-9))
    sol = sim.solve([0, 10 * 3600])
    return {"time_s": np.asarray(sol["Time [s]"].entries),
            "voltage_V": np.asarray(sol["Voltage [V]"].entries),
            "version": pybamm.__version__}


def dfn_half_cell(params, *, radius_m: float, am_volume_fraction: float, thickness_m: float,
                  separator_thickness_m: float, cc_area_m2: float, current_A: float,
                  tortuosity_factor: float, solid_tortuosity_factor: float = 1.0,
                  cutoff_V: float = 3.0, points: tuple = (30, 20, 40)) -> dict:
    """Discharge a PyBaMM DFN half cell (NMC | separator | Li) with our parameter functions.

    The electrode: thickness L, AM volume fraction eps_s and porosity 1 - eps_s (no CBD),
    spherical particles of ``radius_m`` (so its specific area is 3 eps_s / R), electrolyte
    transport efficiency eps / tau with the measured tortuosity factor ``tortuosity_factor``
    (PyBaMM option "transport efficiency": "tortuosity factor"), solid conductivity
    sigma_AM eps_s / tau_s. Separator: our porosity and Bruggeman exponent (tau = eps^(1 - b)).
    Electrolyte kappa, D_e, t+, TDF (functions of (c_e, T) or numbers), c_e0, c_max, D_s(x),
    j0, U, Li-metal kinetics, T: ours. ``points``: finite volumes in the electrode, the
    separator and the particle. Returns time_s, voltage_V, capacity_C (I t at the end),
    termination and the PyBaMM version."""
    import pybamm

    pm = _pybamm_math()

    def electrolyte(name):
        f = params[name]
        return (lambda c_e, T: f(c_e, T, pm)) if callable(f) else float(f)

    eps_s = am_volume_fraction
    eps_sep = float(params["Separator porosity"])
    b_sep = float(params["Separator Bruggeman exponent"])
    pv = pybamm.ParameterValues("Chen2020")
    pv.update({
        **_half_cell_values(params, pm, radius_m=radius_m, eps_s=eps_s,
                            thickness_m=thickness_m, cc_area_m2=cc_area_m2,
                            current_A=current_A, cutoff_V=cutoff_V),
        "Positive electrode conductivity [S.m-1]":
            float(params["Active material conductivity [S.m-1]"]),
        "Positive electrode tortuosity factor (electrolyte)": tortuosity_factor,
        "Positive electrode tortuosity factor (electrode)": solid_tortuosity_factor,
        "Separator porosity": eps_sep,
        "Separator tortuosity factor (electrolyte)": eps_sep ** (1 - b_sep),
        "Separator thickness [m]": separator_thickness_m,
        "Initial concentration in electrolyte [mol.m-3]":
            float(params["Initial electrolyte concentration [mol.m-3]"]),
        "Electrolyte conductivity [S.m-1]": electrolyte("Electrolyte conductivity [S.m-1]"),
        "Electrolyte diffusivity [m2.s-1]": electrolyte("Electrolyte diffusivity [m2.s-1]"),
        "Cation transference number": electrolyte("Cation transference number"),
        "Thermodynamic factor": electrolyte("Thermodynamic factor"),
    }, check_already_exists=False)
    model = pybamm.lithium_ion.DFN(options={"working electrode": "positive",
                                            "transport efficiency": "tortuosity factor"})
    n_x, n_sep, n_r = points
    var_pts = {**model.default_var_pts, "x_p": n_x, "x_s": n_sep, "r_p": n_r}
    sim = pybamm.Simulation(model, parameter_values=pv, var_pts=var_pts,
                            solver=pybamm.IDAKLUSolver(rtol=1e-8, atol=1e-8))
    usable_C = params.capacity_density_C_m3() * eps_s * thickness_m * cc_area_m2
    sol = sim.solve([0, 3 * 3600 * usable_C / current_A])  # ends at the cut-off
    t = np.asarray(sol["Time [s]"].entries)
    return {"time_s": t, "voltage_V": np.asarray(sol["Voltage [V]"].entries),
            "capacity_C": current_A * float(t[-1]), "termination": str(sol.termination),
            "version": pybamm.__version__}
