"""Newton's method for the coupled fields plus the global current-collector potential V.

The Jacobian of the field residuals R(u, V) is assembled as one blocked PETSc matrix J; the
scalar constraint G(u, V) = sum of reaction currents + I_app = 0 couples every interface
degree of freedom to V. Instead of a dense row/column in J, V is eliminated by bordering:
solve J y1 = -R and J y2 = dR/dV with one factorisation (or one preconditioner), then

    dV = (-G - c.y1) / (dG/dV - c.y2),   du = y1 - dV y2,   c = dG/du.

Linear solvers are chosen with PETSc options (prefix ``echem_``): LU with MUMPS by default,
or a physics-split preconditioner (``linear="fieldsplit"``: one block per field, GAMG on the
potential blocks, reused across Newton iterations).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from . import materials as mat

log = logging.getLogger("electrode3d.echem")


# The box the iterates are kept in, far outside the solution: a depleted pore takes c_e / c_e0
# to ~0 (the kinetics vanish with it; a P1 field may undershoot slightly), the stoichiometry
# stays near (0, 1) (the forms map it smoothly into (0, 1)). A Newton update, an Anderson
# step or the predictor that would leave the box is cut back to its edge.
BOUNDS = {"ce": (-1e-2, np.inf), "x": (-0.5, 1.5)}


def clip_to_bounds(arrays: dict) -> None:
    """Clip the named arrays ({field: array}, in place) into ``BOUNDS``."""
    for k, (lo, hi) in BOUNDS.items():
        if k in arrays:
            np.clip(arrays[k], lo, hi, out=arrays[k])


class ConvergenceError(RuntimeError):
    """Newton did not converge (the caller cuts the time step back)."""


@dataclass
class SolverOptions:
    linear: str = "mumps"  # "mumps" | "fieldsplit"
    max_iterations: int = 30
    tolerance: float = 1e-9  # on the scaled update (potentials in units of RT/F)
    max_potential_step_V: float = 0.3
    reuse_jacobian: bool = True
    max_rebuilds: int = 4  # Jacobians per solve before giving up (the step is cut back)
    charge_tolerance: float = 1e-10  # |sum of reaction currents + I_app| / I_app
    # accepted when Newton stagnates at its round-off floor (see BorderedNewton.solve)
    floor_tolerance: float = 1e-7
    floor_charge_tolerance: float = 1e-8
    contraction: float = 0.8  # rebuild a reused Jacobian when updates shrink slower
    anderson_depth: int = 5  # Anderson acceleration of the chord iterations (0: none)
    # the cost of a Jacobian rebuild in chord iterations; None: 0.07 sqrt(unknowns) in
    # [10, 200] (MUMPS on this machine: ~15 at 46k unknowns, ~55 at 466k)
    rebuild_cost_iterations: float | None = None
    petsc_options: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.linear not in ("mumps", "fieldsplit"):
            raise ValueError(f"linear solver must be 'mumps' or 'fieldsplit', "
                             f"got {self.linear!r}")


@dataclass
class NewtonReport:
    iterations: int
    update_norm: float
    linear_iterations: int


class _Anderson:
    """Anderson acceleration (type II, depth m) of the fixed-point iteration u <- u + f(u)
    that a chord Newton is: the step is u + f - (dU + dF) g with g the least-squares fit of f
    by the last m differences of f (weighted: potentials in units of RT/F). It turns the
    chord's linear contraction into a near-Newton one at the cost of a few dot products.
    Arrays are the rank's owned entries; the global V is carried alongside."""

    def __init__(self, depth: int, weights: np.ndarray, weight_V: float, comm):
        self.m, self.w, self.wV, self.comm = depth, weights, weight_V, comm
        self.reset()

    def reset(self):
        self.hist: list[tuple[np.ndarray, float, np.ndarray, float]] = []

    def step(self, u: np.ndarray, uV: float, f: np.ndarray, fV: float):
        self.hist.append((u.copy(), uV, f.copy(), fV))
        if len(self.hist) > self.m + 1:
            self.hist.pop(0)
        k = len(self.hist) - 1
        if k == 0:
            return u + f, uV + fV
        h = self.hist
        dF = np.array([h[i + 1][2] - h[i][2] for i in range(k)])
        dFV = np.array([h[i + 1][3] - h[i][3] for i in range(k)])
        loc = np.concatenate([((dF * self.w) @ dF.T).ravel(), (dF * self.w) @ f])
        tot = np.empty_like(loc)
        self.comm.Allreduce(loc, tot)
        M = tot[:k * k].reshape(k, k) + self.wV * np.outer(dFV, dFV)
        r = tot[k * k:] + self.wV * dFV * fV
        try:
            g = np.linalg.lstsq(M, r, rcond=1e-12)[0]
        except np.linalg.LinAlgError:
            self.reset()
            return u + f, uV + fV
        dU = np.array([h[i + 1][0] - h[i][0] for i in range(k)])
        dUV = np.array([h[i + 1][1] - h[i][1] for i in range(k)])
        return u + f - g @ (dU + dF), uV + fV - float(g @ (dUV + dFV))


