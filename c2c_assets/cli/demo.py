"""``c2c demo``: the sample inbox, every asset materialized on it, and where to look."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markdown import Markdown

from c2c_assets.cli import HomeOption, app, console, home_paths, report_failures
from c2c_assets.cli.analysis import run_analysis, run_comparison
from c2c_assets.cli.embed import run_embed
from c2c_assets.cli.ingest import run_ingest, sample, summary_table
from c2c_assets.cli.search import run_index


@app.command()
def demo(
    home: HomeOption = None,
    posts: Annotated[int, typer.Option(help="Number of synthetic listings.")] = 3000,
) -> None:
    """Build the sample inbox (if missing), materialize every asset on it, and say where to look."""
    from c2c_assets.ingest.dumps import find_dumps
    from c2c_assets.runner import dagster_folder

    paths = home_paths(home)
    if not find_dumps(paths.inbox):
        sample(home=paths.root, inbox=paths.inbox, posts=posts)
    dates = sorted({d.scrape_date for d in find_dumps(paths.inbox)})
    summaries, failures = run_ingest(paths, paths.inbox, dates)
    console.print(summary_table(summaries))
    failures.update(run_embed(paths, "default", [d for d in dates if d.isoformat() not in failures]))
    steps = [
        ("search indexes", "building the default encoder's search indexes...", lambda: run_index(paths, "default")),
        ("analysis", "clustering the default encoder's vectors, report and map (the first map compiles numba)...",
         lambda: run_analysis(paths, "default")),
        ("comparison", "comparing encoders...", lambda: run_comparison(paths)),
    ]
    for name, status, step in steps:
        with console.status(status):
            outcome = step()
        if not outcome.success:
            failures[name] = outcome.failure or "run failed"
            break
        if name == "search indexes":
            console.print(Markdown(outcome.metadata["faiss_index"]["indexes"]))
        elif name == "analysis":
            console.print(Markdown(outcome.metadata["clusters"]["metrics"]))
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
    console.print(f"  reports:          {paths.reports}/default/clusters.html, map.png, explorer/index.html; {paths.reports}/comparison.html")
    console.print("  explorer:         c2c explore -e default  (or --export DIR for a folder that opens from disk)")
    console.print(f"  Dagster runs:     {dagster_folder(paths)}")
    console.print("[bold]browse[/]: make dev  (runs `dg dev` with the same DAGSTER_HOME; open http://127.0.0.1:3000)")
    report_failures(failures)
