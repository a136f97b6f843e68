"""Per-particle and through-thickness quantities, assembled per parent cell and summed per
particle (or per depth bin) over all ranks."""

from __future__ import annotations

import numpy as np

from .domains import G_REACTIVE, R_AM


class CellIntegrals:
    """Integrals of the model's fields per owned parent cell, binned by particle and depth."""

    def __init__(self, model, n_bins: int = 20):
        import ufl
        from dolfinx import fem

        self.model = model
        dom = model.dom
        msh = dom.mesh
        self.comm = msh.comm
        Q0 = fem.functionspace(msh, ("DG", 0))
        q = ufl.TestFunction(Q0)
        dxA = model.dx(R_AM)
        emaps = dom.entity_maps
        z = ufl.SpatialCoordinate(msh)[2]
        self._x_form = fem.form(model.u["x"] * q * dxA, entity_maps=emaps)
        self._j_form = fem.form(abs(model.j) * q("-") * model.dS(G_REACTIVE),
                                entity_maps=emaps)
        vol = fem.assemble_vector(fem.form(q * dxA)).array
        zc = fem.assemble_vector(fem.form(z * q * dxA)).array
        area = fem.assemble_vector(fem.form(model.area("-") * q("-")
                                            * model.dS(G_REACTIVE))).array
        n_own = msh.topology.index_map(3).size_local
        self.n_own = n_own
        pid = dom.particle_of_cell[:n_own]
        self.ids = np.array(sorted(int(k) for k in dom.particle_ids), dtype=np.int64)
        self._index = np.full(int(self.ids.max(initial=0)) + 2, -1, dtype=np.int64)
        self._index[self.ids] = np.arange(len(self.ids))
        self._cell_particle = np.where(pid >= 0, self._index[np.maximum(pid, 0)], -1)
        self.volume = self._per_particle(vol[:n_own])
        self.centroid_z = self._per_particle(zc[:n_own]) / np.where(self.volume > 0,
                                                                    self.volume, 1)
        self.surface = self._per_particle(area[:n_own])
        # depth bins over the electrode (cells with AM)
        cell_z = np.divide(zc[:n_own], vol[:n_own], out=np.zeros(n_own), where=vol[:n_own] > 0)
        am_top = self.comm.allreduce(float(cell_z[vol[:n_own] > 0].max(initial=0.0)),
                                     op=_mpi_max())
        self.bin_edges = np.linspace(0.0, am_top * (1 + 1e-9), n_bins + 1)
        self._cell_bin = np.clip(np.searchsorted(self.bin_edges, cell_z) - 1, 0, n_bins - 1)
        self._cell_is_am = vol[:n_own] > 0
        self.bin_volume = self._per_bin(vol[:n_own])

    def _per_particle(self, cell_values: np.ndarray) -> np.ndarray:
        m = self._cell_particle >= 0
        loc = np.bincount(self._cell_particle[m], weights=cell_values[m],
                          minlength=len(self.ids))
        return self._sum(loc)

    def _sum(self, loc: np.ndarray) -> np.ndarray:
        out = np.empty_like(loc, dtype=float)
        self.comm.Allreduce(np.ascontiguousarray(loc, dtype=float), out)
        return out

    def _per_bin(self, cell_values: np.ndarray) -> np.ndarray:
        m = self._cell_is_am
        loc = np.bincount(self._cell_bin[m], weights=cell_values[m],
                          minlength=len(self.bin_edges) - 1)
        return self._sum(loc)

    def stoichiometry(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean x per particle and per depth bin."""
        from dolfinx import fem

        v = fem.assemble_vector(self._x_form).array[:self.n_own]
        per_p = self._per_particle(v) / np.where(self.volume > 0, self.volume, 1)
        per_b = self._per_bin(v) / np.where(self.bin_volume > 0, self.bin_volume, 1)
        return per_p, per_b

    def reaction(self) -> np.ndarray:
        """Integral of |j| over each particle's reactive surface [A]."""
        from dolfinx import fem

        return self._per_particle(fem.assemble_vector(self._j_form).array[:self.n_own])


def _mpi_max():
    from mpi4py import MPI

    return MPI.MAX
