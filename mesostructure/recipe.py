"""Generator recipes: TOML in, validated dataclasses out.

A recipe is a TOML file (schema in docs/recipes.md). Top-level tables: ``seed``, ``[box]``,
``[electrode]`` (defaults shared by every layer) and ``[[layer]]`` (one table per slab along z,
from the current collector up; each overrides the defaults). All values carry their unit in the
key name (``_um``, ``_g_cm3``, ``_wt``).
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

# Closest-packing limit we accept for the AM phase alone. Random close packing of equal spheres
# is ~0.64; polydisperse packings reach a little more; our packer allows small overlaps (necks).
AM_PACKING_LIMIT = 0.66


class RecipeError(ValueError):
    """A recipe that cannot be generated, with the reason."""


def _check_keys(table: dict, allowed: set[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else \
                f"; allowed: {', '.join(sorted(allowed))}"
            raise RecipeError(f"unknown key {key!r} in {where}{hint}")


def _positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise RecipeError(f"{name} must be a number, got {value!r}") from None
    if not (v > 0 and np.isfinite(v)):
        raise RecipeError(f"{name} must be positive and finite, got {value!r}")
    return v


@dataclass(frozen=True)
class PSDComponent:
    """One log-normal (or tabulated) population of AM particles.

    d50_um: volume-weighted median diameter; sigma: standard deviation of ln(d);
    scale: a factor on every diameter (e.g. 0.5 for "shrunk" milled particles, paper 004);
    mass_fraction: share of this population in the layer's AM mass.
    diameters_um / volume_fractions: a tabulated distribution instead of the log-normal.
    """

    mass_fraction: float = 1.0
    d50_um: float = 10.0
    sigma: float = 0.25
    scale: float = 1.0
    d_min_um: float | None = None
    d_max_um: float | None = None
    diameters_um: tuple[float, ...] = ()
    volume_fractions: tuple[float, ...] = ()

    KEYS = {"mass_fraction", "d50_um", "sigma", "scale", "d_min_um", "d_max_um",
            "diameters_um", "volume_fractions"}

    @property
    def is_table(self) -> bool:
        return len(self.diameters_um) > 0

    def bounds_um(self) -> tuple[float, float]:
        if self.is_table:
            d = np.asarray(self.diameters_um) * self.scale
            return float(d.min()), float(d.max())
        lo = self.d_min_um if self.d_min_um is not None else \
            self.d50_um * np.exp(-2.5 * self.sigma)
        hi = self.d_max_um if self.d_max_um is not None else \
            self.d50_um * np.exp(2.5 * self.sigma)
        return lo * self.scale, hi * self.scale

    def sample_um(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Diameters (um) drawn by number, so that the *volume*-weighted law is the stated one."""
        if self.is_table:
            d = np.asarray(self.diameters_um, float)
            vf = np.asarray(self.volume_fractions, float)
            number = vf / d**3
            return rng.choice(d, size=n, p=number / number.sum()) * self.scale
        # log-normal: volume-median d50 <=> number-median d50 * exp(-3 sigma^2)
        lo, hi = self.bounds_um()
        mu = np.log(self.d50_um * self.scale) - 3.0 * self.sigma**2
        out = np.empty(0)
        while len(out) < n:
            d = rng.lognormal(mu, self.sigma, size=2 * n + 16) if self.sigma > 0 else \
                np.full(n, self.d50_um * self.scale)
            out = np.concatenate([out, d[(d >= lo) & (d <= hi)]])
        return out[:n]


@dataclass(frozen=True)
class CBDSpec:
    """Carbon-binder domain morphology.

    morphology: "fibres" (capsules anchored on AM surfaces, papers 004/002), "bridges" (necks
    joining neighbouring AM particles and particles to the current collector) or "film" (a
    uniform coating of every AM particle).
    nanoporosity: electrolyte-filled volume fraction inside the CBD phase.
    """

    morphology: str = "bridges"
    nanoporosity: float = 0.5
    fibre_length_um: float = 10.0
    fibre_diameter_um: float = 1.0
    bridge_radius_fraction: float = 0.35

    KEYS = {"morphology", "nanoporosity", "fibre_length_um", "fibre_diameter_um",
            "bridge_radius_fraction"}
    MORPHOLOGIES = ("fibres", "bridges", "film")


