"""Parameter sets: cited data with units in the names (PyBaMM's convention).

A set is assembled from parts (active material, electrolyte, counter electrode, CBD, separator)
and can be updated by name; unknown names are refused with the closest known ones.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from . import materials as mat

# every name a set may hold, with what it means
NAMES = {
    "Temperature [K]": "cell temperature (isothermal model)",
    "Maximum concentration in active material [mol.m-3]": "c_max of the AM (physical)",
    "Active material OCP [V]": "U(x), x = c_s/c_max",
    "Active material diffusivity [m2.s-1]": "D_s: a number or a function of x",
    "Active material exchange-current density [A.m-2]": "j0(c_e [mol/m3], x)",
    "Active material conductivity [S.m-1]": "bulk electronic conductivity of a particle",
    "Active material density [kg.m-3]": "crystallographic density (for mAh/g)",
    "Minimum stoichiometry": "x at the top of the usable window (charged, 100 % SOC)",
    "Maximum stoichiometry": "x at the bottom of the usable window (discharged)",
    "Initial electrolyte concentration [mol.m-3]": "c_e at t = 0",
    "Electrolyte conductivity [S.m-1]": "kappa(c_e [mol/m3], T)",
    "Electrolyte diffusivity [m2.s-1]": "D_e(c_e, T)",
    "Cation transference number": "t+: a number or a function (c_e, T)",
    "Thermodynamic factor": "1 + dln f/dln c: a number or a function (c_e, T)",
    "CBD nanoporosity": "electrolyte volume fraction inside the CBD",
    "CBD bulk conductivity [S.m-1]": "conductivity of the dense carbon-binder solid",
    "CBD Bruggeman exponent": "B = eps^b for transport through the CBD",
    "Separator porosity": "",
    "Separator Bruggeman exponent": "",
    "Lithium metal exchange-current density [A.m-2]": "j0_Li(c_e)",
}

CITATIONS = {
    "Chen2020": "C.-H. Chen et al., J. Electrochem. Soc. 167 (2020) 080534 (PyBaMM Chen2020)",
    "ORegan2022": "K. O'Regan et al., Electrochim. Acta 425 (2022) 140700 (PyBaMM ORegan2022)",
    "Xu2019": "S. Xu et al., J. Electrochem. Soc. 166 (2019) A3456 (PyBaMM Xu2019)",
    "BPX": "About:Energy NMC111 BPX parameterisation (nmc_pouch_cell_BPX.json)",
    "Verbrugge2017": "M. Verbrugge et al., J. Electrochem. Soc. 164 (2017) E3243 (MSMR NMC622)",
    "Nyman2008": "A. Nyman et al., Electrochim. Acta 53 (2008) 6356 (via PyBaMM Chen2020)",
    "Landesfeind2019": "J. Landesfeind, H. Gasteiger, J. Electrochem. Soc. 166 (2019) A3079",
    "Valoen2005": "L. O. Valøen, J. N. Reimers, J. Electrochem. Soc. 152 (2005) A882",
    "Khan2021": "Z. A. Khan et al., J. Electrochem. Soc. 168 (2021) 070534 (CBD 760 S/m)",
    "Chouchane2021": "M. Chouchane et al. (2021): CBD nanoporosity ~0.48",
}


class ParameterError(KeyError):
    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


@dataclass
class ParameterSet:
    """Named parameter values (numbers or functions) with the citations they come from."""

    name: str
    values: dict = field(default_factory=dict)
    citations: list = field(default_factory=list)

    def __post_init__(self):
        self._check(self.values)

    @staticmethod
    def _check(values: Mapping) -> None:
        for key, val in values.items():
            if key not in NAMES:
                close = difflib.get_close_matches(key, list(NAMES), n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
                raise ParameterError(f"unknown parameter {key!r}{hint}")
            if not callable(val) and not isinstance(val, (int, float)):
                raise ParameterError(f"parameter {key!r} must be a number or a function, "
                                     f"got {type(val).__name__}")

    def __getitem__(self, key: str):
        if key not in self.values:
            self._check({key: 0.0})
            raise ParameterError(f"parameter {key!r} is not set in {self.name!r}")
        return self.values[key]

    def update(self, values: Mapping) -> ParameterSet:
        """A copy with ``values`` replaced (names checked)."""
        self._check(values)
        return ParameterSet(self.name, {**self.values, **values}, list(self.citations))

    def missing(self) -> list[str]:
        return [k for k in NAMES if k not in self.values]

    def as_json(self) -> dict:
        return {k: (v if not callable(v) else f"{v.__module__}.{v.__qualname__}")
                for k, v in self.values.items()} | {"_citations": self.citations}

    # derived quantities -------------------------------------------------------------------
    @property
    def temperature(self) -> float:
        return float(self["Temperature [K]"])

    def ocp(self) -> Callable:
        return self["Active material OCP [V]"]

    def usable_window(self) -> tuple[float, float]:
        return float(self["Minimum stoichiometry"]), float(self["Maximum stoichiometry"])

    def capacity_density_C_m3(self) -> float:
        """Usable charge per AM volume [C/m3] = (x_max - x_min) c_max F."""
        lo, hi = self.usable_window()
        return (hi - lo) * float(self["Maximum concentration in active material [mol.m-3]"]) \
            * mat.F


# ---- the parts ------------------------------------------------------------------------------

def _window(ocp, v_top: float, v_bottom: float) -> dict:
    return {"Minimum stoichiometry": mat.invert_ocp(ocp, v_top),
            "Maximum stoichiometry": mat.invert_ocp(ocp, v_bottom)}


def nmc811_oregan2022() -> tuple[dict, list]:
    """NMC811 with O'Regan 2022's physical c_max (51765 mol/m3, 5.04 g/cm3) and D_s(x), the
    Chen2020 OCP, Chen2020's j0 (m_ref 3.42e-6) and window 4.2 V -> 3.5 V."""
    ocp = mat.ocp_nmc811_chen2020
    c_max = 51765.0
    return ({"Maximum concentration in active material [mol.m-3]": c_max,
             "Active material OCP [V]": ocp,
             "Active material diffusivity [m2.s-1]": mat.diffusivity_nmc811_oregan2022,
             "Active material exchange-current density [A.m-2]": mat.j0_mref(3.42e-6, c_max),
             "Active material conductivity [S.m-1]": 0.8473,
             "Active material density [kg.m-3]": 4750.0,
             **_window(ocp, 4.2, 3.5)}, ["ORegan2022", "Chen2020"])


