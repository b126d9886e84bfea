"""``c2c sample`` and ``c2c ingest``: a synthetic inbox, and the ingest assets over an inbox."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from c2c_assets.cli import (
    TAGS,
    HomeOption,
    InboxOption,
    app,
    console,
    fail,
    home_paths,
    inbox_path,
    parse_date,
    report_failures,
)
from c2c_assets.home import C2cHome


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

    paths = home_paths(home)
    target = inbox_path(paths, inbox)
    if clean and target.exists():
        shutil.rmtree(target)
    summary = generate_sample(target, n_posts=posts, n_days=days, seed=seed)
    console.print(
        f"wrote {summary.n_posts} listings in {len(summary.dumps)} dumps ({summary.n_images} photo references) to {target}"
    )
    console.print(f"known categories: {summary.labels_path}")


def summary_table(summaries: list[dict[str, Any]]) -> Table:
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


def run_ingest(
    home: C2cHome, inbox: Path, dates: list[date], allow_private_networks: bool = False
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Materialize the ingest assets (and their checks) for each date in-process.

    Returns the per-date summaries and, for failed dates, the failure. A failed date does not stop the others.
    """
    from c2c_assets.defs.attributes.assets import post_attributes
    from c2c_assets.defs.ingest import checks
    from c2c_assets.defs.ingest.assets import ingest_dumps
    from c2c_assets.runner import dagster_instance, materialize

    instance = dagster_instance(home)
    assets = [ingest_dumps, checks.lines_accounted_for, checks.post_id_unique, checks.one_row_per_image_reference, post_attributes]
    summaries, failures = [], {}
    for day in dates:
        key = day.isoformat()
        with console.status(f"ingesting {key}..."):
            outcome = materialize(
                home, assets, partition_key=key, instance=instance, inbox=inbox, tags=TAGS,
                allow_private_networks=allow_private_networks,
            )
        if "summary" in outcome.metadata.get("posts", {}):
            summaries.append(outcome.metadata["posts"]["summary"])
        if not outcome.success:
            failures[key] = outcome.failure or "run failed"
    return summaries, failures


@app.command()
def ingest(
    home: HomeOption = None,
    inbox: InboxOption = None,
    day: Annotated[str | None, typer.Option("--date", help="Only this scrape date (YYYY-MM-DD).")] = None,
    allow_private_networks: Annotated[
        bool, typer.Option(help="Let the image fetcher reach loopback and private addresses (off: URLs are untrusted).")
    ] = False,
) -> None:
    """Ingest every dump in the inbox (or one date) through the Dagster assets, and summarize."""
    from c2c_assets.ingest.dumps import find_dumps

    wanted = parse_date(day)
    paths = home_paths(home)
    source = inbox_path(paths, inbox)
    if not source.is_dir():
        fail(f"inbox {source} does not exist: write one with `c2c sample`, or give --inbox")
    dates = sorted({d.scrape_date for d in find_dumps(source, wanted)})
    if not dates:
        fail(f"no dump found under {source}" + (f" for {day}" if day else "") + " (<source>/<date>/posts.jsonl[.gz])")
    summaries, failures = run_ingest(paths, source, dates, allow_private_networks)
    if summaries:
        print_summaries(summaries)
        console.print(f"warehouse: {paths.warehouse}  (try: c2c sql \"SELECT source, count(*) FROM posts GROUP BY 1\")")
    report_failures(failures)


def print_summaries(summaries: list[dict[str, Any]]) -> None:
    console.print(summary_table(summaries))
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
