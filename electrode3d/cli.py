"""The ``electrode3d`` command line: a thin layer over the API.

Logging is configured here only; the library reports progress through callbacks.
"""

from __future__ import annotations

import logging
import time
from importlib import resources
from pathlib import Path

import click

from .parallel import RankFailure, on_rank0, world

log = logging.getLogger("electrode3d")


def _progress(msg: str) -> None:
    log.info(msg)


class _Failure(click.ClickException):
    """A user-facing error: printed without a traceback, exit code 1."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Print progress messages.")
@click.version_option(package_name="electrode3d")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """electrode3d: lithium-ion electrode microstructures, from manufacturing to performance.

    Under mpirun, single-node steps (generate, characterize) run on rank 0 and every rank
    exits with rank 0's outcome."""
    ctx.obj = world()
    rank = ctx.obj.rank if ctx.obj is not None else 0
    logging.basicConfig(level=logging.INFO if verbose and rank == 0 else logging.WARNING,
                        format="%(asctime)s %(message)s", datefmt="%H:%M:%S")


def _run(fn, *args):
    """``fn`` on rank 0 (all of it, when not under MPI); errors on every rank."""
    comm = click.get_current_context().obj
    try:
        return on_rank0(comm, fn, *args)
    except RankFailure as e:
        raise _Failure(str(e)) from None


def default_recipe_path() -> Path:
    return Path(str(resources.files("electrode3d") / "data" / "default_recipe.toml"))


@main.command()
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Structure file to write (HDF5, e.g. structure.h5).")
@click.option("--seed", type=int, default=None, help="Override the recipe's seed.")
def generate(recipe: Path, output: Path, seed: int | None) -> None:
    """Generate a stochastic microstructure from a RECIPE (TOML)."""
    _run(_generate, recipe, output, seed)


def _generate(recipe: Path, output: Path, seed: int | None):
    from mesostructure import GenerationError, RecipeError, generate, load_recipe

    from .provenance import write_info

    t0 = time.perf_counter()
    try:
        rec = load_recipe(recipe)
        if seed is not None:
            import dataclasses

            rec = dataclasses.replace(rec, seed=seed, source={**rec.source, "seed": seed})
        ms = generate(rec, progress=_progress)
    except (RecipeError, GenerationError) as e:
        raise _Failure(f"{recipe}: {e}") from None
    output.parent.mkdir(parents=True, exist_ok=True)
    ms.save(output)
    report = ms.metadata["report"]
    write_info(output.with_suffix(".info.json"), "generate",
               {"recipe": str(recipe), "seed": rec.seed}, t0, report)
    for layer in report["layers"]:
        vf = layer["volume_fractions"]
        click.echo(f"{layer['name']}: {layer['n_particles']} particles, "
                   + ", ".join(f"{k} {v['achieved']:.3f} (target {v['target']:.3f})"
                               for k, v in vf.items())
                   + ", D10/D50/D90 = " + "/".join(f"{layer['psd_um'][k]:.2f}"
                                                   for k in ("D10", "D50", "D90")) + " um")
    click.echo(f"wrote {output}")
    return ms


def _load_source(source: Path, voxel_size: float | None, nanoporosity: float):
    from mesostructure import Microstructure, load_image

    if source.suffix.lower() in (".h5", ".hdf5"):
        try:
            ms = Microstructure.load(source)
        except (ValueError, OSError) as e:
            raise _Failure(str(e)) from None
        return ms, voxel_size or ms.metadata.get("report", {}).get(
            "control_voxel_size_um", 0.5) * 1e-6
    try:
        return load_image(source, voxel_size, nanoporosity), None
    except (ValueError, OSError) as e:
        raise _Failure(str(e)) from None


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for metrics.json, particles.csv, profiles.csv and plots.")
@click.option("--voxel-size", type=float, default=None,
              help="Voxel edge in m (required for .npy/.tif; default for .h5: the generator's).")
@click.option("--directions", default="z", show_default=True,
              help="Transport directions, letters from 'xyz'.")
@click.option("--nanoporosity", type=float, default=0.5, show_default=True,
              help="CBD nanoporosity for images (structures carry their own).")
@click.option("--planes", type=int, default=10, show_default=True,
              help="Planes of the separator-to-plane tortuosity profile.")
@click.option("--no-particles", is_flag=True, help="Skip per-particle features.")
@click.option("--periodic-lateral", is_flag=True,
              help="Periodic instead of sealed lateral faces for transport (paper 001).")
@click.option("--sigma-am", type=float, default=0.005, show_default=True,
              help="AM electronic conductivity, S/m.")
@click.option("--sigma-cbd", type=float, default=15.93, show_default=True,
              help="CBD electronic conductivity, S/m.")