@dataclass(frozen=True)
class LayerRecipe:
    name: str
    thickness_fraction: float
    porosity: float
    composition_wt: dict  # active, carbon, binder (wt %, sum 100)
    density_g_cm3: dict  # active, carbon, binder
    psd: tuple[PSDComponent, ...]
    cbd: CBDSpec

    def volume_fractions(self) -> dict:
        """Target phase volume fractions of the label image (AM, CBD phase, pore phase).

        ``porosity`` is the electrode porosity (all electrolyte-filled volume, nanopores of the
        CBD included). The CBD phase occupies its dense volume / (1 - nanoporosity).
        """
        w, rho = self.composition_wt, self.density_g_cm3
        v_am = w["active"] / rho["active"]
        v_cb = w["carbon"] / rho["carbon"] + w["binder"] / rho["binder"]
        solid = 1.0 - self.porosity
        am = solid * v_am / (v_am + v_cb)
        cbd_dense = solid * v_cb / (v_am + v_cb)
        cbd = cbd_dense / (1.0 - self.cbd.nanoporosity)
        return {"am": am, "cbd": cbd, "pore": 1.0 - am - cbd, "cbd_dense": cbd_dense}


@dataclass(frozen=True)
class Recipe:
    seed: int
    size_um: tuple[float, float]
    thickness_um: float
    voxel_size_um: float
    layers: tuple[LayerRecipe, ...]
    max_overlap: float = 0.05
    source: dict = field(default_factory=dict)

    @property
    def box_m(self) -> np.ndarray:
        return np.array([*self.size_um, self.thickness_um]) * 1e-6

    def layer_bounds_m(self) -> list[tuple[float, float]]:
        edges = np.concatenate([[0.0], np.cumsum([ly.thickness_fraction for ly in self.layers])])
        edges = edges / edges[-1] * self.thickness_um * 1e-6
        return [(float(edges[i]), float(edges[i + 1])) for i in range(len(self.layers))]


_TOP_KEYS = {"seed", "box", "electrode", "layer", "name", "description"}
_BOX_KEYS = {"size_um", "thickness_um", "am_loading_mg_cm2", "voxel_size_um", "max_overlap"}
_LAYER_KEYS = {"name", "thickness_fraction", "porosity", "composition_wt", "density_g_cm3",
               "psd", "cbd"}
_DEFAULT_DENSITY = {"active": 4.75, "carbon": 1.9, "binder": 1.78}


def _merge(base: dict, over: dict) -> dict:
    """Layer values over the electrode defaults; tables merge key by key, except ``psd``,
    which a layer replaces whole."""
    out = dict(base)
    for k, v in over.items():
        deep = isinstance(v, dict) and isinstance(out.get(k), dict) and k != "psd"
        out[k] = _merge(out[k], v) if deep else v
    return out


def _parse_psd(raw, where: str) -> tuple[PSDComponent, ...]:
    if raw is None:
        raise RecipeError(f"{where} needs a particle size distribution [psd]")
    comps = raw.get("components") if isinstance(raw, dict) else None
    if comps is None:
        comps = [raw]
    elif set(raw) - {"components"}:
        raise RecipeError(f"{where}.psd: give either 'components' or one distribution, not both")
    out = []
    for i, c in enumerate(comps):
        w = f"{where}.psd" + (f".components[{i}]" if len(comps) > 1 else "")
        _check_keys(c, PSDComponent.KEYS, w)
        kw = dict(c)
        if "diameters_um" in kw:
            d = np.asarray(kw["diameters_um"], float)
            vf = np.asarray(kw.get("volume_fractions", []), float)
            if len(d) == 0 or len(vf) != len(d) or np.any(d <= 0) or np.any(vf < 0) \
                    or vf.sum() <= 0:
                raise RecipeError(f"{w}: diameters_um and volume_fractions must be equal-length "
                                  f"lists of positive diameters and non-negative fractions")
            kw["diameters_um"] = tuple(d.tolist())
            kw["volume_fractions"] = tuple((vf / vf.sum()).tolist())
        else:
            _positive(kw.get("d50_um", 10.0), f"{w}.d50_um")
            if float(kw.get("sigma", 0.25)) < 0:
                raise RecipeError(f"{w}.sigma must be >= 0")
        _positive(kw.get("scale", 1.0), f"{w}.scale")
        comp = PSDComponent(**kw)
        lo, hi = comp.bounds_um()
        if not 0 < lo <= hi:
            raise RecipeError(f"{w}: d_min_um must be positive and below d_max_um")
        out.append(comp)
    mf = np.array([c.mass_fraction for c in out])
    if np.any(mf <= 0) or abs(mf.sum() - 1.0) > 1e-6:
        raise RecipeError(f"{where}.psd: component mass fractions must be positive and sum to 1 "
                          f"(got {mf.sum():.4g})")
    return tuple(out)


