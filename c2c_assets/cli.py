"""``c2c``: the command line over the same Dagster assets the UI runs.

Heavy imports (dagster, pyarrow, Pillow) happen inside the commands so that ``c2c --help``
answers at once.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from c2c_assets.home import C2cHome

app = typer.Typer(
    help="c2c_assets: ingest, embed, cluster and search C2C car-parts marketplace posts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

HomeOption = Annotated[Optional[Path], typer.Option("--home", help="Data root (default: $C2C_HOME, else ./.c2c).")]
InboxOption = Annotated[
    Optional[Path], typer.Option("--inbox", help="Inbox of scraped dumps (default: $C2C_INBOX, else <home>/inbox).")
]

_MINIMAL_INSTANCE = "telemetry:\n  enabled: false\n"


def _home(home: Path | None) -> C2cHome:
    resolved = C2cHome.from_env(home).ensure()
    os.environ["C2C_HOME"] = str(resolved.root)  # runs launched from here see the same root
    return resolved


def _inbox(home: C2cHome, inbox: Path | None) -> Path:
    chosen = inbox or (Path(os.environ["C2C_INBOX"]) if os.environ.get("C2C_INBOX") else None)
    return chosen.expanduser().resolve() if chosen else home.inbox


def dagster_instance(home: C2cHome) -> Any:
    """The persistent instance under ``$DAGSTER_HOME`` (default ``<home>/dagster``), so CLI runs show in the UI."""
    from dagster import DagsterInstance

    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(home.dagster_home)))
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        project_config = Path(__file__).resolve().parents[1] / "dagster.yaml"
        if project_config.exists():
            shutil.copyfile(project_config, config)
        else:
            config.write_text(_MINIMAL_INSTANCE)
    return DagsterInstance.get()


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


@app.command()
def sample(
    home: HomeOption = None,
    inbox: InboxOption = None,
    posts: Annotated[int, typer.Option(help="Number of synthetic listings.")] = 3000,
    days: Annotated[int, typer.Option(help="Number of scrape dates.")] = 3,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed writes the same bytes.")] = 7,
    clean: Annotated[bool, typer.Option("--clean", help="Delete the inbox first.")] = False,
) -> None:
    """Write a deterministic synthetic inbox (both sources, known categories, some bad input)."""
    from c2c_assets.sample import generate_sample

    paths = _home(home)
    target = _inbox(paths, inbox)
    if clean and target.exists():
        shutil.rmtree(target)
    summary = generate_sample(target, n_posts=posts, n_days=days, seed=seed)
    console.print(
        f"wrote {summary.n_posts} listings in {len(summary.dumps)} dumps ({summary.n_images} photo references) to {target}"
    )
    console.print(f"known categories: {summary.labels_path}")


def _summary_table(summaries: list[dict[str, Any]]) -> Table:
    table = Table(title="ingest", show_lines=False)
    table.add_column("dump", no_wrap=True)
    for column in ("lines", "accepted", "quarantined", "images ok", "images rejected"):
        table.add_column(column, justify="right")
    for day in summaries:
        for dump in day["dumps"]:
            table.add_row(
                dump["dump"],
                str(dump["lines"]),
                str(dump["accepted"]),
                str(sum(dump["quarantined"].values())),
                str(dump["images_ok"]),
                str(sum(dump["images_rejected"].values())),
            )
    return table


def _reason_table(title: str, counts: Counter[str]) -> Table:
    table = Table(title=title)
    table.add_column("reason")
    table.add_column("count", justify="right")
    for reason, count in counts.most_common():
        table.add_row(reason, str(count))
    return table


def run_ingest(home: C2cHome, inbox: Path, dates: list[date], allow_private_networks: bool = False) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Materialize the ingest assets (and their checks) for each date in-process.

    Returns the per-date summaries and, for failed dates, the error message. A failed date does
    not stop the others.
    """
    import dagster as dg

    from c2c_assets.defs.ingest import checks
    from c2c_assets.defs.ingest.assets import ingest_dumps
    from c2c_assets.defs.resources import C2cResource

    instance = dagster_instance(home)
    resource = C2cResource(home=str(home.root), inbox=str(inbox), allow_private_networks=allow_private_networks)
    check_defs = [checks.lines_accounted_for, checks.post_id_unique, checks.one_row_per_image_reference]
    summaries, failures = [], {}
    for day in dates:
        key = day.isoformat()
        with console.status(f"ingesting {key}..."):
            result = dg.materialize(
                [ingest_dumps, *check_defs],
                partition_key=key,
                resources={"c2c": resource},
                instance=instance,
                raise_on_error=False,
                tags={"c2c/launched_by": "cli"},
                # The run's own console logger would print every Dagster event; the summary follows instead.
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
        if not result.success:
            failures[key] = _failure_message(result)
            continue
        for event in result.get_asset_materialization_events():
            metadata = event.materialization.metadata
            if "summary" in metadata:
                summaries.append(metadata["summary"].value)
        for evaluation in result.get_asset_check_evaluations():
            if not evaluation.passed:
                failures[key] = f"check {evaluation.check_name} failed"
    return summaries, failures


def _failure_message(result: Any) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            while error.cause is not None and error.message.startswith("Error occurred while executing"):
                error = error.cause
            return error.message.strip().splitlines()[-1] if error.message else "step failed"
    return "run failed"


@app.command()
def ingest(
    home: HomeOption = None,
    inbox: InboxOption = None,
    day: Annotated[Optional[str], typer.Option("--date", help="Only this scrape date (YYYY-MM-DD).")] = None,
    allow_private_networks: Annotated[
        bool, typer.Option(help="Let the image fetcher reach loopback and private addresses (off: URLs are untrusted).")
    ] = False,
) -> None:
    """Ingest every dump in the inbox (or one date) through the Dagster assets, and summarize."""
    from c2c_assets.ingest.dumps import find_dumps

    paths = _home(home)
    source = _inbox(paths, inbox)
    if not source.is_dir():
        raise _fail(f"inbox {source} does not exist (write one with `c2c sample`)")
    try:
        wanted = date.fromisoformat(day) if day else None
    except ValueError:
        raise _fail(f"--date should be YYYY-MM-DD, got {day!r}") from None
    dates = sorted({d.scrape_date for d in find_dumps(source, wanted)})
    if not dates:
        raise _fail(f"no dump found under {source}" + (f" for {day}" if day else "") + " (<source>/<date>/posts.jsonl[.gz])")
    summaries, failures = run_ingest(paths, source, dates, allow_private_networks)
    if summaries:
        console.print(_summary_table(summaries))
        quarantined: Counter[str] = Counter()
        rejected: Counter[str] = Counter()
        for summary in summaries:
            for dump in summary["dumps"]:
                quarantined.update(dump["quarantined"])
                rejected.update(dump["images_rejected"])
        if quarantined:
            console.print(_reason_table("quarantined lines by reason", quarantined))
        if rejected:
            console.print(_reason_table("rejected images by reason", rejected))
        console.print(f"warehouse: {paths.warehouse}  (try: c2c sql \"SELECT source, count(*) FROM posts GROUP BY 1\")")
    for key, message in failures.items():
        err.print(f"[bold red]{key} failed:[/] {message}")
    if failures:
        raise typer.Exit(code=1)


encoders_app = typer.Typer(help="List and register encoders (the `encoders` partition dimension).", no_args_is_help=True)
app.add_typer(encoders_app, name="encoders")


@encoders_app.command("list")
def encoders_list(
    home: HomeOption = None, as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False
) -> None:
    """Built-in and registered encoder configs, and which are partitions of the Dagster instance."""
    from c2c_assets.encoders import encoder_configs

    paths = _home(home)
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
            raise _fail(f"--option takes KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


@encoders_app.command("add")
def encoders_add(
    name: Annotated[str, typer.Argument(help="Partition key for the new encoder, e.g. clip-l14.")],
    family: Annotated[Optional[str], typer.Option(help="default, vit, clip, imagebind or openflamingo (not needed for a built-in name).")] = None,
    option: Annotated[Optional[list[str]], typer.Option("--option", "-o", help="KEY=VALUE (JSON values), repeatable.")] = None,
    home: HomeOption = None,
) -> None:
    """Register an encoder: save its config (unless built in) and add its `encoders` partition."""
    from c2c_assets.encoders import BUILTIN, EncoderConfig, EncoderError, save_config

    paths = _home(home)
    if name not in BUILTIN:
        if family is None:
            raise _fail(f"{name!r} is not a built-in encoder: give --family (and --option KEY=VALUE as needed)")
        try:
            save_config(EncoderConfig(name, family, _parse_options(option or [])), paths.root)
        except EncoderError as error:
            raise _fail(str(error)) from None
    instance = dagster_instance(paths)
    if not instance.has_dynamic_partition("encoders", name):
        instance.add_dynamic_partitions("encoders", [name])
    console.print(f"encoder {name!r} registered; embed its dates with: c2c embed --encoder {name}")


@app.command()
def backfill(
    encoder: Annotated[str, typer.Option("--encoder", "-e", help="Encoder to embed every ingested date with.")],
    home: HomeOption = None,
) -> None:
    """Launch a Dagster backfill of post_embeddings over every ingested date for an encoder (run by the daemon)."""
    from c2c_assets.backfill import launch_encoder_backfill
    from c2c_assets.definitions import defs
    from c2c_assets.encoders import encoder_configs

    paths = _home(home)
    if encoder not in encoder_configs(paths.root):
        raise _fail(f"unknown encoder {encoder!r}: register it first with `c2c encoders add {encoder} --family ...`")
    try:
        backfill_id, keys = launch_encoder_backfill(dagster_instance(paths), defs(), encoder)
    except ValueError as error:
        raise _fail(str(error)) from None
    console.print(f"backfill {backfill_id}: post_embeddings for {len(keys)} dates with {encoder!r}")
    console.print("the Dagster daemon runs it (`make dev` starts one); follow it in the UI under Overview > Backfills")


def _lake_dates(paths: C2cHome) -> list[date]:
    return sorted(date.fromisoformat(p.parent.name.split("=", 1)[1]) for p in paths.lake.glob("posts/date=*/part-0.parquet"))


def run_embed(paths: C2cHome, encoder: str, dates: list[date], settings: dict[str, Any]) -> dict[str, str]:
    """Materialize post_embeddings (+ its check) for each date in-process, with a progress bar."""
    import dagster as dg
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from c2c_assets.defs.embeddings.assets import post_embeddings
    from c2c_assets.defs.embeddings.checks import vectors_valid
    from c2c_assets.defs.resources import C2cResource
    from c2c_assets.progress import listen

    instance = dagster_instance(paths)
    if not instance.has_dynamic_partition("encoders", encoder):
        instance.add_dynamic_partitions("encoders", [encoder])
    failures: dict[str, str] = {}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def update(task: str, done: int, total: int) -> None:
            if task not in tasks:
                tasks[task] = bar.add_task(task, total=total)
            bar.update(tasks[task], completed=done, total=total)

        with listen(update):
            for day in dates:
                key = dg.MultiPartitionKey({"date": day.isoformat(), "encoder": encoder})
                result = dg.materialize(
                    [post_embeddings, vectors_valid],
                    partition_key=key,
                    resources={"c2c": C2cResource(home=str(paths.root))},
                    instance=instance,
                    raise_on_error=False,
                    tags={"c2c/launched_by": "cli"},
                    run_config={
                        "ops": {"post_embeddings": {"config": settings}},
                        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                    },
                )
                if not result.success:
                    failures[day.isoformat()] = _failure_message(result)
                    continue
                for event in result.get_asset_materialization_events():
                    meta = event.materialization.metadata
                    console.print(
                        f"{encoder} {day}: {meta['embedded'].value} embedded, {meta['carried_over'].value} unchanged, "
                        f"{meta['not_embeddable'].value} not embeddable ({meta['posts_per_second'].value} posts/s)"
                        + (f"; {meta['text_predicted'].value} with text predicted from photos" if meta["text_predicted"].value else "")
                    )
                for evaluation in result.get_asset_check_evaluations():
                    if not evaluation.passed:
                        failures[day.isoformat()] = f"check {evaluation.check_name} failed"
    return failures


@app.command()
def embed(
    encoder: Annotated[str, typer.Option("--encoder", "-e", help="Encoder name (see `c2c encoders list`).")] = "default",
    day: Annotated[Optional[str], typer.Option("--date", help="Only this scrape date (YYYY-MM-DD); default: every ingested date.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    batch_size: Annotated[int, typer.Option(help="Photos/texts per model call.")] = 32,
    precision: Annotated[str, typer.Option(help="auto, fp32, fp16 or bf16 (the last two on CUDA).")] = "auto",
    predict_thin_text: Annotated[bool, typer.Option(
        help="Posts with photos but under 20 characters of text get a text vector predicted from their photos, "
        "when `c2c image-to-text` has trained a model for this encoder's text space.")] = True,
    home: HomeOption = None,
) -> None:
    """Embed ingested posts with an encoder through the post_embeddings asset (incremental)."""
    from c2c_assets.encoders import encoder_configs

    paths = _home(home)
    if encoder not in encoder_configs(paths.root):
        raise _fail(f"unknown encoder {encoder!r}; see `c2c encoders list`")
    available = _lake_dates(paths)
    try:
        dates = [date.fromisoformat(day)] if day else available
    except ValueError:
        raise _fail(f"--date should be YYYY-MM-DD, got {day!r}") from None
    missing = [d for d in dates if d not in available]
    if missing or not dates:
        raise _fail(f"no ingested posts for {', '.join(map(str, missing)) or 'any date'}: run `c2c ingest` first")
    settings = {"device": device, "batch_size": batch_size, "precision": precision, "predict_thin_text": predict_thin_text}
    failures = run_embed(paths, encoder, dates, settings)
    for key, message in failures.items():
        err.print(f"[bold red]{key} failed:[/] {message}")
    if failures:
        raise typer.Exit(code=1)


@app.command()
def index(
    encoder: Annotated[str, typer.Option("--encoder", "-e", help="Encoder whose current vectors to index.")] = "default",
    memory_budget_gb: Annotated[float, typer.Option(help="Above it, IVF-PQ with re-ranking replaces HNSW.")] = 8.0,
    home: HomeOption = None,
) -> None:
    """Build (replace) the FAISS indexes of an encoder through the faiss_index asset."""
    paths = _home(home)
    try:
        with console.status(f"building {encoder} indexes..."):
            table = run_index(paths, encoder, memory_budget_gb)
    except RuntimeError as error:
        raise _fail(str(error)) from None
    console.print(Markdown(table))


def run_index(paths: C2cHome, encoder: str, memory_budget_gb: float = 8.0) -> str:
    """Materialize faiss_index for one encoder; returns its Markdown summary, raises RuntimeError on failure."""
    import dagster as dg

    from c2c_assets.defs.resources import C2cResource
    from c2c_assets.defs.search.assets import faiss_index

    instance = dagster_instance(paths)
    if not instance.has_dynamic_partition("encoders", encoder):
        raise RuntimeError(f"encoder {encoder!r} has no embeddings yet: run `c2c embed --encoder {encoder}` first")
    result = dg.materialize(
        [faiss_index],
        partition_key=encoder,
        resources={"c2c": C2cResource(home=str(paths.root))},
        instance=instance,
        raise_on_error=False,
        run_config={
            "ops": {"faiss_index": {"config": {"memory_budget_gb": memory_budget_gb}}},
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
        },
    )
    if not result.success:
        raise RuntimeError(_failure_message(result))
    [event] = result.get_asset_materialization_events()
    return event.materialization.metadata["indexes"].value


@app.command()
def search(
    query: Annotated[Optional[str], typer.Argument(help="Text query, e.g. \"headlight assembly\".")] = None,
    encoder: Annotated[str, typer.Option("--encoder", "-e")] = "default",
    k: Annotated[int, typer.Option("-k", help="Number of results.")] = 10,
    image: Annotated[Optional[Path], typer.Option("--image", help="Search by photo.")] = None,
    audio: Annotated[Optional[Path], typer.Option("--audio", help="Search by sound (imagebind).")] = None,
    like: Annotated[Optional[str], typer.Option("--like", help="Posts like this post_id.")] = None,
    source: Annotated[Optional[str], typer.Option(help="Only this marketplace.")] = None,
    min_price: Annotated[Optional[float], typer.Option(help="Minimum price, USD.")] = None,
    max_price: Annotated[Optional[float], typer.Option(help="Maximum price, USD.")] = None,
    since: Annotated[Optional[str], typer.Option(help="Only posts scraped on or after YYYY-MM-DD.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write an HTML gallery with thumbnails here.")] = None,
    home: HomeOption = None,
) -> None:
    """Search posts by text, photo, sound or example post, with filters."""
    from c2c_assets.search.service import Filters, SearchError
    from c2c_assets.search.service import search as run_search

    paths = C2cHome.from_env(home)
    try:
        filters = Filters(source, min_price, max_price, date.fromisoformat(since) if since else None)
    except ValueError:
        raise _fail(f"--since should be YYYY-MM-DD, got {since!r}") from None
    try:
        hits = run_search(paths, encoder, k, filters, text=query, image=image, audio=audio, like=like)
    except SearchError as error:
        raise _fail(str(error)) from None
    if html is not None:
        from c2c_assets.search.gallery import write_gallery

        write_gallery(html, paths, hits, title=query or str(image or audio or like))
    if as_json:
        print(json.dumps([hit.as_dict() for hit in hits], indent=2))
        return
    table = Table("score", "post_id", "title", "price", "source", title=f"{len(hits)} results ({encoder})")
    for hit in hits:
        price = "" if hit.price_usd is None else f"${hit.price_usd:,.0f}"
        title = escape(hit.title) + (" [dim](text predicted from photos)[/]" if hit.text_predicted else "")
        table.add_row(f"{hit.score:.3f}", hit.post_id, title, price, hit.source)
    console.print(table)


def run_analysis(paths: C2cHome, encoder: str, settings: dict[str, Any], with_map: bool = True) -> dict[str, Any]:
    """Materialize reduced, clusters, cluster_report (and umap_map) for one encoder; returns their metadata."""
    import dagster as dg

    from c2c_assets.defs.analysis.assets import analyse_encoder, cluster_report, umap_map
    from c2c_assets.defs.resources import C2cResource

    instance = dagster_instance(paths)
    if not instance.has_dynamic_partition("encoders", encoder):
        raise RuntimeError(f"encoder {encoder!r} has no embeddings yet: run `c2c embed --encoder {encoder}` first")
    assets = [analyse_encoder, cluster_report, *([umap_map] if with_map else [])]
    ops = {"analyse_encoder": {"config": settings}, **({"umap_map": {"config": settings}} if with_map else {})}
    result = dg.materialize(
        assets,
        partition_key=encoder,
        resources={"c2c": C2cResource(home=str(paths.root))},
        instance=instance,
        raise_on_error=False,
        run_config={"ops": ops, "loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    if not result.success:
        raise RuntimeError(_failure_message(result))
    return {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}


@app.command()
def analyse(
    encoder: Annotated[str, typer.Option("--encoder", "-e")] = "default",
    k: Annotated[int, typer.Option(help="Clusters for k-means.")] = 20,
    width: Annotated[int, typer.Option(help="Analysis width (64: ViT paper; 32: ImageBind paper).")] = 64,
    reduction: Annotated[str, typer.Option(help="pca or umap.")] = "pca",
    algorithm: Annotated[str, typer.Option(help="kmeans or hdbscan.")] = "kmeans",
    with_map: Annotated[bool, typer.Option("--map/--no-map", help="Also the 2-D UMAP map (slow the first time: numba compiles).")] = True,
    home: HomeOption = None,
) -> None:
    """Reduce, cluster, score, report and map one encoder's current vectors."""
    paths = _home(home)
    settings = {"k": k, "width": width, "reduction": reduction, "algorithm": algorithm}
    try:
        with console.status(f"analysing {encoder}..."):
            metadata = run_analysis(paths, encoder, settings, with_map)
    except RuntimeError as error:
        raise _fail(str(error)) from None
    console.print(Markdown(metadata["clusters"]["metrics"].value))
    console.print(f"report: {metadata['cluster_report']['report'].value}")
    if "umap_map" in metadata:
        console.print(f"map:    {metadata['umap_map']['interactive_map'].value}")


def run_comparison(paths: C2cHome) -> dict[str, Any]:
    import dagster as dg

    from c2c_assets.defs.analysis.assets import encoder_comparison
    from c2c_assets.defs.resources import C2cResource

    result = dg.materialize(
        [encoder_comparison],
        resources={"c2c": C2cResource(home=str(paths.root))},
        instance=dagster_instance(paths),
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    if not result.success:
        raise RuntimeError(_failure_message(result))
    [event] = result.get_asset_materialization_events()
    return event.materialization.metadata


@app.command("image-to-text")
def image_to_text(
    configuration: Annotated[str, typer.Option("--configuration", "-c", help="offline: EfficientNet-Lite0 -> all-MiniLM-L6-v2 "
                                               "(real weights here); paper: CLIP vision -> CLIP text (needs CLIP weights).")] = "offline",
    epochs: Annotated[int, typer.Option(help="Most epochs for model A (early stopping on validation may end sooner).")] = 10,
    photos: Annotated[str, typer.Option(help="all: one pair per photo; first: the cover photo only (faster).")] = "all",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    seed: int = 0,
    tiny: Annotated[bool, typer.Option(hidden=True, help="Random tiny towers (tests).")] = False,
    home: HomeOption = None,
) -> None:
    """Train and score the image-to-text ensemble on the ingested posts (materializes image_to_text_models
    and image_to_text_eval). Afterwards `c2c embed` predicts the text vectors of thin-text posts."""
    import dagster as dg

    from c2c_assets.defs.image_to_text.assets import configurations
    from c2c_assets.defs.image_to_text.assets import image_to_text as image_to_text_asset
    from c2c_assets.defs.resources import C2cResource

    paths = _home(home)
    if configuration not in configurations.get_partition_keys():
        raise _fail(f"unknown configuration {configuration!r}; known: {', '.join(configurations.get_partition_keys())}")
    if not _lake_dates(paths):
        raise _fail("no ingested posts yet: run `c2c ingest` first")
    with err.status(f"training image-to-text [{configuration}] (model A for up to {epochs} epochs)..."):
        result = dg.materialize(
            [image_to_text_asset],
            partition_key=configuration,
            resources={"c2c": C2cResource(home=str(paths.root))},
            instance=dagster_instance(paths),
            raise_on_error=False,
            tags={"c2c/launched_by": "cli"},
            run_config={
                "ops": {"image_to_text": {"config": {"epochs": epochs, "photos": photos, "device": device, "seed": seed, "tiny": tiny}}},
                "loggers": {"console": {"config": {"log_level": "INFO"}}},  # per-epoch progress, not Dagster's step events
            },
        )
    if not result.success:
        raise _fail(_failure_message(result))
    metadata = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    console.print(Markdown(metadata["image_to_text_eval"]["mean_cosine"].value))
    console.print(f"checkpoint: {metadata['image_to_text_models']['checkpoint'].value}")


@app.command()
def report(home: HomeOption = None) -> None:
    """Compare every analysed encoder on the posts they share (materializes encoder_comparison), and print
    the image-to-text scores (`c2c image-to-text`)."""
    paths = _home(home)
    evals = sorted(paths.lake.glob("image_to_text_eval/configuration=*/part-0.parquet"))
    try:
        metadata = run_comparison(paths)
    except RuntimeError as error:
        if not evals:
            raise _fail(str(error)) from None
        err.print(f"[yellow]no encoder comparison:[/] {error}")
    else:
        console.print("[bold]Encoders on shared posts[/]")
        console.print(Markdown(metadata["comparison"].value))
        console.print("\n[bold]Width sweep[/]")
        console.print(Markdown(metadata["width_sweep"].value))
        console.print(f"\nHTML: {metadata['report'].value}")
    if evals:
        from c2c_assets.storage import read_table

        table = Table("configuration", "model", "mean cosine", "", title="Image-to-text: predicted vs true text embedding (test split)")
        for path in evals:
            for row in read_table(path).to_pylist():
                table.add_row(row["configuration"], row["model"], f"{row['mean_cosine']:.4f}", row["description"])
        console.print(table)


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A read-only SQL query over the warehouse views.")],
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as JSON objects.")] = False,
) -> None:
    """Query warehouse.duckdb (views posts, quarantine, post_images, ...) read-only."""
    import duckdb

    from c2c_assets.warehouse import connect

    paths = C2cHome.from_env(home)
    if not paths.warehouse.exists():
        raise _fail(f"no warehouse at {paths.warehouse} yet: run `c2c ingest` first")
    try:
        with connect(paths, read_only=True) as db:
            cursor = db.execute(query)
            columns = [c[0] for c in cursor.description or []]
            rows = cursor.fetchall()
    except duckdb.Error as error:
        raise _fail(str(error).splitlines()[0]) from None
    if as_json:
        console.print_json(json.dumps([dict(zip(columns, row)) for row in rows], default=str))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


@app.command()
def demo(
    home: HomeOption = None,
    posts: Annotated[int, typer.Option(help="Number of synthetic listings.")] = 3000,
) -> None:
    """Build the sample inbox (if missing), materialize every asset on it, and say where to look."""
    from c2c_assets.ingest.dumps import find_dumps

    paths = _home(home)
    if not find_dumps(paths.inbox):
        sample(home=paths.root, inbox=paths.inbox, posts=posts)
    dates = sorted({d.scrape_date for d in find_dumps(paths.inbox)})
    summaries, failures = run_ingest(paths, paths.inbox, dates)
    console.print(_summary_table(summaries))
    failures.update(run_embed(paths, "default", [d for d in dates if d.isoformat() not in failures], {}))
    try:
        with console.status("building the default encoder's search indexes..."):
            console.print(Markdown(run_index(paths, "default")))
        with console.status("clustering the default encoder's vectors, report and map (the first map compiles numba)..."):
            analysis = run_analysis(paths, "default", {})
        console.print(Markdown(analysis["clusters"]["metrics"].value))
        with console.status("comparing encoders..."):
            run_comparison(paths)
    except RuntimeError as error:
        failures["analysis"] = str(error)
    from c2c_assets.warehouse import query

    counts = query(
        paths,
        "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM quarantine), "
        "(SELECT count(*) FROM post_images WHERE status = 'ok'), "
        "(SELECT count(*) FROM embeddings e JOIN posts p USING (post_id, scrape_date) WHERE e.encoder = 'default')",
    )[0]
    console.print(
        f"\n[bold]made[/]: {counts[0]} current posts, {counts[1]} quarantined lines, {counts[2]} stored photos, "
        f"{counts[3]} default-encoder vectors"
    )
    console.print(f"  lake (Parquet):   {paths.lake}")
    console.print(f"  photos:           {paths.images}")
    console.print(f"  warehouse (SQL):  {paths.warehouse}   e.g. c2c sql \"SELECT title, price_usd FROM posts LIMIT 5\"")
    console.print(f"  search indexes:   {paths.indexes}   e.g. c2c search \"headlight assembly\" -k 5")
    console.print(f"  reports:          {paths.reports}/default/clusters.html, map.html; {paths.reports}/comparison.html")
    console.print(f"  Dagster runs:     {os.environ['DAGSTER_HOME']}")
    console.print("[bold]browse[/]: make dev  (runs `dg dev` with the same DAGSTER_HOME; open http://127.0.0.1:3000)")
    for key, message in failures.items():
        err.print(f"[bold red]{key} failed:[/] {message}")
    if failures:
        raise typer.Exit(code=1)


@app.command()
def views(home: HomeOption = None) -> None:
    """Rebuild the DuckDB views over the lake (after moving C2C_HOME, say)."""
    from c2c_assets.warehouse import refresh_views

    paths = _home(home)
    console.print(", ".join(refresh_views(paths)))


if __name__ == "__main__":
    app()
