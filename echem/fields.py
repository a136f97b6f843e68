"""Fields for ParaView: XDMF files (one per subdomain mesh) written at chosen times.

electrolyte.xdmf: c_e [mol/m3] and phi_e [V]; active_material.xdmf: c_s [mol/m3] and the
stoichiometry x; conductor.xdmf: phi_s [V] (AM and CBD)."""

from __future__ import annotations

from pathlib import Path


class FieldWriter:
    def __init__(self, model, folder: str | Path):
        from dolfinx import fem
        from dolfinx.io import XDMFFile

        self.model = model
        folder = Path(folder)
        comm = model.dom.mesh.comm
        if comm.rank == 0:
            folder.mkdir(parents=True, exist_ok=True)
        comm.barrier()
        V = model.V
        self._out = {
            "electrolyte": (XDMFFile(comm, folder / "electrolyte.xdmf", "w"),
                            [("c_e", fem.Function(V["ce"], name="c_e"), "ce", model.c_e0),
                             ("phi_e", fem.Function(V["phie"], name="phi_e"), "phie", 1.0)]),
            "active_material": (XDMFFile(comm, folder / "active_material.xdmf", "w"),
                                [("c_s", fem.Function(V["x"], name="c_s"), "x", model.c_max),
                                 ("x", fem.Function(V["x"], name="stoichiometry"), "x", 1.0)]),
            "conductor": (XDMFFile(comm, folder / "conductor.xdmf", "w"),
                          [("phi_s", fem.Function(V["psi"], name="phi_s"), "psi", 1.0)]),
        }
        for xdmf, funcs in self._out.values():
            xdmf.write_mesh(funcs[0][1].function_space.mesh)

    def write(self, t: float) -> None:
        for xdmf, funcs in self._out.values():
            for _, f, key, scale in funcs:
                f.x.array[:] = self.model.u[key].x.array * scale
                if key == "psi":
                    f.x.array[:] += float(self.model.Vcc.value)
                xdmf.write_function(f, t)

    def close(self) -> None:
        for xdmf, _ in self._out.values():
            xdmf.close()
