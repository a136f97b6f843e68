"""The seeded stochastic electrode generator: recipe -> Microstructure."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable

import numpy as np

from .cbd import CBDPlacementError, film_thickness, place_bridges, place_fibres
from .microstructure import Capsules, Layer, Microstructure, Spheres
from .packing import PackingError, pack_spheres
from .raster import paint_spheres
from .recipe import Recipe, RecipeError
from .voxel import AM, CBD, PORE, VoxelImage

VOLUME_FRACTION_TOLERANCE = 0.01


class GenerationError(RuntimeError):
    """The generator could not meet the recipe."""


def volume_weighted_percentiles(diameters: np.ndarray, q=(10, 50, 90)) -> list[float]:
    """D10/D50/D90 of the volume-weighted distribution."""
    d = np.sort(np.asarray(diameters, float))
    w = np.cumsum(d**3)
    w = w / w[-1]
    return [float(np.interp(p / 100.0, w, d)) for p in q]


def _sample_layer(layer, volume: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Diameters (m) per PSD component, summing to ``volume`` (by mass share)."""
    ds, comp_idx = [], []
    for ci, comp in enumerate(layer.psd):
        target = volume * comp.mass_fraction
        d = np.empty(0)
        while np.sum(np.pi / 6 * d**3) < target:
            d = np.concatenate([d, comp.sample_um(rng, 64) * 1e-6])
        cum = np.cumsum(np.pi / 6 * d**3)
        k = int(np.argmin(np.abs(cum - target)))
        ds.append(d[:k + 1])
        comp_idx.append(np.full(k + 1, ci))
    return np.concatenate(ds), np.concatenate(comp_idx)


def generate(recipe: Recipe, progress: Callable[[str], None] | None = None) -> Microstructure:
    """Generate a microstructure from a validated recipe (see ``load_recipe``).

    Raises GenerationError when the achieved volume fractions miss the targets by more than
    1 % (absolute) in any layer, with the numbers.
    """
    say = progress or (lambda msg: None)
    rng = np.random.default_rng(recipe.seed)
    box = recipe.box_m
    bounds = recipe.layer_bounds_m()
    targets = [ly.volume_fractions() for ly in recipe.layers]
    area = box[0] * box[1]

    diam, lay, comp = [], [], []
    for li, (ly, (z0, z1)) in enumerate(zip(recipe.layers, bounds, strict=True)):
        d, c = _sample_layer(ly, targets[li]["am"] * area * (z1 - z0), rng)
        diam.append(d)
        comp.append(c)
        lay.append(np.full(len(d), li))
    diam, lay, comp = np.concatenate(diam), np.concatenate(lay), np.concatenate(comp)
    # large particles first: they are the hardest to place
    order = np.argsort(-diam, kind="stable")
    diam, lay, comp = diam[order], lay[order], comp[order]

    probe = Microstructure(box=box, particles=Spheres(np.zeros((1, 3)) + box / 2, [1e-9]))
    shape = probe.grid_shape(recipe.voxel_size_um * 1e-6)
    spacing = box / np.array(shape)
    zc = (np.arange(shape[2]) + 0.5) * spacing[2]
    slab_masks = [np.broadcast_to(((zc >= z0) & (zc < z1))[None, None, :], shape)
                  for z0, z1 in bounds]
    periodic = (True, True, False)

    say(f"packing {len(diam)} AM particles")
    init = None
    best = None
    for attempt in range(6):
        radii = diam / 2
        zb = np.array([bounds[k] for k in lay])
        try:
            centres = pack_spheres(radii, zb, box, rng, max_overlap=recipe.max_overlap,
                                   init=init)
        except PackingError as e:
            raise GenerationError(str(e)) from None
        phase = np.zeros(shape, np.uint8)
        paint_spheres(phase, spacing, periodic, centres, radii, AM)
        deficit = [targets[li]["am"] - np.count_nonzero((phase == AM) & m) / np.count_nonzero(m)
                   for li, m in enumerate(slab_masks)]
        worst = max(abs(v) for v in deficit)
        if best is None or worst < best[0]:
            best = (worst, diam, comp, lay, centres, phase)
        if worst < 0.003 or attempt == 5:
            break
        # necks, voxelisation and particles spilling across layer interfaces moved some AM
        # volume: add or remove particles of each layer to make it up, then repack from here
        keep = np.ones(len(diam), bool)
        add_d, add_c, add_l = [], [], []
        for li, dv in enumerate(deficit):
            z0, z1 = bounds[li]
            if dv > 0.002:
                d, c = _sample_layer(recipe.layers[li], dv * area * (z1 - z0), rng)
                add_d.append(d)
                add_c.append(c)
                add_l.append(np.full(len(d), li))
            elif dv < -0.002:
                excess = -dv * area * (z1 - z0)
                idx = rng.permutation(np.flatnonzero(lay == li))
                cum = np.cumsum(np.pi / 6 * diam[idx] ** 3)
                n_drop = int(np.argmin(np.abs(cum - excess))) + 1
                if cum[n_drop - 1] < 2 * excess:
                    keep[idx[:n_drop]] = False
        n_new = sum(len(d) for d in add_d)
        init = np.concatenate([centres[keep], np.full((n_new, 3), np.nan)])
        diam = np.concatenate([diam[keep], *add_d])
        comp = np.concatenate([comp[keep], *add_c])
        lay = np.concatenate([lay[keep], *add_l])
    _, diam, comp, lay, centres, phase = best
    radii = diam / 2

    say("placing the carbon-binder domain")
    caps_p0, caps_p1, caps_r = [], [], []
    film = np.zeros(len(radii))
    try:
        for li, ly in enumerate(recipe.layers):
            mask = slab_masks[li]
            target = int(round(targets[li]["cbd"] * np.count_nonzero(mask)))
            sel = lay == li
            morph = ly.cbd.morphology
            if morph == "fibres":
                out = place_fibres(phase, spacing, box, centres[sel], radii[sel], mask, target,
                                   ly.cbd, rng, bounds[li])
            elif morph == "bridges":
                # bridges reach particles of this layer and those above only: what spills
                # over the interface lands in a slab not filled yet, which counts it
                up = lay >= li
                out = place_bridges(phase, spacing, box, centres[sel], radii[sel], centres[up],
                                    radii[up], mask, target, ly.cbd, rng)
            else:
                t = film_thickness(phase, spacing, centres[sel], radii[sel], mask, target)
                film[sel] = t
                paint_spheres(phase, spacing, periodic, centres[sel], radii[sel] + t, CBD)
                out = (np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0))
            caps_p0.append(out[0])
            caps_p1.append(out[1])
            caps_r.append(out[2])
    except CBDPlacementError as e:
        raise GenerationError(str(e)) from None

    nanopor = {ly.cbd.nanoporosity for ly in recipe.layers}
    if len(nanopor) > 1:
        raise RecipeError("all layers must share one CBD nanoporosity")
    ms = Microstructure(
        box=box, particles=Spheres(centres, radii),
        particle_layers=lay, cbd_film_thickness=film,
        cbd_capsules=Capsules(np.concatenate(caps_p0), np.concatenate(caps_p1),
                              np.concatenate(caps_r)),
        periodic=periodic, cbd_nanoporosity=nanopor.pop(),
        densities_kg_m3={k: v * 1e3 for k, v in recipe.layers[0].density_g_cm3.items()},
        layers=[Layer(ly.name, z0, z1) for ly, (z0, z1) in zip(recipe.layers, bounds,
                                                                 strict=True)],
    )
    report = generation_report(ms, recipe, comp, phase)
    ms.metadata = {
        "generator": "electrode3d.mesostructure.generate",
        "electrode3d_version": _version(),
        "seed": recipe.seed,
        "recipe": recipe.source,
        "report": report,
    }
    worst = max(abs(v["achieved"] - v["target"]) for ly in report["layers"]
                for v in ly["volume_fractions"].values())
    if worst > VOLUME_FRACTION_TOLERANCE:
        raise GenerationError(f"achieved volume fractions miss the targets by {worst:.3f} "
                              f"(> {VOLUME_FRACTION_TOLERANCE}): {report['layers']}")
    say(f"done: {len(radii)} particles, {len(ms.cbd_capsules)} CBD capsules")
    return ms


