"""``c2c embed``, ``c2c encoders list|add`` and ``c2c backfill``: encoders and their embeddings."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

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
    known_encoder,
    lake_dates,
    parse_date,
    report_failures,
)
from c2c_assets.encoders.base import RuntimeSettings
from c2c_assets.home import C2cHome

encoders_app = typer.Typer(help="List and register encoders (the `encoders` partition dimension).", no_args_is_help=True)
app.add_typer(encoders_app, name="encoders")


@encoders_app.command("list")
def encoders_list(
    home: HomeOption = None, as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False
) -> None:
    """Built-in and registered encoder configs, and which are partitions of the Dagster instance."""
    from c2c_assets.encoders import encoder_configs
    from c2c_assets.runner import dagster_instance

    paths = home_paths(home)
    registered = set(dagster_instance(paths).get_dynamic_partitions("encoders"))
    configs = encoder_configs(paths.root)
    if as_json:
        rows = [{"name": n, "family": c.family, "options": c.options, "partition": n in registered} for n, c in sorted(configs.items())]
        print(json.dumps(rows, indent=2))
        return
    table = Table("name", "family", "options", "partition", "description")
    table.columns[0].no_wrap = True
    for name, config in sorted(configs.items()):
        options = ", ".join(f"{k}={v}" for k, v in sorted(config.options.items()))
        table.add_row(name, config.family, options, "yes" if name in registered else "", config.description)
    console.print(table)


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            fail(f"--option takes KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


@encoders_app.command("add")
def encoders_add(
    name: Annotated[str, typer.Argument(help="Partition key for the new encoder, e.g. clip-l14.")],
    family: Annotated[str | None, typer.Option(help="default, vit, clip, imagebind or openflamingo (not needed for a built-in name).")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="KEY=VALUE (JSON values), repeatable.")] = None,
    home: HomeOption = None,
) -> None:
    """Register an encoder: save its config (unless built in) and add its `encoders` partition."""
    from c2c_assets.encoders import BUILTIN, EncoderConfig, EncoderError, save_config
    from c2c_assets.runner import dagster_instance, register_encoder

    paths = home_paths(home)
    if name not in BUILTIN:
        if family is None:
            fail(f"{name!r} is not a built-in encoder: give --family (and --option KEY=VALUE as needed)")
        try:
            save_config(EncoderConfig(name, family, _parse_options(option or [])), paths.root)
        except EncoderError as error:
            fail(str(error))
    register_encoder(dagster_instance(paths), name)
    console.print(f"encoder {name!r} registered; embed its dates with: c2c embed --encoder {name}")


@app.command()
def backfill(
    encoder: Annotated[str, typer.Option("--encoder", "-e", help="Encoder to embed every ingested date with.")],
    home: HomeOption = None,
) -> None:
    """Launch a Dagster backfill of post_embeddings over every ingested date for an encoder (run by the daemon)."""
    paths = home_paths(home)
    known_encoder(paths, encoder)
    from c2c_assets.backfill import ingested_dates, launch_encoder_backfill
    from c2c_assets.definitions import defs
    from c2c_assets.runner import dagster_instance

    instance = dagster_instance(paths)
    if not ingested_dates(instance):
        fail("no ingested date to backfill: run `c2c ingest` first")
    backfill_id, keys = launch_encoder_backfill(instance, defs(), encoder)
    console.print(f"backfill {backfill_id}: post_embeddings for {len(keys)} dates with {encoder!r}")
    console.print("the Dagster daemon runs it (`make dev` starts one); follow it in the UI under Overview > Backfills")


def run_embed(home: C2cHome, encoder: str, dates: list[date], config: dict[str, Any] | None = None) -> dict[str, str]:
    """Materialize post_embeddings (+ its check) for ``dates`` in-process, consecutive dates in one run
    each (``c2c_assets.batches``: the model loads once per run), with a progress bar; returns the failed
    dates' failures."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from c2c_assets.batches import embed_dates
    from c2c_assets.progress import listen
    from c2c_assets.runner import dagster_instance

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def update(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(task, total=total)
            bar.update(tasks[task], completed=done, total=total)

        with listen(update):
            runs = embed_dates(home, encoder, dates, instance=dagster_instance(home),
                               config={"post_embeddings": config or {}}, tags=TAGS)
    for day, meta in runs.of("post_embeddings").items():
        console.print(
            f"{encoder} {day}: {meta['embedded']} embedded, {meta['carried_over']} unchanged, "
            f"{meta['not_embeddable']} not embeddable ({meta['posts_per_second']} posts/s)"
            + (f"; {meta['text_predicted']} with text predicted from photos" if meta["text_predicted"] else "")
        )
    return runs.failures


def _runtime(name: str) -> Any:
    return typer.Option(help=describe(RuntimeSettings, name))


@app.command()
def embed(
    encoder: Annotated[str, typer.Option("--encoder", "-e", help="Encoder name (see `c2c encoders list`).")] = "default",
    day: Annotated[str | None, typer.Option("--date", help="Only this scrape date (YYYY-MM-DD); default: every ingested date.")] = None,
    device: Annotated[str, _runtime("device")] = default(RuntimeSettings, "device"),
    batch_size: Annotated[int, _runtime("batch_size")] = default(RuntimeSettings, "batch_size"),
    precision: Annotated[str, _runtime("precision")] = default(RuntimeSettings, "precision"),
    num_workers: Annotated[int, _runtime("num_workers")] = default(RuntimeSettings, "num_workers"),
    predict_thin_text: Annotated[bool, typer.Option(
        help="Posts with photos but under 20 characters of text get a text vector predicted from their photos, "
        "when `c2c image-to-text` has trained a model for this encoder's text space.")] = True,
    home: HomeOption = None,
) -> None:
    """Embed ingested posts with an encoder through the post_embeddings asset (incremental)."""
    runtime = build(RuntimeSettings, device=device, batch_size=batch_size, precision=precision, num_workers=num_workers)
    wanted = parse_date(day)
    paths = home_paths(home)
    known_encoder(paths, encoder)
    available = lake_dates(paths)
    dates = [wanted] if wanted else available
    missing = [d for d in dates if d not in available]
    if missing or not dates:
        fail(f"no ingested posts for {', '.join(map(str, missing)) or 'any date'} yet: run `c2c ingest` first")
    config = {**runtime.model_dump(exclude_defaults=True), **({} if predict_thin_text else {"predict_thin_text": False})}
    report_failures(run_embed(paths, encoder, dates, config))