class BorderedNewton:
    """Newton for ``fields`` of ``model`` (all others held fixed) and the global V."""

    def __init__(self, model, fields: tuple[str, ...], options: SolverOptions | None = None,
                 prefix: str = "echem_"):
        import ufl
        from dolfinx import fem
        from dolfinx.fem import petsc as fpetsc
        from petsc4py import PETSc

        self.model, self.fields = model, fields
        self.options = options or SolverOptions()
        emaps = model.dom.entity_maps
        jit = {"timeout": 600}

        def form(f):
            f = ufl.algorithms.expand_derivatives(f) if isinstance(f, ufl.Form) else f
            if isinstance(f, ufl.Form) and f.empty():
                return None
            return fem.form(f, entity_maps=emaps, jit_options=jit)

        u = [model.u[k] for k in fields]
        spaces = [model.V[k] for k in fields]
        self.u = u
        F = [model.residuals[k] for k in fields]
        self.F = [form(f) for f in F]
        self.J = [[form(ufl.derivative(Fi, uj, ufl.TrialFunction(Vj)))
                   for uj, Vj in zip(u, spaces, strict=True)] for Fi in F]
        psi, one = model.u["psi"], model.one_psi
        self.dFdV = [form(ufl.derivative(Fi, psi, one)) for Fi in F]
        G = model.total_reaction
        self.G = form(G)
        self.dGdV = form(ufl.derivative(G, psi, one))
        self.dGdu = [form(ufl.derivative(G, uj, ufl.TestFunction(Vj)))
                     for uj, Vj in zip(u, spaces, strict=True)]
        self.bcs = [bc for bc in model.bcs
                    if any(bc.function_space is V._cpp_object for V in spaces)]
        self.bcs_by_block = fem.bcs_by_block([V._cpp_object for V in spaces], self.bcs)

        kind = "mpi"
        self.A = fpetsc.create_matrix(self.J, kind=kind)
        self.x = fpetsc.create_vector(spaces, kind=kind)
        self.b = fpetsc.create_vector(spaces, kind=kind)
        self.bV = fpetsc.create_vector(spaces, kind=kind)
        self.cG = fpetsc.create_vector(spaces, kind=kind)
        self.y1 = self.x.duplicate()
        self.y2 = self.x.duplicate()
        self.blocks = self.x.getAttr("_blocks")
        for v in (self.b, self.bV, self.cG, self.y1, self.y2):
            v.setAttr("_blocks", self.blocks)
        comm = model.dom.mesh.comm
        self.comm = comm
        self.ksp = PETSc.KSP().create(comm)
        self.ksp.setOperators(self.A)
        self.ksp.setOptionsPrefix(prefix)
        self._prefix = prefix
        opts = PETSc.Options()
        defaults = ({"ksp_type": "preonly", "pc_type": "lu",
                     "pc_factor_mat_solver_type": "mumps"}
                    if self.options.linear == "mumps" else
                    {"ksp_type": "gmres", "ksp_rtol": 1e-10, "ksp_max_it": 400,
                     "ksp_gmres_restart": 200, "pc_type": "fieldsplit",
                     "pc_fieldsplit_type": "multiplicative"})
        for k, v in {**defaults, **self.options.petsc_options}.items():
            opts[prefix + k] = v
        self.ksp.setFromOptions()
        if self.options.linear == "fieldsplit":
            self._setup_fieldsplit(prefix, spaces)
        self._scales = np.array([1.0 if k in ("ce", "x") else mat.F / (
            mat.R_GAS * model.params.temperature) for k in fields])
        off0, _ = self.blocks
        w = np.empty(off0[-1])
        for i in range(len(fields)):
            w[off0[i]:off0[i + 1]] = self._scales[i] ** 2
        self._anderson = _Anderson(self.options.anderson_depth, w,
                                   float(self._scales.max()) ** 2, comm)
        self._pot = np.array([k in ("phie", "psi") for k in fields])
        self._stale = True
        self._S = None  # row scaling (set at the first Jacobian)
        n = self.x.getSize()
        self._rebuild_cost = self.options.rebuild_cost_iterations or float(
            np.clip(0.07 * np.sqrt(n), 10.0, 200.0))
        self.n_factorisations = 0
        self.iterations_total = 0
        self.floor_accepts = 0  # solves accepted at the round-off floor

    def invalidate(self):
        """Rebuild the Jacobian and its factorisation at the next iteration (after a failed
        step: a failed factorisation would otherwise stick to the preconditioner)."""
        self._stale = True
        self.ksp.reset()
        self.ksp.setOperators(self.A)
        self.ksp.setFromOptions()
        if self.options.linear == "fieldsplit":  # reset() drops the splits
            self._setup_fieldsplit(self._prefix, [self.model.V[k] for k in self.fields])

    def _setup_fieldsplit(self, prefix, spaces):
        from petsc4py import PETSc

        opts = PETSc.Options()
        off0, _ = self.blocks
        rstart = self.x.getOwnershipRange()[0]
        pc = self.ksp.getPC()
        for i, k in enumerate(self.fields):
            idx = np.arange(off0[i], off0[i + 1], dtype=np.int32) + rstart
            pc.setFieldSplitIS((k, PETSc.IS().createGeneral(idx, comm=self.comm)))
            sub = f"{prefix}fieldsplit_{k}_"
            if k in ("phie", "psi"):
                defaults = {"ksp_type": "preonly", "pc_type": "gamg",
                            "pc_gamg_aggressive_coarsening": 1,
                            "ksp_reuse_preconditioner": True}
            else:
                defaults = {"ksp_type": "preonly", "pc_type": "bjacobi",
                            "sub_pc_type": "ilu"}
            for key, v in defaults.items():
                if sub + key not in opts:
                    opts[sub + key] = v
        self.ksp.setFromOptions()

    # -------------------------------------------------------------------------------------
    def _scalar(self, f) -> float:
        from dolfinx import fem
        from mpi4py import MPI

        return self.comm.allreduce(fem.assemble_scalar(f) if f is not None else 0.0,
                                   op=MPI.SUM)

    def _assemble_vec(self, vec, forms, x0=None):
        """Assemble blocked ``forms`` into ``vec``; Dirichlet rows get ``x0 - g`` (the
        residual of the constraint; 0 for g = 0 and x0 satisfying it) or 0."""
        from dolfinx.fem import petsc as fpetsc
        from dolfinx.la.petsc import _ghost_update, _zero_vector
        from petsc4py import PETSc

        _zero_vector(vec)
        fpetsc.assemble_vector(vec, [f if f is not None else self._zero_form(i)
                                     for i, f in enumerate(forms)])
        _ghost_update(vec, PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)
        fpetsc.set_bc(vec, self.bcs_by_block, x0=x0, alpha=-1.0 if x0 is not None else 0.0)

    def _zero_form(self, i):
        import ufl
        from dolfinx import fem

        if not hasattr(self, "_zeros"):
            self._zeros = {}
        if i not in self._zeros:
            V = self.model.V[self.fields[i]]
            dx = ufl.Measure("dx", domain=V.mesh)
            self._zeros[i] = fem.form(fem.Constant(V.mesh, 0.0) * ufl.TestFunction(V) * dx)
        return self._zeros[i]

    def solve(self) -> NewtonReport:
        """Newton iterations from the current state of the model (updated in place).

        With ``reuse_jacobian`` the factorised Jacobian (or preconditioner) is kept across
        iterations and time steps (a chord method) and rebuilt only when the iteration
        contracts slowly or fails: a factorisation costs ~15 back-solves."""
        from dolfinx.fem import petsc as fpetsc
        from dolfinx.la.petsc import _ghost_update
        from petsc4py import PETSc

        model, opt = self.model, self.options
        fpetsc.assign(self.u, self.x)
        lin_its, prev, prev2, fresh, ok2, rebuilds = 0, None, None, False, True, 0
        need_J = self._stale or not opt.reuse_jacobian
        scaled = np.inf
        self._anderson.reset()  # the map depends on the state of the last step
        for it in range(1, opt.max_iterations + 2):
            self._assemble_vec(self.b, self._F_nonempty(), x0=self.x)
            if self._S is not None:
                self.b.pointwiseMult(self.b, self._S)
            I_app = float(model.I_app.value)
            G = self._scalar(self.G) + I_app
            rel_G = abs(G) / abs(I_app) if I_app != 0 else 0.0
            converged = scaled < opt.tolerance and rel_G <= opt.charge_tolerance
            # Newton's round-off floor: a second fresh Jacobian (or the last iteration) does
            # not take the update below the tolerance, but it is small. Near a full surface
            # or a depleted pore, round-off in the fields (~1e-12) is amplified by steep
            # kinetics into dV ~ 1e-10 V and |G| / I ~ 1e-9, and it stays there.
            at_floor = not converged and ((need_J and rebuilds >= 2)
                                          or it > opt.max_iterations) \
                and scaled < opt.floor_tolerance and rel_G <= opt.floor_charge_tolerance
            if converged or at_floor:
                # small last update and the constraint met at the new state
                for f in self.u:
                    f.x.scatter_forward()
                self.iterations_total += it - 1
                if at_floor:
                    self.floor_accepts += 1
                    log.debug("newton: accepted at its round-off floor (scaled update %.2e, "
                              "|G| / I %.1e)", scaled, rel_G)
                return NewtonReport(it - 1, scaled, lin_its)
            if need_J:
                rebuilds += 1
                if rebuilds > opt.max_rebuilds:
                    self._stale = True
                    raise ConvergenceError(f"Newton contracts too slowly ({rebuilds - 1} "
                                           f"Jacobians, last scaled update {scaled:.2e})")
                # Jacobian, bordering vectors and J^-1 dR/dV belong together; a chord
                # iteration reuses all of them and costs one residual and one back-solve
                fpetsc.assemble_jacobian(None, self.x, self.A, None, self.u, self.J, None,
                                         self.bcs)
                if self._S is None:
                    self._S = self._row_scaling()
                    self.b.pointwiseMult(self.b, self._S)
                self.A.diagonalScale(L=self._S)
                self.n_factorisations += 1
                need_J, fresh, prev, prev2 = not opt.reuse_jacobian, True, None, None
                self._stale = False
                self._assemble_vec(self.bV, self.dFdV)
                self.bV.pointwiseMult(self.bV, self._S)
                self._assemble_vec(self.cG, self.dGdu)
                self.ksp.solve(self.bV, self.y2)
                lin_its += max(self.ksp.getIterationNumber(), 1)
                ok2 = self.ksp.getConvergedReason() > 0
                self._denom = self._scalar(self.dGdV) - self.cG.dot(self.y2)
            self.b.scale(-1.0)
            self.ksp.solve(self.b, self.y1)
            lin_its += max(self.ksp.getIterationNumber(), 1)
            denom = self._denom
            ok = self.ksp.getConvergedReason() > 0 and ok2 and denom != 0 \
                and np.isfinite(denom)
            if not ok:
                if not fresh:
                    need_J = True
                    continue
                raise ConvergenceError(f"linear solve failed (KSP reason "
                                       f"{self.ksp.getConvergedReason()}, bordering {denom})")
            dV = (-G - self.cG.dot(self.y1)) / denom
            self.y1.axpy(-dV, self.y2)  # y1 = du
            self._project_update()
            _ghost_update(self.y1, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
            norms = self._block_norms(self.y1)
            pot = max([n for n, p in zip(norms, self._pot, strict=True) if p] + [abs(dV)])
            lam = min(1.0, opt.max_potential_step_V / pot) if pot > 0 else 1.0
            if fresh or lam < 1.0:
                self._anderson.reset()  # a new Jacobian is a new fixed-point map
            if lam < 1.0 or opt.anderson_depth == 0:
                self.x.axpy(lam, self.y1)
                model.Vcc.value = float(model.Vcc.value) + lam * dV
            else:
                new, V_new = self._anderson.step(self.x.array, float(model.Vcc.value),
                                                 self.y1.array, dV)
                self.x.array[:] = new
                model.Vcc.value = V_new
            _ghost_update(self.x, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
            fpetsc.assign(self.x, self.u)
            self._clip()
            fpetsc.assign(self.u, self.x)
            scaled = max(max(np.asarray(norms) * self._scales),
                         abs(dV) * self._scales.max()) * lam
            if lam < 1.0:
                scaled = max(scaled, 1.0)  # a damped step is never the last one
            log.debug("newton %d: scaled update %.2e (blocks %s, dV %.2e), fresh J %s",
                      it, scaled, " ".join(f"{n:.1e}" for n in norms), dV, fresh)
            if not np.isfinite(scaled) or (it > 3 and scaled > 10.0):
                self._stale = True
                raise ConvergenceError(f"Newton diverged (scaled update {scaled:.2e})")
            if prev2 is not None and not fresh and self._rebuild_pays(scaled, prev2, it):
                need_J = True
            if fresh and prev is not None:
                fresh = False
            prev, prev2 = scaled, prev
        self._stale = True
        raise ConvergenceError(f"Newton did not converge in {opt.max_iterations} iterations "
                               f"(last scaled update {scaled:.2e})")

    def _rebuild_pays(self, scaled: float, prev2: float, it: int) -> bool:
        """Whether a new Jacobian saves work over carrying on with the chord at its
        contraction (measured over two iterations). The cost of a rebuild (assembly and
        factorisation) in chord iterations (residual and back-solve) is a function of the
        problem size, not a timing, so that every rank, and every run, decides alike."""
        opt = self.options
        rho = (scaled / prev2) ** 0.5 if prev2 > 0 else 1.0
        if rho >= opt.contraction:
            return True  # stagnating
        if scaled <= opt.tolerance:
            return False
        remaining = np.log(opt.tolerance / scaled) / np.log(max(rho, 1e-300))
        if remaining > opt.max_iterations - it:
            return True
        # a fresh Jacobian converges in ~3 iterations
        return remaining - 3 > self._rebuild_cost

    def _row_scaling(self):
        """One constant per block (1 / median |diagonal| of the first Jacobian), fixed for
        the solver's life: the residuals are in mol/s and A and differ by ~12 orders of
        magnitude, which Krylov convergence tests and low-rank factorisations would see.
        Row scaling leaves the Newton update unchanged."""
        from mpi4py import MPI

        d = self.A.getDiagonal()
        a = np.abs(d.getArray(readonly=True))
        off0, _ = self.blocks
        S = d.duplicate()
        s = S.array  # a writable view of the local part
        for i in range(len(self.fields)):
            blk = a[off0[i]:off0[i + 1]]
            blk = blk[blk > 0]
            # the median over ranks is approximated by the mean of the ranks' medians
            loc = np.array([float(np.median(blk)) if len(blk) else 0.0, float(len(blk) > 0)])
            tot = np.empty(2)
            self.comm.Allreduce(loc, tot, op=MPI.SUM)
            med = tot[0] / max(tot[1], 1.0)
            s[off0[i]:off0[i + 1]] = 1.0 / med if med > 0 else 1.0
        d.destroy()
        return S

    def _F_nonempty(self):
        return [f if f is not None else self._zero_form(i) for i, f in enumerate(self.F)]

    def _block_norms(self, vec) -> list[float]:
        from mpi4py import MPI

        off0, _ = self.blocks
        a = vec.getArray(readonly=True)
        loc = [float(np.abs(a[off0[i]:off0[i + 1]]).max(initial=0.0))
               for i in range(len(self.fields))]
        out = np.empty(len(loc))
        self.comm.Allreduce(np.array(loc), out, op=MPI.MAX)
        return list(out)

    def _project_update(self):
        """Replace the update du by P(u + du) - u, P the clip into ``BOUNDS``: a degree of
        freedom on its bound that Newton pushes beyond it does not move, and its update is
        0. Without this, the update of a depleted electrolyte node stays at its distance to
        the floor however well the rest converges, and Newton stalls there."""
        off0, _ = self.blocks
        u, du = self.x.array, self.y1.array
        for i, k in enumerate(self.fields):
            if k in BOUNDS:
                s = slice(off0[i], off0[i + 1])
                du[s] = np.clip(u[s] + du[s], *BOUNDS[k]) - u[s]

    def _clip(self):
        """Anderson extrapolation may leave the box: clip the fields back into it."""
        clip_to_bounds({k: f.x.array for k, f in zip(self.fields, self.u, strict=True)})

    def destroy(self):
        for obj in (self.A, self.x, self.b, self.bV, self.cG, self.y1, self.y2, self.ksp):
            obj.destroy()
