"""The regression cases: each makes a discharge curve from a small mesh. The stored curves in
tests/data/regression were made by ``python -m tests.echem.regression_cases`` (run from the
repository root) and carry their provenance (commit, versions, date, inputs) in a JSON file
beside the CSV. Regenerate only for an intended change of results, and say why in the
commit."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent.parent / "data" / "regression"


def wired_particle_5C(comm):
    """Our solver: a floating particle wired by a CBD pillar (voxel mesh), 5C to 3.75 V."""
    from echem import Discharge, Simulation, parameter_set

    from .conftest import wired_particle

    ex = Discharge(c_rate=5.0, cutoff_V=3.75, report_dod=(0.25,))
    res = Simulation(wired_particle(comm), parameter_set(), ex).run()
    return ({"capacity_mAh_cm2": res.capacity_mAh_cm2, "voltage_V": res.voltage,
             "time_s": res.time_s},
            {"source": "electrode3d (this repository)", "mesh": "tests/echem/conftest.py "
             "wired_particle(h=0.5e-6)", "parameters": "NMC811_ORegan2022 + Nyman2008",
             "experiment": ex.describe()})


def hemisphere_spm_1C(comm):
    """PyBaMM's SPM half cell for the hemisphere of test_spm_limit at 1C (very conductive
    electrolyte), so that the comparison also runs where PyBaMM is not installed."""
    from echem import Discharge, Simulation, parameter_set

    from .conftest import hemisphere
    from .pybamm_reference import spm_half_cell
    from .test_spm_limit import CONDUCTIVE

    tm = hemisphere(comm, radius=4e-6, box=10e-6, interface=0.5e-6, separator=5e-6)
    p = parameter_set().update(CONDUCTIVE)
    sim = Simulation(tm, p, Discharge(c_rate=1.0))
    part = tm.report["particles"]["1"]
    radius = 3 * part["volume_mesh_m3"] / part["interface_area_mesh_m2"]
    ref = spm_half_cell(p, radius_m=radius, am_volume_m3=sim.am_volume_m3,
                        cc_area_m2=sim.cc_area_m2, thickness_m=10e-6, current_A=sim.current_A)
    area_cm2 = sim.cc_area_m2 * 1e4
    return ({"capacity_mAh_cm2": list(sim.current_A * ref["time_s"] / 3.6 / area_cm2),
             "voltage_V": list(ref["voltage_V"]), "time_s": list(ref["time_s"])},
            {"source": f"PyBaMM {ref['version']} SPM half cell (tests/echem/pybamm_reference.py)",
             "mesh": "hemisphere(radius=4e-6, box=10e-6, interface=0.5e-6, separator=5e-6)",
             "radius_m": radius, "current_A": sim.current_A, "cc_area_m2": sim.cc_area_m2,
             "parameters": "NMC811_ORegan2022 + Nyman2008 with CONDUCTIVE overrides"})


CASES = {"wired_particle_5C": wired_particle_5C, "hemisphere_spm_1C": hemisphere_spm_1C}


def load(name: str) -> tuple[dict[str, np.ndarray], dict]:
    data = np.genfromtxt(DATA / f"{name}.csv", delimiter=",", names=True)
    meta = json.loads((DATA / f"{name}.json").read_text())
    return {k: np.asarray(data[k]) for k in data.dtype.names}, meta


def write(name: str, curve: dict, meta: dict) -> None:
    from electrode3d.provenance import versions

    DATA.mkdir(parents=True, exist_ok=True)
    keys = list(curve)
    rows = np.column_stack([np.asarray(curve[k], float) for k in keys])
    np.savetxt(DATA / f"{name}.csv", rows, delimiter=",", header=",".join(keys), comments="",
               fmt="%.10g")
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=DATA, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    meta = {**meta, "case": name, "made_by": "python -m tests.echem.regression_cases",
            "commit": commit, "date": time.strftime("%Y-%m-%d"), "versions": versions()}
    (DATA / f"{name}.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")


def main(names=None):
    import dolfinx_solver  # noqa: F401
    from mpi4py import MPI

    for name in names or CASES:
        curve, meta = CASES[name](MPI.COMM_SELF)
        write(name, curve, meta)


if __name__ == "__main__":
    import sys

    main(sys.argv[1:] or None)
