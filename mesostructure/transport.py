"""Steady diffusion/conduction through a voxel image (finite volumes, TauFactor's scheme).

Each voxel carries a diffusivity (or conductivity) ``D``; neighbouring voxels exchange flux through
a conductance with the harmonic mean of their values; the inlet face (index 0 along ``axis``) is
held at 1 and the outlet face at 0, half a voxel from the first and last voxel centres; all other
faces are sealed (or periodic). Only voxels connected to both the inlet and the outlet take part:
isolated clusters and the solid carry no flux. The linear system is symmetric positive definite and
is solved by conjugate gradients preconditioned with algebraic multigrid (PETSc GAMG, or pyamg).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class TransportResult:
    """Outcome of one steady solve.

    d_eff: effective transport coefficient along ``axis`` in the units of ``D``
        (flux * length / (area * potential difference)).
    flux: total flux through the inlet face (per unit potential difference).
    flux_imbalance: |inlet - outlet| / inlet flux (conservation check of the solve).
    percolating_fraction: fraction of the box volume in voxels that carry the solution.
    iterations: Krylov iterations used.
    """

    d_eff: float
    flux: float
    flux_imbalance: float
    percolating_fraction: float
    iterations: int
    axis: int
    potential: np.ndarray | None = None


def _percolating(mask: np.ndarray, axis: int, periodic: tuple[bool, bool, bool]) -> np.ndarray:
    """Voxels of ``mask`` in 6-connected clusters that touch both faces normal to ``axis``."""
    labels, n = ndimage.label(mask)
    if n == 0:
        return np.zeros_like(mask)
    # merge clusters across periodic faces
    rows, cols = [], []
    for a in range(3):
        if periodic[a] and a != axis:
            first = np.take(labels, 0, axis=a).ravel()
            last = np.take(labels, -1, axis=a).ravel()
            both = (first > 0) & (last > 0)
            rows.append(first[both])
            cols.append(last[both])
    if rows:
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        g = sp.coo_matrix((np.ones(len(r)), (r, c)), shape=(n + 1, n + 1))
        _, comp = connected_components(g, directed=False)
        labels = comp[labels] + 1
        labels[~mask] = 0
    inlet = np.unique(np.take(labels, 0, axis=axis))
    outlet = np.unique(np.take(labels, -1, axis=axis))
    keep = np.intersect1d(inlet[inlet > 0], outlet[outlet > 0])
    return np.isin(labels, keep)


def solve_transport(D: np.ndarray, spacing, axis: int = 2, *,
                    periodic: tuple[bool, bool, bool] = (False, False, False),
                    rtol: float = 1e-7, return_potential: bool = False,
                    backend: str = "auto") -> TransportResult:
    """Effective transport coefficient of the voxel field ``D`` (>= 0) along ``axis``.

    ``backend``: "petsc" (GAMG), "pyamg" or "auto" (PETSc when importable)."""
    D = np.asarray(D, dtype=float)
    if D.ndim != 3:
        raise ValueError(f"D must be a 3-D array, got shape {D.shape}")
    if np.any(D < 0) or not np.all(np.isfinite(D)):
        raise ValueError("transport coefficients must be finite and non-negative")
    if axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis}")
    h = np.broadcast_to(np.asarray(spacing, dtype=float), (3,))
    periodic = tuple(bool(p) and a != axis for a, p in enumerate(periodic))
    shape = D.shape
    length = shape[axis] * h[axis]
    area = float(np.prod([shape[a] * h[a] for a in range(3) if a != axis]))

    active = _percolating(D > 0, axis, periodic)
    n = int(np.count_nonzero(active))
    if n == 0:
        return TransportResult(0.0, 0.0, 0.0, 0.0, 0, axis,
                               np.full(shape, np.nan) if return_potential else None)
    index = np.full(shape, -1, dtype=np.int64)
    index[active] = np.arange(n)

    rows, cols, vals = [], [], []
    diag = np.zeros(n)
    for a in range(3):
        face = np.prod([h[b] for b in range(3) if b != a])
        pairs = [(np.s_[:-1], np.s_[1:])]
        if periodic[a] and shape[a] > 2:
            pairs.append((np.s_[-1:], np.s_[:1]))
        for s0, s1 in pairs:
            sl0 = [slice(None)] * 3
            sl1 = [slice(None)] * 3
            sl0[a], sl1[a] = s0, s1
            i0, i1 = index[tuple(sl0)], index[tuple(sl1)]
            d0, d1 = D[tuple(sl0)], D[tuple(sl1)]
            ok = (i0 >= 0) & (i1 >= 0)
            i0, i1, d0, d1 = i0[ok], i1[ok], d0[ok], d1[ok]
            g = face / h[a] * 2.0 * d0 * d1 / (d0 + d1)
            rows += [i0, i1]
            cols += [i1, i0]
            vals += [-g, -g]
            diag += np.bincount(i0, g, minlength=n) + np.bincount(i1, g, minlength=n)
    face = np.prod([h[b] for b in range(3) if b != axis])
    boundary = {}
    for side, value in ((0, 1.0), (-1, 0.0)):
        idx = np.take(index, side, axis=axis).ravel()
        d = np.take(D, side, axis=axis).ravel()
        ok = idx >= 0
        g = face * 2.0 * d[ok] / h[axis]
        diag += np.bincount(idx[ok], g, minlength=n)
        boundary[side] = (idx[ok], g, value)
    b = np.bincount(boundary[0][0], boundary[0][1], minlength=n)
    A = sp.coo_matrix((np.concatenate(vals + [diag]),
                       (np.concatenate(rows + [np.arange(n)]),
                        np.concatenate(cols + [np.arange(n)]))), shape=(n, n)).tocsr()

    # initial guess: the linear profile of a homogeneous medium
    coord = np.indices(shape, sparse=True)[axis]
    x0 = np.broadcast_to(1.0 - (coord + 0.5) / shape[axis], shape)[active]
    u, iters = _solve_spd(A, b, x0, rtol, backend)

    i_in, g_in, _ = boundary[0]
    i_out, g_out, _ = boundary[-1]
    flux_in = float(np.sum(g_in * (1.0 - u[i_in])))
    flux_out = float(np.sum(g_out * u[i_out]))
    imbalance = abs(flux_in - flux_out) / max(abs(flux_in), 1e-300)
    potential = None
    if return_potential:
        potential = np.full(shape, np.nan)
        potential[active] = u
    return TransportResult(d_eff=flux_in * length / area, flux=flux_in,
                           flux_imbalance=imbalance, percolating_fraction=n / D.size,
                           iterations=iters, axis=axis, potential=potential)


def _solve_spd(A: sp.csr_matrix, b: np.ndarray, x0: np.ndarray, rtol: float,
               backend: str = "auto"):
    """CG preconditioned by algebraic multigrid: PETSc's GAMG when petsc4py is there (about
    twice as fast as pyamg here), else pyamg's smoothed aggregation."""
    if A.shape[0] < 2000:
        from scipy.sparse.linalg import spsolve

        return spsolve(A.tocsc(), b), 1
    if backend not in ("auto", "petsc", "pyamg"):
        raise ValueError(f"unknown solver backend {backend!r}; use auto, petsc or pyamg")
    if backend in ("auto", "petsc"):
        try:
            u, its = _solve_petsc(A, b, x0, rtol)
        except ImportError:
            if backend == "petsc":
                raise
        else:
            return _checked(A, b, u, its, rtol)
    return _checked(A, b, *_solve_pyamg(A, b, x0, rtol), rtol)


