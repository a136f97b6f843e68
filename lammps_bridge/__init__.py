"""Coarse-grained manufacturing chain (slurry -> drying -> calendering) in LAMMPS, read back as
Microstructures. Issue 5; empty until it lands."""