def generation_report(ms: Microstructure, recipe: Recipe, comp: np.ndarray,
                      phase: np.ndarray | None = None) -> dict:
    """Target vs achieved volume fractions per layer and overall, and the PSD percentiles,
    measured on ``phase`` (the generator's own image at the control voxel size, identical to
    a fresh rasterisation) or on a fresh rasterisation."""
    h = recipe.voxel_size_um * 1e-6
    if phase is None:
        img = ms.rasterize(h)
    else:
        spacing = ms.box / np.array(ms.grid_shape(h))
        img = VoxelImage(phase, spacing, cbd_nanoporosity=ms.cbd_nanoporosity)
    zc = img.z_centres()
    layers = []
    for li, (ly, layer) in enumerate(zip(recipe.layers, ms.layers, strict=True)):
        m = (zc >= layer.z_min) & (zc < layer.z_max)
        sub = img.phase[:, :, m]
        t = ly.volume_fractions()
        frac = {name: float(np.mean(sub == lab)) for name, lab in
                (("am", AM), ("cbd", CBD), ("pore", PORE))}
        vf = {k: {"target": float(t[k]), "achieved": frac[k]} for k in ("am", "cbd", "pore")}
        eps = frac["pore"] + ms.cbd_nanoporosity * frac["cbd"]
        d = 2e6 * ms.particles.radii[ms.particle_layers == li]
        d10, d50, d90 = volume_weighted_percentiles(d)
        layers.append({
            "name": ly.name, "z_min_um": layer.z_min * 1e6, "z_max_um": layer.z_max * 1e6,
            "volume_fractions": vf,
            "porosity": {"target": ly.porosity, "achieved": float(eps)},
            "n_particles": int(len(d)),
            "psd_um": {"D10": d10, "D50": d50, "D90": d90},
            "components": [int(np.sum(comp[ms.particle_layers == li] == c))
                           for c in range(len(ly.psd))],
        })
    return {
        "box_um": (ms.box * 1e6).tolist(),
        "control_voxel_size_um": recipe.voxel_size_um,
        "layers": layers,
        "overall": {"am": img.fraction(AM), "cbd": img.fraction(CBD),
                    "pore": img.fraction(PORE)},
        "n_particles": int(len(ms.particles)),
        "n_cbd_capsules": int(len(ms.cbd_capsules)),
    }


def _version() -> str:
    try:
        return importlib.metadata.version("electrode3d")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
