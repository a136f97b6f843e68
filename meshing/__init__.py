"""Microstructure -> conformal tetrahedral mesh (gmsh), tagged per particle and phase,
distributed to MPI ranks (dolfinx). Issue 3; empty until it lands."""
