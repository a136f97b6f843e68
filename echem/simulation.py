"""A galvanostatic discharge of the pore-resolved model: the time loop, its events (cut-off
voltage, stoichiometry bound), its records and conservation checks."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from . import materials as mat
from .checkpoint import Checkpointer, CheckpointOptions, LoopState
from .domains import R_AM, R_CBD, R_PORE, R_SEP, build_domains
from .experiment import Discharge, TimeOptions
from .model import ModelOptions, NewmanModel
from .parameters import ParameterSet
from .probes import CellIntegrals
from .results import Results
from .solver import BorderedNewton, ConvergenceError, SolverOptions, clip_to_bounds

CC_TAG = 1  # meshing.gmsh_model.CURRENT_COLLECTOR
X_FULL = 1 - 1e-4  # mean stoichiometry at which the electrode is full (the run ends)
log = logging.getLogger("electrode3d.echem")


class SimulationError(RuntimeError):
    pass


class StepInfo(NamedTuple):
    step: int
    time_s: float
    dt_s: float
    voltage_V: float
    capacity_mAh_cm2: float
    newton_iterations: int


class Simulation:
    """One experiment on one tagged mesh with one parameter set.

    ``callback(StepInfo)`` is called after every accepted step on every rank with the same
    values (print from rank 0 only); an exception it raises stops the run on every rank
    alike (the last checkpoint, if any, is kept)."""

    def __init__(self, tm, params: ParameterSet, experiment: Discharge, *,
                 model_options: ModelOptions | None = None,
                 solver_options: SolverOptions | None = None,
                 time_options: TimeOptions | None = None,
                 callback: Callable[[StepInfo], None] | None = None):
        import ufl
        from dolfinx import fem

        self.tm, self.params, self.experiment = tm, params, experiment
        self.time_options = time_options or TimeOptions()
        self.solver_options = solver_options or SolverOptions()
        self.callback = callback
        self.comm = tm.mesh.comm
        t0 = time.perf_counter()
        mo = model_options or ModelOptions()
        self.dom = build_domains(tm, cbd_reactive=mo.cbd_reactive)
        # meshes whose interfaces miss area (voxel staircases, CGAL's filled wedges) say by
        # how much, per particle
        corr = {int(k): float(v["area_correction"])
                for k, v in tm.report.get("particles", {}).items() if "area_correction" in v}
        self.model = NewmanModel(self.dom, params, mo, area_correction=corr)
        m = self.model
        one = fem.Constant(tm.mesh, 1.0)

        def integral(form):
            return self.comm.allreduce(fem.assemble_scalar(
                fem.form(form, entity_maps=self.dom.entity_maps)))

        self._integral = integral
        self.am_volume_m3 = integral(one * m.dx(R_AM))
        ds = ufl.Measure("ds", domain=tm.mesh, subdomain_data=tm.facet_tags)
        self.cc_area_m2 = integral(one * ds(CC_TAG))
        self.usable_capacity_C = params.capacity_density_C_m3() * self.am_volume_m3
        self.current_A = experiment.current_A(self.usable_capacity_C, self.cc_area_m2)
        self.am_mass_g = float(params["Active material density [kg.m-3]"]) \
            * self.am_volume_m3 * 1e3
        self._li_solid = fem.form(m.c_max * m.u["x"] * m.dx(R_AM),
                                  entity_maps=self.dom.entity_maps)
        self._li_elyte = fem.form(m.eps * m.c_e0 * m.u["ce"] * m.dx((R_PORE, R_SEP, R_CBD)),
                                  entity_maps=self.dom.entity_maps)
        self.probe = CellIntegrals(m)
        self.potentials = BorderedNewton(m, ("phie", "psi"), self.solver_options,
                                         prefix="echem_pot_")
        self.newton = BorderedNewton(m, NewmanModel.FIELDS, self.solver_options,
                                     prefix="echem_")
        self.setup_time_s = time.perf_counter() - t0

    # ---------------------------------------------------------------------------------
    def describe(self) -> dict:
        ndofs = {k: V.dofmap.index_map.size_global for k, V in self.model.V.items()}
        return {"am_volume_m3": self.am_volume_m3, "cc_area_m2": self.cc_area_m2,
                "usable_capacity_mAh": self.usable_capacity_C / 3.6,
                "usable_capacity_mAh_cm2": self.usable_capacity_C / 3.6
                / (self.cc_area_m2 * 1e4),
                "current_A": self.current_A,
                "current_density_A_m2": self.current_A / self.cc_area_m2,
                "c_rate": self.current_A * 3600 / self.usable_capacity_C,
                "am_mass_g": self.am_mass_g, "dofs": ndofs, "dofs_total": sum(ndofs.values()),
                "cells": self.tm.mesh.topology.index_map(3).size_global,
                "ranks": self.comm.size, "setup_time_s": self.setup_time_s}

    def initial_state(self, current_A: float) -> None:
        """Potentials consistent with the uniform concentrations at ``current_A``."""
        self.model.I_app.value = current_A
        self.potentials.solve()

    def _pass_marks(self, loop, results, writer, I, t0, t1, states):
        """Report the DoD marks passed between ``t0`` and ``t1`` (the step's two ends, with the
        particle states ``states`` there): particles interpolated linearly in time to each
        mark; fields written at ``t1``."""
        ex = self.experiment
        q = I / self.usable_capacity_C  # DoD per second
        marks = loop.dod_marks
        while marks and q * t1 >= marks[0] - 1e-12:
            mark = marks.pop(0)
            if mark in ex.report_dod:
                w = (mark - q * t0) / (q * (t1 - t0))
                results.snapshot(mark, states=[(1 - w) * a + w * b
                                               for a, b in zip(*states, strict=True)])
            if writer is not None and mark in ex.field_dod:
                writer.write(t1)

    def _snapshot(self):
        return ({k: f.x.array.copy() for k, f in self.model.u.items()},
                float(self.model.Vcc.value))

    def _predict(self, snap, prev, dt):
        """Linear extrapolation from the last two states: the Newton start is O(dt^2) off."""
        if prev is None:
            return
        (old_arrays, old_V), dt_prev = prev
        arrays, V = snap
        w = dt / dt_prev
        for k, a in arrays.items():
            self.model.u[k].x.array[:] = a + w * (a - old_arrays[k])
        clip_to_bounds({k: f.x.array for k, f in self.model.u.items()})
        self.model.Vcc.value = V + w * (V - old_V)

    def _restore(self, snap):
        arrays, V = snap
        for k, a in arrays.items():
            self.model.u[k].x.array[:] = a
        self.model.Vcc.value = V

    def run(self, fields_dir=None, checkpoint: CheckpointOptions | None = None) -> Results:
        """Discharge to the cut-off (or the stoichiometry bound, or ``max_time_s``).

        With ``fields_dir``, the fields are written there (XDMF) at the experiment's
        ``field_dod`` and at the end (after a restart, into ``fields_dir/resumed_<step>``).
        With ``checkpoint``, the state is saved at its intervals and, if a checkpoint of the
        same run exists there, the run resumes from it."""
        m, ex, to = self.model, self.experiment, self.time_options
        I = self.current_A  # noqa: E741
        t_nominal = self.usable_capacity_C / I
        wall0 = time.perf_counter()
        results = Results(self.describe(), self.probe, self.params.usable_window(),
                          lumped=m.options.lumped)
        ckpt = Checkpointer(self, checkpoint) if checkpoint is not None else None
        loaded = ckpt.load(results) if ckpt is not None else None
        loop, previous = loaded if loaded is not None else (None, None)
        if loop is None:
            self.initial_state(I)
            loop = LoopState(dt=to.dt_initial * t_nominal,
                             dod_marks=sorted(set(ex.report_dod) | set(ex.field_dod)),
                             li_s0=self._scalar(self._li_solid),
                             li_e0=self._scalar(self._li_elyte))
            results.record(0.0, I, float(m.Vcc.value), 0.0, self._mean_x(), self.cc_area_m2,
                           self.am_mass_g)
        elif loop.finished:
            log.info("the checkpoint holds the finished run (t = %.1f s): nothing to compute",
                     loop.t)
            fields_dir = None
        else:
            m.I_app.value = I
            loop.segments += 1
            log.info("resumed from the checkpoint at t = %.1f s (step %d)", loop.t, loop.step)
            if fields_dir is not None and loop.step > 0:
                from pathlib import Path

                fields_dir = Path(fields_dir) / f"resumed_{loop.step}"
        dt, t, step = loop.dt, loop.t, loop.step
        # the predictor's previous state: ((arrays, V), dt)
        prev = None if previous is None else ((previous[0], previous[1]), previous[2])
        max_time = ex.max_time_s or 2.0 * t_nominal
        reason = "max_time"
        states = (None, self.probe.stoichiometry())  # per particle and bin: previous, now
        writer = None
        if fields_dir is not None:
            from .fields import FieldWriter

            writer = FieldWriter(m, fields_dir)
        while t < max_time and not loop.finished:
            snap = self._snapshot()
            li_before = self._scalar(self._li_solid)
            dt = min(dt, max_time - t)
            m.dt.value = dt
            self._predict(snap, prev, dt)
            try:
                rep = self.newton.solve()
            except ConvergenceError as e:
                log.debug("step at t=%.4g s with dt=%.3g s failed: %s", t, dt, e)
                self._restore(snap)
                dt *= to.cutback
                self.newton.invalidate()
                if dt < to.wall_dt * t_nominal:
                    # no step of any useful size exists: the particles' surfaces are full
                    # (the diffusion wall) or the solver is stuck; the state is the last one
                    results.finish("wall" if results.voltage[-1] < results.voltage[0] - 0.3
                                   else "newton_failure",
                                   str(e) + results.overfull_note(m.options.lumped)
                                   + results.depletion_note(m.options.lumped))
                    break
                continue
            step += 1
            prev = (snap, dt)
            t_new = t + dt
            V_new = float(m.Vcc.value)
            charge_err = abs(self._scalar(self.newton.G) + I) / I
            li_err = abs(self._scalar(self._li_solid) - li_before - I * dt / mat.F) / \
                (I * dt / mat.F)
            results.conservation(charge_err, li_err,
                                 abs(self._scalar(self._li_elyte) - loop.li_e0) / loop.li_e0)
            results.electrolyte_state(t_new, self._extreme("ce", largest=False))
            results.solid_state(t_new, self._extreme("x", largest=True))
            V_old = results.voltage[-1]
            x_old, x_new = results.stoichiometry_mean[-1], self._mean_x()
            if V_new < ex.cutoff_V or x_new >= X_FULL:
                # interpolate the crossing of the cut-off or of the full electrode (mean x is
                # linear in time), and the fields to it (linear within the step)
                f_V = (V_old - ex.cutoff_V) / (V_old - V_new) \
                    if V_new < ex.cutoff_V < V_old else (0.0 if V_new < ex.cutoff_V else 1.0)
                f_x = (X_FULL - x_old) / (x_new - x_old) if x_new >= X_FULL > x_old else \
                    (0.0 if x_new >= X_FULL else 1.0)
                frac = min(f_V, f_x)
                reason = "cutoff" if f_V <= f_x else "stoichiometry_bound"
                for k, a in snap[0].items():
                    u = m.u[k].x.array
                    u[:] = a + frac * (u - a)
                m.Vcc.value = V_old + frac * (V_new - V_old)
                results.record(t + frac * dt, I, float(m.Vcc.value), I * (t + frac * dt),
                               self._mean_x(), self.cc_area_m2, self.am_mass_g)
                # report marks passed within this last, partial step
                self._pass_marks(loop, results, writer, I, t, t + frac * dt,
                                 (states[1], self.probe.stoichiometry()))
                break
            t = t_new
            for k in ("ce", "x"):
                m.u_old[k].x.array[:] = m.u[k].x.array
            results.record(t, I, V_new, I * t, self._mean_x(), self.cc_area_m2,
                           self.am_mass_g)
            results.accumulate_reaction(self.probe.reaction(), dt)
            states = (states[1], self.probe.stoichiometry())
            self._pass_marks(loop, results, writer, I, t - dt, t, states)
            # next step
            grow = to.growth if rep.iterations <= to.easy_iterations else 1.0
            dV = abs(V_new - V_old)
            if dV > 0:
                grow = min(grow, max(to.cutback, to.max_dV_step_V / dV))
            dt = min(dt * grow, to.dt_max * t_nominal)
            if ckpt is not None and ckpt.due(step):
                ckpt.save(self._loop_state(loop, t, step, dt, wall0), results,
                          previous=(prev[0][0], prev[0][1], prev[1]))
            if self.callback is not None:
                self.callback(StepInfo(step, t, dt, V_new, results.capacity_mAh_cm2[-1],
                                       rep.iterations))
        if not loop.finished:
            results.snapshot(1.0, final=True)
            if writer is not None:
                writer.write(results.time_s[-1])
        if writer is not None:
            writer.close()
        if results.stop_reason is None:
            results.finish(reason)
        if self.comm.rank == 0:
            for w in results.warnings():
                log.warning("%s", w)
        if ckpt is not None and not loop.finished:
            # the final state: rerunning a finished run recomputes nothing
            ckpt.save(dataclasses.replace(self._loop_state(loop, t, step, dt, wall0),
                                          finished=True), results)
        final = self._loop_state(loop, t, step, dt, wall0)
        results.info.update({
            "wall_time_s": final.wall_s, "steps": step, "run_segments": loop.segments,
            "newton_iterations": final.newton_iterations,
            "factorisations": final.factorisations,
            "newton_roundoff_accepts": final.roundoff_accepts,
            "lithium_solid_gain_mol": self._scalar(self._li_solid) - loop.li_s0,
            "newton_dofs_per_s_per_core": self.describe()["dofs_total"]
            * final.newton_iterations / max(final.wall_s, 1e-9) / self.comm.size})
        return results

    def _loop_state(self, loop: LoopState, t, step, dt, wall0) -> LoopState:
        """The loop scalars now (``loop`` holds those at the start of this segment)."""
        return dataclasses.replace(
            loop, t=t, step=step, dt=dt, Vcc=float(self.model.Vcc.value),
            dod_marks=list(loop.dod_marks),
            wall_s=loop.wall_s + time.perf_counter() - wall0,
            newton_iterations=loop.newton_iterations + self.newton.iterations_total,
            factorisations=loop.factorisations + self.newton.n_factorisations,
            roundoff_accepts=loop.roundoff_accepts + self.newton.floor_accepts)

    def _scalar(self, form) -> float:
        from dolfinx import fem

        return self.comm.allreduce(fem.assemble_scalar(form))

    def _extreme(self, k: str, largest: bool) -> float:
        """The lowest (or highest) owned nodal value of field ``k`` over all ranks."""
        from mpi4py import MPI

        V = self.model.V[k]
        a = self.model.u[k].x.array[:V.dofmap.index_map.size_local]
        if largest:
            return self.comm.allreduce(float(a.max(initial=-np.inf)), op=MPI.MAX)
        return self.comm.allreduce(float(a.min(initial=np.inf)), op=MPI.MIN)

    def _mean_x(self) -> float:
        return self._scalar(self._li_solid) / (self.model.c_max * self.am_volume_m3)
