"""PyBaMM (test-only dependency) references for the verification tests: the single-particle
model of an NMC | Li half-cell with exactly our parameter functions."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def spm_half_cell(params, *, radius_m: float, am_volume_m3: float, cc_area_m2: float,
                  thickness_m: float, current_A: float, cutoff_V: float = 3.0,
                  r_points: int = 100) -> dict:
    """Discharge a PyBaMM SPM half cell whose particle has our radius, AM volume (as eps L
    A_cc), c_max, D_s, j0, U and Li-metal kinetics; returns time_s and voltage_V."""
    import pybamm

    pm = SimpleNamespace(tanh=pybamm.tanh, exp=pybamm.exp, sqrt=pybamm.sqrt, log=pybamm.log)
    c_max = float(params["Maximum concentration in active material [mol.m-3]"])
    ocp = params["Active material OCP [V]"]
    D = params["Active material diffusivity [m2.s-1]"]
    j0 = params["Active material exchange-current density [A.m-2]"]
    j0_li = params["Lithium metal exchange-current density [A.m-2]"]
    x0, _ = params.usable_window()
    eps = am_volume_m3 / (cc_area_m2 * thickness_m)
    T = params.temperature
    pv = pybamm.ParameterValues("Chen2020")
    pv.update({
        "Positive electrode OCP [V]": lambda sto: ocp(sto, pm),
        "Positive particle diffusivity [m2.s-1]":
            (lambda sto, T: D(sto, pm)) if callable(D) else D,
        "Positive electrode exchange-current density [A.m-2]":
            lambda c_e, c_s_surf, c_s_max, T: j0(c_e, c_s_surf / c_s_max, pm),
        "Maximum concentration in positive electrode [mol.m-3]": c_max,
        "Initial concentration in positive electrode [mol.m-3]": x0 * c_max,
        "Positive particle radius [m]": radius_m,
        "Positive electrode active material volume fraction": eps,
        "Positive electrode porosity": 1 - eps,
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
    }, check_already_exists=False)
    model = pybamm.lithium_ion.SPM(options={"working electrode": "positive"})
    var_pts = {**model.default_var_pts, "r_p": r_points}
    sim = pybamm.Simulation(model, parameter_values=pv, var_pts=var_pts,
                            solver=pybamm.IDAKLUSolver(rtol=1e-9, atol=1e-9))
    sol = sim.solve([0, 10 * 3600])
    return {"time_s": np.asarray(sol["Time [s]"].entries),
            "voltage_V": np.asarray(sol["Voltage [V]"].entries),
            "version": pybamm.__version__}
