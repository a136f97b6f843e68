"""Electrode microstructures: analytic primitives, a seeded generator and voxel metrics.

Depends on numpy/scipy/scikit-image/h5py only (no finite-element stack).
"""

from .characterize import CharacterizationOptions, Metrics, characterize, write_outputs
from .generator import GenerationError, generate, volume_weighted_percentiles
from .metrics import (
    boundary_coverage,
    effective_conductivity,
    heterogeneity_factor,
    phase_profiles,
    relative_phase_difference,
    tortuosity,
    tortuosity_profile,
)
from .microstructure import Capsules, Layer, Microstructure, Spheres
from .particle_features import (
    distance_to_cbd,
    local_porosity,
    particle_contacts,
    particle_neighbourhood,
    periodic_distance,
)
from .recipe import Recipe, RecipeError, load_recipe, parse_recipe
from .transport import TransportResult, solve_transport
from .voxel import AM, CBD, PORE, VoxelImage, load_image

__all__ = [
    "AM", "CBD", "PORE", "Capsules", "CharacterizationOptions", "GenerationError", "Layer",
    "Metrics", "Microstructure", "Recipe", "RecipeError", "Spheres", "TransportResult",
    "VoxelImage", "boundary_coverage", "characterize", "distance_to_cbd",
    "effective_conductivity", "generate", "heterogeneity_factor", "load_image", "load_recipe",
    "local_porosity", "parse_recipe", "particle_contacts", "particle_neighbourhood",
    "periodic_distance", "phase_profiles", "relative_phase_difference", "solve_transport",
    "tortuosity", "tortuosity_profile", "volume_weighted_percentiles", "write_outputs",
]
