"""The pore-resolved 3D Newman half-cell model in FEniCSx (shared/spec/newman3d.md).

Physics (``parameters``, ``materials``, ``model``) apart from numerics (``solver``,
``TimeOptions``) apart from the experiment (``Discharge``)::

    sim = Simulation(tagged_mesh, parameter_set("NMC811_ORegan2022"), Discharge(c_rate=1))
    results = sim.run()
    results.write("run/", comm)
"""

from .checkpoint import CheckpointError, CheckpointOptions
from .experiment import Discharge, ExperimentError, TimeOptions
from .model import ModelOptions
from .parameters import ParameterError, ParameterSet, parameter_set
from .results import Results
from .simulation import Simulation, SimulationError, StepInfo
from .solver import ConvergenceError, SolverOptions

__all__ = ["CheckpointError", "CheckpointOptions", "ConvergenceError", "Discharge",
           "ExperimentError", "ModelOptions", "ParameterError", "ParameterSet", "Results",
           "Simulation", "SimulationError", "SolverOptions", "StepInfo", "TimeOptions",
           "parameter_set"]
