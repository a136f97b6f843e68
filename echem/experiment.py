"""Experiments: what current is drawn and when to stop (apart from the physics and numerics)."""

from __future__ import annotations

from dataclasses import dataclass


class ExperimentError(ValueError):
    pass


@dataclass(frozen=True)
class Discharge:
    """Constant-current discharge to a cut-off voltage.

    Give exactly one of ``c_rate`` (1C empties the electrode's usable capacity, i.e. its AM
    volume times (x_max - x_min) c_max F, in one hour) or ``current_density_A_m2`` (per
    current-collector area; 1 mA/cm2 = 10 A/m2).
    ``report_dod``: depths of discharge (fractions of the usable capacity) at which particle
    states and the SOD profile are recorded; the cut-off is always recorded as well.
    ``field_dod``: depths at which the fields are written for ParaView.
    """

    c_rate: float | None = None
    current_density_A_m2: float | None = None
    cutoff_V: float = 3.0
    report_dod: tuple = (0.25, 0.5, 0.75)
    field_dod: tuple = ()
    max_time_s: float | None = None

    def __post_init__(self):
        given = [v is not None for v in (self.c_rate, self.current_density_A_m2)]
        if sum(given) != 1:
            raise ExperimentError("give exactly one of c_rate and current_density_A_m2")
        rate = self.c_rate if self.c_rate is not None else self.current_density_A_m2
        if not rate > 0:
            raise ExperimentError(f"the discharge rate must be > 0, got {rate}")
        if not 0 < self.cutoff_V < 6:
            raise ExperimentError(f"cut-off voltage {self.cutoff_V} V is not in (0, 6) V")
        for name in ("report_dod", "field_dod"):
            bad = [d for d in getattr(self, name) if not 0 < d <= 1]
            if bad:
                raise ExperimentError(f"{name} values must be in (0, 1], got {bad}")

    @classmethod
    def from_mA_cm2(cls, current_mA_cm2: float, **kw) -> Discharge:
        return cls(current_density_A_m2=10.0 * current_mA_cm2, **kw)

    def current_A(self, usable_capacity_C: float, cc_area_m2: float) -> float:
        if self.c_rate is not None:
            return self.c_rate * usable_capacity_C / 3600.0
        return self.current_density_A_m2 * cc_area_m2

    def describe(self) -> dict:
        return {"c_rate": self.c_rate, "current_density_A_m2": self.current_density_A_m2,
                "cutoff_V": self.cutoff_V, "report_dod": list(self.report_dod),
                "field_dod": list(self.field_dod), "max_time_s": self.max_time_s}


@dataclass(frozen=True)
class TimeOptions:
    """Adaptive Backward Euler: ``dt_initial`` and ``dt_max`` as fractions of the nominal
    discharge time (3600/C s); the step grows by ``growth`` after easy steps, is cut by
    ``cutback`` on Newton failure, and is limited so that V changes by at most
    ``max_dV_step_V`` per step. A step that fails even at ``wall_dt`` ends the run (reason
    "wall" when the voltage has already fallen by 0.3 V: the particle surfaces are full)."""

    dt_initial: float = 1 / 400
    dt_max: float = 1 / 40
    wall_dt: float = 1e-5  # give up below this step (fraction of the nominal time)
    growth: float = 1.5
    cutback: float = 0.5
    max_dV_step_V: float = 0.02
    easy_iterations: int = 12  # chord iterations (Anderson-accelerated) of an easy step

    def __post_init__(self):
        if not (0 < self.dt_initial <= self.dt_max) or not 0 < self.cutback < 1 \
                or self.growth < 1:
            raise ExperimentError("time options need 0 < dt_initial <= dt_max, "
                                  "0 < cutback < 1 <= growth")
