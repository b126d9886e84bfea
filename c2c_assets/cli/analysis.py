"""``c2c analyse``, ``c2c image-to-text`` and ``c2c report``: clusters, the image-to-text ensemble,
and the encoder comparison."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from c2c_assets.analysis.settings import AnalysisSettings
from c2c_assets.cli import (
    TAGS,
    HomeOption,
    app,
    build,
    console,
    default,
    describe,
    err,
    fail,
    home_paths,
    lake_dates,
    need_embeddings,
)
from c2c_assets.home import C2cHome
from c2c_assets.image_to_text.settings import ImageToTextSettings


def run_analysis(home: C2cHome, encoder: str, settings: AnalysisSettings | None = None, with_map: bool = True):  # -> RunOutcome
    """Materialize reduced, clusters, price_comparables, predicted_categories, cluster_report (and the explorer
    with its PNG map) for one encoder."""
    from c2c_assets.defs.analysis.assets import analyse_encoder, cluster_report, explorer
    from c2c_assets.defs.pricing.assets import predicted_categories, price_comparables
    from c2c_assets.runner import materialize

    settings = settings or AnalysisSettings()
    # The cluster report shows each cluster's prices and flags: the comparables are made in the same run.
    assets = [analyse_encoder, price_comparables, predicted_categories, cluster_report, *([explorer] if with_map else [])]
    config = {"analyse_encoder": settings, **({"explorer": settings} if with_map else {})}
    return materialize(home, assets, partition_key=encoder, config=config, tags=TAGS)


def run_comparison(home: C2cHome):  # -> RunOutcome
    from c2c_assets.defs.analysis.assets import encoder_comparison
    from c2c_assets.runner import materialize

    return materialize(home, [encoder_comparison], tags=TAGS)


def analysed_encoders(home: C2cHome) -> list[str]:
    return sorted(p.parent.name.split("=", 1)[1] for p in home.lake.glob("clusters/encoder=*/part-0.parquet"))


def _analysis(name: str) -> Any:
    return typer.Option(help=describe(AnalysisSettings, name))


@app.command()
def analyse(
    encoder: Annotated[str, typer.Option("--encoder", "-e")] = "default",
    k: Annotated[int, _analysis("k")] = default(AnalysisSettings, "k"),
    width: Annotated[int, _analysis("width")] = default(AnalysisSettings, "width"),
    reduction: Annotated[str, _analysis("reduction")] = default(AnalysisSettings, "reduction"),
    algorithm: Annotated[str, _analysis("algorithm")] = default(AnalysisSettings, "algorithm"),
    incremental: Annotated[bool, typer.Option("--incremental/--no-incremental", help=describe(AnalysisSettings, "incremental"))] = default(AnalysisSettings, "incremental"),
    with_map: Annotated[bool, typer.Option("--map/--no-map", help="Also the explorer and the 2-D map (slow the first time: numba compiles).")] = True,
    home: HomeOption = None,
) -> None:
    """Reduce, cluster, score, report and map one encoder's current vectors."""
    settings = build(AnalysisSettings, k=k, width=width, reduction=reduction, algorithm=algorithm, incremental=incremental)
    paths = home_paths(home)
    need_embeddings(paths, encoder)
    with console.status(f"analysing {encoder}..."):
        outcome = run_analysis(paths, encoder, settings, with_map)
    if not outcome.success:
        fail(outcome.failure or "analysis failed")
    console.print(f"reduced: {outcome.metadata['reduced']['update']}")
    console.print(Markdown(outcome.metadata["clusters"]["metrics"]))
    console.print(f"report: {outcome.metadata['cluster_report']['report']}")
    if "explorer" in outcome.metadata:
        console.print(f"map:      {outcome.metadata['explorer']['png']}")
        console.print(f"explorer: {outcome.metadata['explorer']['explorer']}  (`c2c explore -e {encoder}` serves it)")


def _image_to_text(name: str) -> Any:
    return typer.Option(help=describe(ImageToTextSettings, name))


