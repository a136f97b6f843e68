"""Parameter sets are cited data: known values at known points, unknown names refused."""

import numpy as np
import pytest

from echem import ParameterError, parameter_set
from echem import materials as mat


@pytest.mark.parametrize("x, U", [(0.2661, 4.285), (0.30, 4.205), (0.50, 3.972), (0.70, 3.730),
                                  (0.90, 3.568), (1.00, 3.487)])
def test_nmc811_ocp_matches_the_reference_table(x, U):
    assert mat.ocp_nmc811_chen2020(x) == pytest.approx(U, abs=6e-4)


@pytest.mark.parametrize("fit, kappa, D, tplus, tdf", [
    ("Nyman2008", 0.9487, 1.769e-10, None, None),
    ("EC:EMC 3:7", 0.9130, 2.892e-10, 0.221, 2.18),
    ("EC:DMC 1:1", 1.1819, 2.905e-10, 0.325, 2.20),
    ("Valoen2005", 1.1943, 3.223e-10, None, None)])
def test_electrolytes_at_1M_298K(fit, kappa, D, tplus, tdf):
    if fit == "Nyman2008":
        fk, fD, ft, fT = mat.kappa_nyman2008, mat.diffusivity_nyman2008, None, None
    elif fit == "Valoen2005":
        fk, fD, ft, fT = mat.kappa_valoen2005, mat.diffusivity_valoen2005, None, None
    else:
        fk, fD, ft, fT = mat.landesfeind2019(fit)
    assert fk(1000.0) == pytest.approx(kappa, rel=1e-3)
    assert fD(1000.0) == pytest.approx(D, rel=1e-3)
    if ft is not None:
        assert ft(1000.0) == pytest.approx(tplus, abs=1e-3)
        assert fT(1000.0) == pytest.approx(tdf, abs=1e-2)


def test_exchange_currents_and_diffusivity_reference_values():
    assert mat.j0_mref(3.42e-6, 63104)(1000.0, 0.5) == pytest.approx(3.41, abs=0.01)
    assert mat.j0_li_metal_pybamm(1000.0) == pytest.approx(70.6, abs=0.05)
    D = mat.diffusivity_nmc811_oregan2022(np.array([0.3, 0.5, 0.8]))
    assert D == pytest.approx([4.3e-15, 7.3e-15, 3.0e-15], rel=0.03)


def test_half_cell_windows_from_the_ocp():
    lo, hi = parameter_set("NMC811_ORegan2022").usable_window()
    assert (lo, hi) == pytest.approx((0.3046, 0.9843), abs=2e-4)
    assert parameter_set("NMC532_Xu2019").usable_window()[0] == pytest.approx(0.096, abs=1e-3)
    x = mat.stoichiometry_nmc622_msmr(np.array([4.3, 4.0, 3.8]))
    assert x == pytest.approx([0.127, 0.330, 0.513], abs=1e-3)
    assert mat.ocp_nmc622_msmr(0.5) == pytest.approx(3.810, abs=1e-3)


def test_nmc622_msmr_ocp_inverts_x_of_u_to_round_off_and_is_continued_beyond():
    """The OCP is the inverse of the MSMR x(U) over the whole range, (1e-10, 1 - 1e-10) (the
    steps of the inversion before 2026-12-02 left |x(U(x)) - x| = 8e-6 at x = 1e-4) and,
    beyond the range, a C1 linear continuation: finite at x >= 1, where x(U) has no inverse."""
    lo, hi = mat.NMC622_MSMR_X_RANGE
    assert lo <= 1e-10 and hi >= 1 - 1e-10
    gaps = np.logspace(np.log10(lo), -1, 200)
    x = np.concatenate([np.linspace(lo, hi, 2001), 1 - gaps, gaps])
    U = mat.ocp_nmc622_msmr(x)
    back = mat.stoichiometry_nmc622_msmr(U)
    assert np.max(np.abs(back - x)) < 1e-13
    assert np.max(np.abs(back - x) / x) < 1e-12  # the relative gap to empty
    # the relative gap to full, where x represents it to better than 1e-10
    near = 1 - gaps[gaps >= 1e-5]
    back = mat.stoichiometry_nmc622_msmr(mat.ocp_nmc622_msmr(near))
    assert np.max(np.abs((1 - back) - (1 - near)) / (1 - near)) < 1e-10
    # near full, U falls by w_4 RT/F per e-fold of 1 - x (the widest gallery, j = 4; the
    # others add 3e-4 of it at 1 - x = 1e-8)
    w4 = mat.NMC622_MSMR_W[3] * mat.R_GAS * mat.T_REF / mat.F
    U1, U2 = mat.ocp_nmc622_msmr(np.array([1 - 1e-8, 1 - 1e-9]))
    assert (U1 - U2) / np.log(10) == pytest.approx(w4, rel=1e-3)

    def ln_gap(u):  # ln(1 - x(U)) = ln sum X_j e^z_j / (1 + e^z_j), z_j = F (U - U0_j) / (w_j RT)
        f = mat.F / (mat.R_GAS * mat.T_REF)
        return np.log(sum(X * np.exp(f * (u - U0) / w) / (1 + np.exp(f * (u - U0) / w))
                          for U0, X, w in zip(mat.NMC622_MSMR_U0_V, mat.NMC622_MSMR_X,
                                              mat.NMC622_MSMR_W, strict=True)))

    def ln_x(u):
        return np.log(mat.stoichiometry_nmc622_msmr(u))

    # dx/dU at an end = x d ln x / dU near empty, -(1 - x) d ln(1 - x) / dU near full (each
    # well conditioned there)
    for end, out, ln_f, factor in ((lo, -1.0, ln_x, lo), (hi, 1.0, ln_gap, -(1 - hi))):
        at = float(mat.ocp_nmc622_msmr(end))
        dxdU = factor * (ln_f(at + 1e-6) - ln_f(at - 1e-6)) / 2e-6
        # beyond the end: linear (slopes from the stored x, exact for a line), C1 at the end
        xs = end + out * np.array([1.0, 2.0]) * 1e-3 * min(end, 1 - end)
        u = mat.ocp_nmc622_msmr(xs)
        assert (u[1] - u[0]) / (xs[1] - xs[0]) == pytest.approx(1 / dxdU, rel=1e-6)
        # continuous at the end (to the slope's 1e-6 over the 1e-4 V beyond it)
        assert u[0] == pytest.approx(at + (xs[0] - end) / dxdU, abs=1e-9)
    beyond = mat.ocp_nmc622_msmr(np.array([-0.01, 0.0, 1.0, 1.01, 1.035]))
    assert np.all(np.isfinite(beyond)) and np.all(np.diff(beyond) < 0)


def test_physical_cmax_for_resolved_particles():
    for name in ("NMC811_ORegan2022", "NMC811_Chen2020"):
        c_max = parameter_set(name)["Maximum concentration in active material [mol.m-3]"]
        assert 48000 <= c_max <= 52000  # not Chen2020's fitted 63104


def test_unknown_names_are_refused_with_close_matches():
    p = parameter_set()
    with pytest.raises(ParameterError, match="did you mean 'Separator porosity'"):
        p.update({"Separator porosty": 0.4})
    with pytest.raises(ParameterError, match="must be a number or a function"):
        p.update({"Separator porosity": "0.4"})
    with pytest.raises(ParameterError, match="unknown active material 'NMC812'.*NMC811"):
        parameter_set("NMC812")
    assert p.update({"Separator porosity": 0.4})["Separator porosity"] == 0.4
    assert p["Separator porosity"] == 0.47  # update returns a copy