@click.option("--reference", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="A second structure: add its relative phase difference (RPD).")
@click.option("--workers", type=int, default=None, help="Worker processes (default: 2 or less).")
@click.option("--local-shell", type=float, default=1.0, show_default=True,
              help="Thickness of the shell of each particle's local porosity.")
@click.option("--local-shell-unit", type=click.Choice(["radius", "m"]), default="radius",
              show_default=True, help="Unit of --local-shell: the particle's equivalent "
              "radius, or metres.")
def characterize(source: Path, output: Path, voxel_size, directions, nanoporosity, planes,
                 no_particles, periodic_lateral, sigma_am, sigma_cbd, reference, workers,
                 local_shell, local_shell_unit):
    """Characterise SOURCE: a structure (.h5) or a label image (.npy, .tif; 0 pore, 1 AM,
    2 CBD) with --voxel-size."""
    _run(_characterize, source, output, voxel_size, directions, nanoporosity, planes,
         no_particles, periodic_lateral, sigma_am, sigma_cbd, reference, workers, local_shell,
         local_shell_unit)


def _characterize(source, output, voxel_size=None, directions="z", nanoporosity=0.5, planes=10,
                  no_particles=False, periodic_lateral=False, sigma_am=0.005, sigma_cbd=15.93,
                  reference=None, workers=None, local_shell=1.0, local_shell_unit="radius"):
    from mesostructure import CharacterizationOptions, characterize, write_outputs

    from .provenance import write_info

    t0 = time.perf_counter()
    try:
        opts = CharacterizationOptions(directions=directions, per_particle=not no_particles,
                                       n_planes=planes, sigma_am_s_m=sigma_am,
                                       sigma_cbd_s_m=sigma_cbd,
                                       periodic_lateral=periodic_lateral, workers=workers,
                                       local_shell=local_shell,
                                       local_shell_unit=local_shell_unit)
    except ValueError as e:
        raise _Failure(str(e)) from None
    src, vs = _load_source(source, voxel_size, nanoporosity)
    metrics = characterize(src, vs, opts, progress=_progress)
    ref = None
    if reference is not None:
        rsrc, rvs = _load_source(reference, voxel_size, nanoporosity)
        ref = characterize(rsrc, rvs, CharacterizationOptions(per_particle=False,
                                                              media=("pore",), n_planes=2),
                           progress=_progress)
    inputs = {"source": str(source), "voxel_size_m": vs or voxel_size,
              "options": {k: getattr(opts, k) for k in opts.__dataclass_fields__},
              "reference": str(reference) if reference else None}
    write_outputs(metrics, output, inputs, reference=ref)
    write_info(output / "info.json", "characterize", inputs, t0)
    s = metrics.scalars
    click.echo(f"porosity {s['porosity']:.3f}; " + "; ".join(
        f"tau[{k}] {v['tortuosity_factor']:.3f}" for k, v in s["tortuosity"].items()))
    click.echo(f"wrote {output}")
    return metrics


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for mesh.xdmf (mesh, cell and facet tags, CBD fraction) and "
                   "mesh.json (particles, quality report).")
@click.option("--route", type=click.Choice(["spheres", "voxel", "cgal"]), default=None,
              help="spheres: conformal OpenCASCADE mesh of the AM spheres (default for .h5); "
                   "voxel: 6 tetrahedra per voxel (default for images); cgal: graded "
                   "conformal CGAL mesh of the (rasterised) labels, for dense packings.")
@click.option("--size", type=float, default=0.8e-6, show_default=True,
              help="spheres: element size near AM surfaces; cgal: surface size, m.")
@click.option("--bulk-size", type=float, default=3e-6, show_default=True,
              help="spheres: element size far from AM surfaces; cgal: largest cell, m.")
@click.option("--refine", type=float, default=1.0, show_default=True,
              help="spheres, cgal: divide both sizes by this (convergence studies).")
@click.option("--voxel-size", type=float, default=None,
              help="voxel: voxel edge, m (images: required; .h5: default 0.5e-6).")
@click.option("--nanoporosity", type=float, default=0.5, show_default=True,
              help="CBD nanoporosity for images.")
@click.option("--separator", type=float, default=12e-6, show_default=True,
              help="Separator thickness, m.")
@click.option("--perturb-slivers", is_flag=True,
              help="cgal: run CGAL's sliver perturber before the exuder (a few fewer "
                   "slivers, but the mesh then depends on the machine's load; "
                   "docs/meshing.md).")
