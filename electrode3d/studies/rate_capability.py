"""Rate capability of mono- and bi-layer electrodes (papers 003 and 004): every electrode of a
study is built, meshed and discharged at every C-rate; the analysis (``rate_analysis``) then
reads the run folders only.

Study file (TOML; docs/studies.md)::

    [study]
    c_rates = [0.1, 0.5, 1.0, 2.0]
    cutoff_V = 3.0
    reference = "monolayer"      # compared against; its 1C current is used by current_basis
    current_basis = "own"        # "own": each electrode's C-rate from its own capacity;
                                 # "reference": the reference's 1C current density for all
    split_fraction = 0.5         # bottom/top split of single-layer electrodes (thickness share)

    [defaults]                   # tables every electrode gets (mesh, parameters, ...)
    mesh = { route = "cgal", size_um = 1.5, bulk_size_um = 4.0 }

    [electrode.monolayer]
    config = "paper004_monolayer_1C.toml"   # a run config (docs/config.md): structure, mesh,
                                            # parameters, model, solver; [defaults] and then
                                            # the electrode's own tables override it
    [electrode.bilayer]
    config = "paper004_bilayer_1C.toml"
    standalone = ["bottom_alone", "top_alone"]   # eq. 7-8 of paper 003 (optional)
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..pipeline import ConfigError, RunConfig, read_config_file

STUDY_KEYS = {"c_rates", "cutoff_V", "report_dod", "reference", "current_basis",
              "split_fraction"}
ELECTRODE_KEYS = {"config", "structure", "mesh", "parameters", "model", "solver", "standalone"}
RUN_TABLES = ("structure", "mesh", "parameters", "model", "solver")


def _refuse_unknown(table: dict, allowed: set, where: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            raise ConfigError(f"unknown key {key!r} in {where}"
                              + (f"; did you mean {close[0]!r}?" if close
                                 else f"; allowed: {sorted(allowed)}"))


@dataclass(frozen=True)
class ElectrodeSpec:
    name: str
    config: RunConfig
    standalone: tuple[str, str] | None = None  # (bottom layer alone, top layer alone)


@dataclass(frozen=True)
class RateStudy:
    electrodes: tuple[ElectrodeSpec, ...]
    c_rates: tuple[float, ...]
    cutoff_V: float = 3.0
    report_dod: tuple[float, ...] = (0.25, 0.5, 0.75)
    reference: str | None = None
    current_basis: str = "own"
    split_fraction: float = 0.5
    source: dict = field(default_factory=dict)

    def __post_init__(self):
        names = [e.name for e in self.electrodes]
        if not names:
            raise ConfigError("a study needs at least one [electrode.<name>] table")
        if not self.c_rates or any(not c > 0 for c in self.c_rates):
            raise ConfigError(f"[study] c_rates: give positive C-rates (two or more for the "
                              f"Peukert fit), got {list(self.c_rates)}")
        if len(set(self.c_rates)) != len(self.c_rates):
            raise ConfigError(f"[study] c_rates repeat a rate: {list(self.c_rates)}")
        if self.reference is not None and self.reference not in names:
            raise ConfigError(f"[study] reference {self.reference!r} is not an electrode of "
                              f"the study: {names}")
        if self.current_basis not in ("own", "reference"):
            raise ConfigError(f"[study] current_basis must be 'own' or 'reference', got "
                              f"{self.current_basis!r}")
        if self.current_basis == "reference" and self.reference is None:
            raise ConfigError("[study] current_basis = 'reference' needs a reference electrode")
        if not 0.0 < self.split_fraction < 1.0:
            raise ConfigError(f"[study] split_fraction must lie in (0, 1), got "
                              f"{self.split_fraction}")
        for e in self.electrodes:
            for other in e.standalone or ():
                if other not in names or other == e.name:
                    raise ConfigError(f"[electrode.{e.name}] standalone {other!r} must name "
                                      f"another electrode of the study: {names}")

    @property
    def ordered(self) -> list[ElectrodeSpec]:
        """The reference first (its 1C current may set everyone's)."""
        return sorted(self.electrodes, key=lambda e: e.name != self.reference)

    @classmethod
    def from_dict(cls, data: dict, base: Path = Path(".")) -> RateStudy:
        _refuse_unknown(data, {"study", "defaults", "electrode"}, "the study file")
        st = data.get("study", {})
        _refuse_unknown(st, STUDY_KEYS, "[study]")
        defaults = data.get("defaults", {})
        _refuse_unknown(defaults, set(RUN_TABLES), "[defaults]")
        electrodes = []
        for name, tab in data.get("electrode", {}).items():
            if not isinstance(tab, dict):
                raise ConfigError(f"[electrode.{name}] must be a table")
            _refuse_unknown(tab, ELECTRODE_KEYS, f"[electrode.{name}]")
            run = {}
            cbase = base
            if "config" in tab:
                path = base / tab["config"]
                if not path.is_file():
                    raise ConfigError(f"[electrode.{name}] config {str(path)!r} does not exist")
                cfg = RunConfig.load(path)
                cbase = cfg.base
                run = {k: dict(getattr(cfg, k)) for k in RUN_TABLES}
            for k in RUN_TABLES:  # config file < [defaults] < the electrode's own tables
                run[k] = {**run.get(k, {}), **defaults.get(k, {}), **tab.get(k, {})}
            if not run["structure"]:
                raise ConfigError(f"[electrode.{name}] needs a config or a structure table")
            try:
                cfg = RunConfig.from_dict(run, base=cbase)
            except ConfigError as e:
                raise ConfigError(f"[electrode.{name}]: {e}") from None
            sa = tab.get("standalone")
            if sa is not None and (not isinstance(sa, list) or len(sa) != 2):
                raise ConfigError(f"[electrode.{name}] standalone must be two electrode names "
                                  f"[bottom layer alone, top layer alone], got {sa!r}")
            electrodes.append(ElectrodeSpec(name, cfg, tuple(sa) if sa else None))
        return cls(tuple(electrodes), tuple(float(c) for c in st.get("c_rates", ())),
                   cutoff_V=float(st.get("cutoff_V", 3.0)),
                   report_dod=tuple(st.get("report_dod", (0.25, 0.5, 0.75))),
                   reference=st.get("reference"), current_basis=st.get("current_basis", "own"),
                   split_fraction=float(st.get("split_fraction", 0.5)), source=data)

    def with_overrides(self, structure: dict | None = None, mesh: dict | None = None,
                       **study) -> RateStudy:
        """The same study with every electrode's structure and mesh tables updated (e.g. a
        reduced size: ``structure={"box_um": 20, "thickness_um": 40}``) and [study] keys
        replaced (``c_rates=...``)."""
        import dataclasses

        electrodes = []
        for e in self.electrodes:
            cfg = dataclasses.replace(e.config, structure={**e.config.structure,
                                                           **(structure or {})},
                                      mesh={**e.config.mesh, **(mesh or {})})
            cfg = RunConfig.from_dict({k: getattr(cfg, k) for k in RUN_TABLES}, base=cfg.base)
            electrodes.append(dataclasses.replace(e, config=cfg))
        unknown = set(study) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown study fields {sorted(unknown)}")
        return dataclasses.replace(self, electrodes=tuple(electrodes), **study)

    @classmethod
    def load(cls, path: str | Path) -> RateStudy:
        path = Path(path)
        return cls.from_dict(read_config_file(path), base=path.parent)


def run_rate_study(study: RateStudy, output: str | Path, comm, *, resume: bool = True,
                   echo=None, progress=None) -> dict:
    """Build, mesh and discharge every electrode at every rate (collective; rank 0 writes),
    then analyse the folders (``rate_analysis.analyse``). A killed study resumes: finished
    discharges are read from their checkpoints."""
    import json

    from ..parallel import on_rank0
    from ..pipeline import discharge_options, prepare_electrode, rate_sweep
    from ..provenance import write_info
    from .rate_analysis import analyse

    t0 = time.perf_counter()
    output = Path(output)
    say = echo if (echo is not None and comm.rank == 0) else (lambda _m: None)
    if comm.rank == 0:
        output.mkdir(parents=True, exist_ok=True)
        (output / "study.json").write_text(json.dumps(study.source, indent=2, default=str))
    i_1c = None
    for e in study.ordered:
        say(f"electrode {e.name!r}")
        folder = output / e.name
        if comm.rank == 0:  # the electrode's tables as resolved (config < defaults < own)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "electrode.json").write_text(json.dumps(
                {k: getattr(e.config, k) for k in RUN_TABLES} | {"base": str(e.config.base),
                                                                 "standalone": e.standalone},
                indent=2, default=str))
        _, tm = prepare_electrode(e.config, folder, comm, progress=progress)
        opts = discharge_options(e.config, {"study": str(output), "electrode": e.name}, resume)
        opts.update(cutoff=study.cutoff_V, report_dod=study.report_dod, fields_dod=())
        sweep = rate_sweep(tm, folder, study.c_rates, opts, current_density_1C=i_1c,
                           echo=echo, progress=progress)
        if study.current_basis == "reference" and e.name == study.reference:
            r = sweep["rows"][0]
            i_1c = r["current_density_mA_cm2"] / r["c_rate"]
    summary = comm.bcast(on_rank0(comm if comm.size > 1 else None, analyse, output, study),
                         root=0)
    if comm.rank == 0:
        write_info(output / "info.json", "study rate-capability",
                   {"study": study.source, "ranks": comm.size}, t0, summary)
    return summary