def _checked(A, b, u, its, rtol):
    res = np.linalg.norm(b - A @ u) / max(np.linalg.norm(b), 1e-300)
    if not res < 100 * rtol:
        raise RuntimeError(f"transport solve did not converge (relative residual {res:.2e} "
                           f"after {its} iterations)")
    return u, its


def _solve_petsc(A, b, x0, rtol):
    import dolfinx_solver  # noqa: F401  (loads the MPI/PETSc libraries of the wheel)
    from petsc4py import PETSc

    M = PETSc.Mat().createAIJ(size=A.shape, csr=(A.indptr.astype(PETSc.IntType),
                                                 A.indices.astype(PETSc.IntType), A.data),
                              comm=PETSc.COMM_SELF)
    ksp = PETSc.KSP().create(PETSc.COMM_SELF)
    try:
        ksp.setOperators(M)
        ksp.setType("cg")
        ksp.getPC().setType("gamg")
        ksp.setTolerances(rtol=rtol, atol=0.0, max_it=500)
        ksp.setInitialGuessNonzero(True)
        rhs = M.createVecRight()
        rhs.array[:] = b
        x = M.createVecLeft()
        x.array[:] = x0
        ksp.solve(rhs, x)
        if ksp.getConvergedReason() < 0:
            raise RuntimeError(f"GAMG-CG diverged (reason {ksp.getConvergedReason()})")
        return x.array.copy(), ksp.getIterationNumber()
    finally:
        ksp.destroy()
        M.destroy()


def _solve_pyamg(A, b, x0, rtol):
    import pyamg

    # pyamg estimates spectral radii from random vectors of numpy's global generator: seed it
    # for reproducible results, and give the caller's generator state back afterwards
    state = np.random.get_state()  # noqa: NPY002
    np.random.seed(0)  # noqa: NPY002
    try:
        ml = pyamg.smoothed_aggregation_solver(A, symmetry="symmetric", max_coarse=500)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    residuals: list[float] = []
    u = ml.solve(b, x0=x0, tol=rtol, accel="cg", maxiter=500, residuals=residuals)
    return u, len(residuals)