def nmc811_chen2020_physical() -> tuple[dict, list]:
    """NMC811 of Chen2020 (D_s 4e-15, m_ref 3.42e-6, sigma 0.18) with a physical c_max of
    49000 mol/m3 (4.77 g/cm3 / 97.28 g/mol) instead of the fitted 63104."""
    ocp = mat.ocp_nmc811_chen2020
    c_max = 49000.0
    return ({"Maximum concentration in active material [mol.m-3]": c_max,
             "Active material OCP [V]": ocp,
             "Active material diffusivity [m2.s-1]": 4e-15,
             "Active material exchange-current density [A.m-2]": mat.j0_mref(3.42e-6, c_max),
             "Active material conductivity [S.m-1]": 0.18,
             "Active material density [kg.m-3]": 4770.0,
             **_window(ocp, 4.2, 3.5)}, ["Chen2020"])


def nmc532_xu2019() -> tuple[dict, list]:
    ocp = mat.ocp_nmc532_xu2019
    c_max = 48230.0
    return ({"Maximum concentration in active material [mol.m-3]": c_max,
             "Active material OCP [V]": ocp,
             "Active material diffusivity [m2.s-1]": 1e-14,
             "Active material exchange-current density [A.m-2]":
                 mat.j0_mref(5.76e-11 * mat.F, c_max),
             "Active material conductivity [S.m-1]": 100.0,
             "Active material density [kg.m-3]": 4700.0,
             **_window(ocp, 4.2, 3.5)}, ["Xu2019"])


def nmc111_bpx() -> tuple[dict, list]:
    ocp = mat.ocp_nmc111_bpx
    c_max, c_e0 = 46200.0, 1000.0
    k = 2.305e-5 * mat.F / (c_max * c_e0**0.5)  # k_norm -> m_ref (PyBaMM bpx.py)
    return ({"Maximum concentration in active material [mol.m-3]": c_max,
             "Active material OCP [V]": ocp,
             "Active material diffusivity [m2.s-1]": 3.2e-14,
             "Active material exchange-current density [A.m-2]": mat.j0_mref(k, c_max),
             "Active material conductivity [S.m-1]": 0.789,
             "Active material density [kg.m-3]": 4650.0,
             **_window(ocp, 4.2, 3.6)}, ["BPX"])


