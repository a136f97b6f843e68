"""Coarse-grained manufacturing chain (slurry -> drying -> calendering) in LAMMPS, read back as
Microstructures (issue 5; docs/lammps.md). LAMMPS is imported only when a run starts.

Modules: ``recipe`` (TOML schema and defaults), ``inputs``/``stages`` (LAMMPS decks), ``runner``
(in process or under mpiexec), ``io`` (dumps, data files <-> Microstructure), ``observables``,
``chain`` (``run_chain``).
"""
