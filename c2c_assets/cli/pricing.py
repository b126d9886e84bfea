"""``c2c price`` and ``c2c appraise``: what a part is worth (an estimate from comparable posts, for a text,
a photo or a post), and the per-encoder price comparables and category predictions behind the reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from c2c_assets.cli import TAGS, HomeOption, app, console, fail, home_paths, known_encoder, lake_dates, need_embeddings
from c2c_assets.home import C2cHome


def run_pricing(home: C2cHome, encoder: str):  # -> RunOutcome
    """Materialize price_comparables and predicted_categories for one encoder."""
    from c2c_assets.defs.pricing.assets import predicted_categories, price_comparables
    from c2c_assets.runner import dagster_instance, materialize, register_encoder

    instance = dagster_instance(home)
    register_encoder(instance, encoder)
    return materialize(home, [price_comparables, predicted_categories], partition_key=encoder, instance=instance, tags=TAGS)


@app.command()
def appraise(
    encoder: Annotated[str, typer.Option("--encoder", "-e", help="Encoder whose post vectors find the comparables.")] = "default",
    home: HomeOption = None,
) -> None:
    """Price comparables and flags for every post, and predicted categories (materializes price_comparables and
    predicted_categories); prints the estimation error against two baselines and the held-out category scores."""
    paths = home_paths(home)
    need_embeddings(paths, encoder)
    with console.status(f"comparables and categories for {encoder}..."):
        outcome = run_pricing(paths, encoder)
    if not outcome.success:
        fail(outcome.failure or "pricing failed")
    console.print("[bold]Price comparables[/]")
    console.print(Markdown(outcome.metadata["price_comparables"]["metrics"]))
    console.print("[bold]Predicted categories[/]")
    categories = outcome.metadata["predicted_categories"]
    console.print(Markdown(categories["metrics"]) if not categories.get("reason") else f"no classifier: {categories['reason']}")


@app.command()
def price(
    query: Annotated[str | None, typer.Argument(help="Text query, e.g. \"265/70R17 tires\".")] = None,
    encoder: Annotated[str, typer.Option("--encoder", "-e")] = "default",
    image: Annotated[Path | None, typer.Option("--image", help="Estimate for a photo.")] = None,
    like: Annotated[str | None, typer.Option("--like", help="Estimate for this post_id (its own listing excluded).")] = None,
    k: Annotated[int, typer.Option("-k", help="Comparables to use.", min=1)] = 10,
    min_comparables: Annotated[int, typer.Option(help="Fewer comparables than this: no estimate.", min=1)] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML page with thumbnails here.")] = None,
    home: HomeOption = None,
) -> None:
    """What is it worth: the median asking price of the nearest posts with a usable price, their 10th-90th
    percentile range, and the comparables (title, price, site, date, similarity)."""
    paths = home_paths(home, create=False)
    if not lake_dates(paths):
        fail("no ingested posts yet: run `c2c ingest` first")
    known_encoder(paths, encoder)
    # An encoder without the side the query needs, an unknown post, no index yet: SearchError says which.
    from c2c_assets.pricing.estimate import SearchError, estimate_price
    from c2c_assets.pricing.settings import PricingSettings

    try:
        result = estimate_price(paths, encoder, text=query, image=image, like=like,
                                settings=PricingSettings(k=k, min_comparables=min_comparables))
    except SearchError as error:
        fail(str(error))
    if html is not None:
        from c2c_assets.reporting.prices import write_price_page

        write_price_page(html, paths, result, title=f"What is it worth: {query or image or like}")
    if as_json:
        print(json.dumps(result.as_dict(), indent=2))
        return
    if result.estimate is None:
        console.print(f"[bold]no estimate[/] ({encoder}): {escape(result.reason or '')}")
    else:
        console.print(f"[bold]estimate ${result.estimate:,.0f}[/] (10th-90th percentile ${result.p10:,.0f} – ${result.p90:,.0f}) "
                      f"from {result.n} comparable posts ({encoder}, {result.side} side)")
    table = Table("similarity", "post_id", "title", "price", "site", "date", title=f"{result.n} comparables")
    for c in result.comparables:
        table.add_row(f"{c.similarity:.3f}", c.post_id, escape(c.title), f"${c.price_usd:,.0f}", c.source,
                      c.scrape_date.isoformat() if c.scrape_date else "")
    console.print(table)