def _parse_layer(raw: dict, index: int) -> LayerRecipe:
    where = f"layer[{index}]"
    _check_keys(raw, _LAYER_KEYS, where)
    comp = raw.get("composition_wt")
    if not isinstance(comp, dict):
        raise RecipeError(f"{where} needs composition_wt = {{active, carbon, binder}} in wt %")
    _check_keys(comp, {"active", "carbon", "binder"}, f"{where}.composition_wt")
    comp = {k: float(comp.get(k, 0.0)) for k in ("active", "carbon", "binder")}
    if any(v < 0 for v in comp.values()) or abs(sum(comp.values()) - 100.0) > 1e-6:
        raise RecipeError(f"{where}.composition_wt must be non-negative and sum to 100 wt % "
                          f"(got {sum(comp.values()):.4g})")
    if comp["active"] <= 0:
        raise RecipeError(f"{where}: the active material fraction must be positive")
    dens = dict(_DEFAULT_DENSITY)
    dens.update(raw.get("density_g_cm3", {}))
    _check_keys(dens, {"active", "carbon", "binder"}, f"{where}.density_g_cm3")
    dens = {k: _positive(v, f"{where}.density_g_cm3.{k}") for k, v in dens.items()}
    cbd_raw = raw.get("cbd", {})
    _check_keys(cbd_raw, CBDSpec.KEYS, f"{where}.cbd")
    cbd = CBDSpec(**cbd_raw)
    if cbd.morphology not in CBDSpec.MORPHOLOGIES:
        close = difflib.get_close_matches(cbd.morphology, CBDSpec.MORPHOLOGIES, n=1)
        raise RecipeError(f"{where}.cbd.morphology {cbd.morphology!r} is not one of "
                          f"{CBDSpec.MORPHOLOGIES}" + (f"; did you mean {close[0]!r}?"
                                                       if close else ""))
    if not 0.0 <= cbd.nanoporosity < 1.0:
        raise RecipeError(f"{where}.cbd.nanoporosity must lie in [0, 1)")
    for k in ("fibre_length_um", "fibre_diameter_um", "bridge_radius_fraction"):
        _positive(getattr(cbd, k), f"{where}.cbd.{k}")
    porosity = float(raw.get("porosity", -1))
    if not 0.0 < porosity < 1.0:
        raise RecipeError(f"{where}.porosity must lie in (0, 1), got {raw.get('porosity')!r}")
    layer = LayerRecipe(
        name=str(raw.get("name", f"layer{index}")),
        thickness_fraction=_positive(raw.get("thickness_fraction", 1.0),
                                     f"{where}.thickness_fraction"),
        porosity=porosity, composition_wt=comp, density_g_cm3=dens,
        psd=_parse_psd(raw.get("psd"), where), cbd=cbd)
    vf = layer.volume_fractions()
    if vf["am"] > AM_PACKING_LIMIT:
        raise RecipeError(
            f"{where}: the AM volume fraction {vf['am']:.3f} implied by porosity "
            f"{porosity:.3f} and the composition exceeds the packing limit "
            f"{AM_PACKING_LIMIT} of random spheres; raise the porosity")
    if vf["pore"] < 0.0:
        raise RecipeError(
            f"{where}: the CBD phase ({vf['cbd']:.3f} with nanoporosity {cbd.nanoporosity}) and "
            f"AM ({vf['am']:.3f}) leave no room for pores; raise the porosity or lower the "
            f"CBD nanoporosity")
    return layer