def mesh(source: Path, output: Path, route, size, bulk_size, refine, voxel_size, nanoporosity,
         separator, perturb_slivers) -> None:
    """Mesh SOURCE (.h5 structure, or .npy/.tif label image) into tagged tetrahedra. Runs under
    mpirun: gmsh on rank 0, the mesh distributed."""
    from mpi4py import MPI

    from meshing import (
        CGALOptions,
        MeshingError,
        SizeOptions,
        build_cgal_mesh,
        build_mesh,
        build_voxel_mesh,
    )

    from .provenance import write_info

    t0 = time.perf_counter()
    comm = MPI.COMM_WORLD
    is_h5 = source.suffix.lower() in (".h5", ".hdf5")
    route = route or ("spheres" if is_h5 else "voxel")
    say = _progress if comm.rank == 0 else None
    try:
        if route == "spheres":
            if not is_h5:
                raise _Failure("the spheres route needs a structure (.h5); use --route voxel")
            ms = comm.bcast(on_rank0(click.get_current_context().obj, _load_structure, source),
                            root=0)
            tm = build_mesh(ms, comm, separator_thickness=separator,
                            size=SizeOptions(size, bulk_size, refine), progress=say)
        elif route == "cgal":
            src = comm.bcast(on_rank0(click.get_current_context().obj, _load_structure, source)
                             if is_h5 else on_rank0(click.get_current_context().obj,
                                                    _load_image, source, voxel_size,
                                                    nanoporosity), root=0)
            tm = build_cgal_mesh(src, comm, separator_thickness=separator,
                                 options=CGALOptions(size, bulk_size, refine=refine,
                                                     perturb_slivers=perturb_slivers),
                                 progress=say)
        else:
            image = comm.bcast(on_rank0(click.get_current_context().obj, _load_image, source,
                                        voxel_size, nanoporosity), root=0)
            tm = build_voxel_mesh(image, comm, separator_thickness=separator, progress=say)
    except (RankFailure, MeshingError, ValueError) as e:
        raise _Failure(str(e)) from None
    tm.save(output)
    if comm.rank == 0:
        r = tm.report
        keys = ("route", "n_cells", "min_dihedral_deg", "max_particle_volume_error",
                "max_particle_interface_area_error", "isolated_particles")
        write_info(output / "info.json", "mesh",
                   {"source": str(source), "route": route, "size_m": size,
                    "bulk_size_m": bulk_size, "refine": refine, "voxel_size_m": voxel_size,
                    "separator_m": separator, "perturb_slivers": perturb_slivers,
                    "ranks": comm.size}, t0,
                   {k: r[k] for k in keys if k in r})
        click.echo(f"{route} route: {r['n_cells']} cells, min dihedral "
                   f"{r['min_dihedral_deg']:.2f} deg, {len(r['isolated_particles'])} isolated "
                   f"particle(s)")
        click.echo(f"wrote {output}")


def _load_structure(path: Path):
    from mesostructure import Microstructure

    return Microstructure.load(path)


def _load_image(path: Path, voxel_size, nanoporosity):
    from mesostructure import Microstructure, load_image

    if path.suffix.lower() in (".h5", ".hdf5"):
        return Microstructure.load(path).rasterize(voxel_size or 0.5e-6)
    return load_image(path, voxel_size, nanoporosity)


@main.command()
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("electrode3d-demo"), show_default=True, help="Report folder.")
def demo(output: Path) -> None:
    """Run the chain on the embedded default electrode, writing a report folder."""
    _run(_demo, output)
    try:
        _demo_mesh(output)
    except Exception as e:  # noqa: BLE001 - the structure and its metrics are kept
        raise _Failure(f"meshing failed ({e}); the structure and its characterisation are in "
                       f"{output}/") from None


def _demo(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    recipe = default_recipe_path()
    (output / "recipe.toml").write_text(recipe.read_text())
    _generate(recipe, output / "structure.h5", None)
    _characterize(output / "structure.h5", output / "characterization")
    click.echo(f"report in {output}/")


def _demo_mesh(output: Path) -> None:
    """The demo's mesh: the voxel route at 1 um (the sphere route cannot yet mesh dense random
    packings, docs/meshing.md)."""
    from mpi4py import MPI

    from meshing import build_voxel_mesh
    from mesostructure import Microstructure

    comm = MPI.COMM_WORLD
    ms = comm.bcast(Microstructure.load(output / "structure.h5") if comm.rank == 0 else None,
                    root=0)
    tm = build_voxel_mesh(ms.rasterize(1e-6), comm, separator_thickness=12e-6,
                          progress=_progress if comm.rank == 0 else None)
    tm.save(output / "mesh")
    if comm.rank == 0:
        click.echo(f"mesh: {tm.report['n_cells']} cells in {output / 'mesh'}/")


# the other command groups register themselves on import
from . import cli_echem, cli_manufacture, cli_study, cli_surrogate  # noqa: E402,F401

if __name__ == "__main__":
    main()
