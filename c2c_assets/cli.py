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
    from c2c_assets.warehouse import query

    counts = query(paths, "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM quarantine), (SELECT count(*) FROM post_images WHERE status = 'ok')")[0]
    console.print(f"\n[bold]made[/]: {counts[0]} current posts, {counts[1]} quarantined lines, {counts[2]} stored photos")
    console.print(f"  lake (Parquet):   {paths.lake}")
    console.print(f"  photos:           {paths.images}")
    console.print(f"  warehouse (SQL):  {paths.warehouse}   e.g. c2c sql \"SELECT title, price_usd FROM posts LIMIT 5\"")
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