@app.command("image-to-text")
def image_to_text(
    configuration: Annotated[str, typer.Option("--configuration", "-c", help="offline: EfficientNet-Lite0 -> multilingual-e5-small "
                                               "(real weights here); paper: CLIP vision -> CLIP text (needs CLIP weights).")] = "offline",
    epochs: Annotated[int, _image_to_text("epochs")] = default(ImageToTextSettings, "epochs"),
    photos: Annotated[str, _image_to_text("photos")] = default(ImageToTextSettings, "photos"),
    device: Annotated[str, _image_to_text("device")] = default(ImageToTextSettings, "device"),
    seed: Annotated[int, _image_to_text("seed")] = default(ImageToTextSettings, "seed"),
    tiny: Annotated[bool, typer.Option(hidden=True, help=describe(ImageToTextSettings, "tiny"))] = default(ImageToTextSettings, "tiny"),
    home: HomeOption = None,
) -> None:
    """Train and score the image-to-text ensemble on the ingested posts (materializes image_to_text_models
    and image_to_text_eval). Afterwards `c2c embed` predicts the text vectors of thin-text posts."""
    settings = build(ImageToTextSettings, epochs=epochs, photos=photos, device=device, seed=seed, tiny=tiny)
    from c2c_assets.defs.image_to_text.assets import configurations
    from c2c_assets.defs.image_to_text.assets import image_to_text as image_to_text_asset
    from c2c_assets.runner import materialize

    if configuration not in configurations.get_partition_keys():
        fail(f"unknown configuration {configuration!r}; known: {', '.join(configurations.get_partition_keys())}")
    paths = home_paths(home)
    if not lake_dates(paths):
        fail("no ingested posts yet: run `c2c ingest` first")

    with err.status(f"training image-to-text [{configuration}] (model A for up to {settings.epochs} epochs)..."):
        outcome = materialize(
            paths, [image_to_text_asset], partition_key=configuration, config={"image_to_text": settings}, tags=TAGS,
            log_level="INFO",  # per-epoch progress, not Dagster's step events
        )
    if not outcome.success:
        fail(outcome.failure or "image_to_text failed")
    console.print(Markdown(outcome.metadata["image_to_text_eval"]["mean_cosine"]))
    console.print(f"checkpoint: {outcome.metadata['image_to_text_models']['checkpoint']}")


@app.command()
def report(home: HomeOption = None) -> None:
    """Compare every analysed encoder on the posts they share (materializes encoder_comparison), and print
    the image-to-text scores (`c2c image-to-text`)."""
    paths = home_paths(home)
    evals = sorted(paths.lake.glob("image_to_text_eval/configuration=*/part-0.parquet"))
    if not evals and not analysed_encoders(paths):
        fail("no clusters yet: run `c2c analyse -e NAME` first (or `c2c image-to-text` for its scores)")
    if analysed_encoders(paths):
        with console.status("comparing encoders..."):
            outcome = run_comparison(paths)
        if outcome.success:
            metadata = outcome.metadata["encoder_comparison"]
            console.print("[bold]Encoders on shared posts[/]")
            console.print(Markdown(metadata["comparison"]))
            console.print("\n[bold]Width sweep[/]")
            console.print(Markdown(metadata["width_sweep"]))
            console.print(f"\nHTML: {metadata['report']}")
        elif not evals:
            fail(outcome.failure or "encoder_comparison failed")
        else:
            err.print(Text.assemble(("no encoder comparison:", "yellow"), " ", outcome.failure or "encoder_comparison failed"))
    if evals:
        from c2c_assets.storage import read_table

        table = Table("configuration", "model", "mean cosine", "", title="Image-to-text: predicted vs true text embedding (test split)")
        for path in evals:
            for row in read_table(path).to_pylist():
                table.add_row(row["configuration"], row["model"], f"{row['mean_cosine']:.4f}", row["description"])
        console.print(table)