def parse_recipe(data: dict) -> Recipe:
    """Validate a recipe given as a dict (as read from TOML)."""
    if not isinstance(data, dict):
        raise RecipeError("a recipe must be a table")
    _check_keys(data, _TOP_KEYS, "the recipe")
    box = data.get("box")
    if not isinstance(box, dict):
        raise RecipeError("the recipe needs a [box] table with size_um and thickness_um "
                          "(or am_loading_mg_cm2)")
    _check_keys(box, _BOX_KEYS, "[box]")
    size = box.get("size_um")
    if not (isinstance(size, list) and len(size) == 2):
        raise RecipeError("[box].size_um must be [Lx, Ly] in micrometres")
    size = tuple(_positive(s, "[box].size_um") for s in size)
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or seed < 0:
        raise RecipeError(f"seed must be a non-negative integer, got {seed!r}")
    defaults = data.get("electrode", {})
    raw_layers = data.get("layer") or [{}]
    layers = tuple(_parse_layer(_merge(defaults, ly), i) for i, ly in enumerate(raw_layers))
    if ("thickness_um" in box) == ("am_loading_mg_cm2" in box):
        raise RecipeError("[box] needs exactly one of thickness_um or am_loading_mg_cm2")
    fr = np.array([ly.thickness_fraction for ly in layers])
    fr = fr / fr.sum()
    if "thickness_um" in box:
        thickness = _positive(box["thickness_um"], "[box].thickness_um")
    else:
        loading = _positive(box["am_loading_mg_cm2"], "[box].am_loading_mg_cm2")
        # AM mass per area = sum_i L f_i rho_i phi_i; mg/cm2 = 1e-2 kg/m2, g/cm3 = 1e3 kg/m3
        per_m = sum(f * ly.density_g_cm3["active"] * 1e3 * ly.volume_fractions()["am"]
                    for f, ly in zip(fr, layers, strict=True))
        thickness = loading * 1e-2 / per_m * 1e6
    voxel = _positive(box.get("voxel_size_um", 0.5), "[box].voxel_size_um")
    max_overlap = float(box.get("max_overlap", 0.05))
    if not 0.0 <= max_overlap < 0.5:
        raise RecipeError("[box].max_overlap (fraction of the smaller radius) must lie in "
                          "[0, 0.5)")
    recipe = Recipe(seed=seed, size_um=size, thickness_um=thickness, voxel_size_um=voxel,
                    layers=layers, max_overlap=max_overlap, source=data)
    d_max = max(c.bounds_um()[1] for ly in layers for c in ly.psd)
    smallest = min(*size, thickness)
    if d_max >= smallest:
        raise RecipeError(
            f"the largest particle ({d_max:.3g} um, the PSD's upper bound) does not fit in the "
            f"box (smallest side {smallest:.3g} um); enlarge the box or set psd.d_max_um")
    for (z0, z1), ly in zip(recipe.layer_bounds_m(), layers, strict=True):
        if (z1 - z0) * 1e6 < 2 * voxel:
            raise RecipeError(f"layer {ly.name!r} is thinner than two voxels")
    if voxel > 0.25 * min(c.bounds_um()[0] for ly in layers for c in ly.psd):
        raise RecipeError(f"voxel_size_um {voxel} is too coarse to resolve the smallest "
                          f"particles; use at most a quarter of the smallest diameter")
    return recipe


def read_toml(path: str | Path) -> dict:
    """A recipe file's table; a missing file or invalid TOML is a clear error."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no recipe at {path}")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path.name} is not valid TOML: {e}") from None


def load_recipe(path: str | Path) -> Recipe:
    return parse_recipe(read_toml(path))
