"""``electrode3d surrogate``: build per-particle SOD datasets, train and apply surrogates."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from .cli import _Failure, main


@main.group()
def surrogate():
    """Per-particle state-of-discharge surrogates (paper 004)."""


@surrogate.command("dataset")
@click.argument("runs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Dataset CSV (an info.json is written beside it as <name>.info.json).")
@click.option("--voxel-size-um", type=float, default=1.0, show_default=True,
              help="Voxel size for the structure features.")
@click.option("--discharge", default="discharge", show_default=True,
              help="Sub-folder of each run with particles.csv.")
def dataset_cmd(runs, output, voxel_size_um, discharge):
    """Build DATASET from `electrode3d run` folders (one electrode each)."""
    from electrode3d.provenance import write_info
    from surrogates.dataset import (
        FEATURE_OPTIONS,
        FEATURES,
        Dataset,
        DatasetError,
        build_from_pipeline,
        discharge_facts,
    )

    t0 = time.perf_counter()
    parts, facts = [], {}
    for r in runs:
        click.echo(f"features of {r}", err=True)
        try:
            parts.append(build_from_pipeline(r, voxel_size_um * 1e-6, discharge))
            f = facts[r.name] = discharge_facts(r / discharge)
        except DatasetError as e:
            raise _Failure(str(e)) from None
        click.echo(f"  {f['c_rate']:.3g}C ({f['current_density_mA_cm2']:.4g} mA/cm2), "
                   f"{f['stop_reason']} at DoD {f['end_dod']:.3f} (the rows at DoD 1.0)",
                   err=True)
        if f["stop_reason"] != "cutoff":
            click.echo(f"warning: {r}: the discharge stopped before the cut-off "
                       f"({f['stop_reason']})", err=True)
        if f["max_stoichiometry"] > 1.0:
            click.echo(f"warning: {r}: a node's stoichiometry passed 1 (up to "
                       f"{f['max_stoichiometry']:.4f}): its SODs count lithium beyond "
                       "capacity; the vertex rule ([model] lumped = true) avoids it", err=True)
    data = Dataset.concat(parts)
    data.write(output)
    write_info(output.with_suffix(".info.json"), "electrode3d surrogate dataset",
               {"runs": [str(r) for r in runs], "voxel_size_um": voxel_size_um,
                "discharge": discharge, "features": list(FEATURES),
                "feature_options": FEATURE_OPTIONS, "discharges": facts}, t0,
               {"rows": len(data), "cut_by_box_rows": int(data.columns["cut_by_box"].sum())})
    click.echo(f"{len(data)} rows from {len(runs)} electrode(s) -> {output}")


@surrogate.command()
@click.argument("dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--kind", type=click.Choice(["random_forest", "gradient_boosting"]),
              default="random_forest", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--include-cut", is_flag=True, help="Keep particles cut by the box faces.")
@click.option("--shap/--no-shap", "do_shap", default=True, show_default=True,
              help="Write tree-SHAP summary and dependence plots.")
def train(dataset, output, kind, seed, include_cut, do_shap):
    """Grouped cross-validation, then train on all of DATASET and save to OUTPUT."""
    from surrogates.dataset import Dataset, DatasetError
    from surrogates.models import Surrogate, cross_validate

    try:
        data = Dataset.read(dataset)
    except DatasetError as e:
        raise _Failure(str(e)) from None
    if not include_cut:
        data = data.without_cut()
    cv = None
    if len(set(data.groups().tolist())) >= 2:
        cv = cross_validate(data, kind, seed)
        click.echo(f"grouped CV ({len(cv.folds)} folds): MAE {cv.overall.mae:.4f}, "
                   f"MRE {100 * cv.overall.mean_relative_error:.1f} % "
                   f"(baselines MAE: mean {cv.overall_baseline.mae:.4f}, "
                   f"per-DoD mean {cv.overall_dod_baseline.mae:.4f})")
    model = Surrogate.train(data, kind, seed, {"dataset": str(dataset.resolve()),
                                                "include_cut": include_cut,
                                                "cv": cv.to_json() if cv else None})
    model.save(output)
    if do_shap:
        from surrogates.explain import shap_values, write_plots

        write_plots(shap_values(model, data), output / "shap")
    click.echo(f"model -> {output}")


@surrogate.command()
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--voxel-size-um", type=float, default=1.0, show_default=True)
@click.option("--dod", default="0.25,0.5,0.75,1.0", show_default=True,
              help="Depths of discharge to predict at.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV of predictions (default RUN/sod_predicted.csv).")
def predict(model_dir, run, voxel_size_um, dod, output):
    """Predict every particle's SOD for the electrode in RUN (needs only structure.h5)."""
    from mesostructure import Microstructure
    from surrogates.dataset import DatasetError, rows_for_prediction, structure_particle_table
    from surrogates.models import SchemaError, Surrogate

    try:
        model = Surrogate.load(model_dir)
        dods = [float(v) for v in dod.split(",") if v.strip()]
    except (SchemaError, FileNotFoundError, ValueError) as e:
        raise _Failure(str(e)) from None
    if not (run / "structure.h5").is_file():
        raise _Failure(f"{run} has no structure.h5")
    table, thick = structure_particle_table(Microstructure.load(run / "structure.h5"),
                                            voxel_size_um * 1e-6)
    try:
        data = rows_for_prediction(run.name, table, thick, dods)
    except DatasetError as e:
        raise _Failure(str(e)) from None
    t0 = time.perf_counter()
    pred = model.predict(data)
    dt = time.perf_counter() - t0
    data.columns["sod"] = pred
    out = output or run / "sod_predicted.csv"
    data.write(out)
    click.echo(json.dumps({"rows": len(data), "predict_s": dt, "output": str(out)}))