def nmc622_msmr() -> tuple[dict, list]:
    """NMC622: Verbrugge 2017 MSMR OCP; the rest borrowed from Chen2020 with a physical c_max
    (4.7 g/cm3 / 96.9 g/mol = 48500 mol/m3)."""
    ocp = mat.ocp_nmc622_msmr
    c_max = 48500.0
    return ({"Maximum concentration in active material [mol.m-3]": c_max,
             "Active material OCP [V]": ocp,
             "Active material diffusivity [m2.s-1]": 4e-15,
             "Active material exchange-current density [A.m-2]": mat.j0_mref(3.42e-6, c_max),
             "Active material conductivity [S.m-1]": 0.18,
             "Active material density [kg.m-3]": 4700.0,
             **_window(ocp, 4.2, 3.6)}, ["Verbrugge2017", "Chen2020"])


def nyman2008() -> tuple[dict, list]:
    return ({"Initial electrolyte concentration [mol.m-3]": 1000.0,
             "Electrolyte conductivity [S.m-1]": mat.kappa_nyman2008,
             "Electrolyte diffusivity [m2.s-1]": mat.diffusivity_nyman2008,
             "Cation transference number": 0.2594,
             "Thermodynamic factor": 1.0}, ["Nyman2008"])


def valoen2005() -> tuple[dict, list]:
    return ({"Initial electrolyte concentration [mol.m-3]": 1000.0,
             "Electrolyte conductivity [S.m-1]": mat.kappa_valoen2005,
             "Electrolyte diffusivity [m2.s-1]": mat.diffusivity_valoen2005,
             "Cation transference number": 0.38,
             "Thermodynamic factor": 1.0}, ["Valoen2005"])


def landesfeind2019_ec_emc() -> tuple[dict, list]:
    kappa, D, tplus, tdf = mat.landesfeind2019("EC:EMC 3:7")
    return ({"Initial electrolyte concentration [mol.m-3]": 1000.0,
             "Electrolyte conductivity [S.m-1]": kappa,
             "Electrolyte diffusivity [m2.s-1]": D,
             "Cation transference number": tplus,
             "Thermodynamic factor": tdf}, ["Landesfeind2019"])


def common_parts() -> dict:
    """Li metal (PyBaMM/Xu2019), CBD (Khan 2021 760 S/m, nanoporosity 0.5, Bruggeman 1.5),
    separator (0.47, 1.5), 298.15 K."""
    return {"Temperature [K]": mat.T_REF,
            "Lithium metal exchange-current density [A.m-2]": mat.j0_li_metal_pybamm,
            "CBD nanoporosity": 0.5,
            "CBD bulk conductivity [S.m-1]": 760.0,
            "CBD Bruggeman exponent": 1.5,
            "Separator porosity": 0.47,
            "Separator Bruggeman exponent": 1.5}


ACTIVE_MATERIALS = {"NMC811_ORegan2022": nmc811_oregan2022,
                    "NMC811_Chen2020": nmc811_chen2020_physical,
                    "NMC622_MSMR": nmc622_msmr,
                    "NMC532_Xu2019": nmc532_xu2019,
                    "NMC111_BPX": nmc111_bpx}
ELECTROLYTES = {"Nyman2008": nyman2008, "Landesfeind2019": landesfeind2019_ec_emc,
                "Valoen2005": valoen2005}


def parameter_set(active_material: str = "NMC811_ORegan2022",
                  electrolyte: str = "Nyman2008") -> ParameterSet:
    """An NMC | Li-metal half-cell set from a named active material and electrolyte."""
    for name, table, what in ((active_material, ACTIVE_MATERIALS, "active material"),
                              (electrolyte, ELECTROLYTES, "electrolyte")):
        if name not in table:
            close = difflib.get_close_matches(name, list(table), n=2, cutoff=0.3)
            raise ParameterError(f"unknown {what} {name!r}; known: {sorted(table)}"
                                 + (f"; did you mean {close[0]!r}?" if close else ""))
    am, am_cit = ACTIVE_MATERIALS[active_material]()
    el, el_cit = ELECTROLYTES[electrolyte]()
    return ParameterSet(f"{active_material}+{electrolyte}", {**common_parts(), **am, **el},
                        am_cit + el_cit + ["Khan2021", "Chouchane2021"])
