"""``c2c quality``, ``c2c dupes``, ``c2c reposts`` and ``c2c flags``: duplicates, reposts, stock photos and
junk, from the assets of the quality group."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from c2c_assets.cli import TAGS, HomeOption, app, console, err, fail, home_paths, lake_dates, need_embeddings
from c2c_assets.home import C2cHome

JsonOption = Annotated[bool, typer.Option("--json", help="JSON for scripts.")]
HtmlOption = Annotated[Path | None, typer.Option("--html", help="Also write an HTML gallery with thumbnails here.")]


def _need_posts(home: C2cHome) -> None:
    if not lake_dates(home):
        fail("no ingested posts yet: run `c2c ingest` first")


def run_quality(home: C2cHome, encoders: list[str]):  # -> list[RunOutcome]
    """Materialize the quality group: the all-posts assets, then each encoder's."""
    from c2c_assets.defs.quality import assets as q
    from c2c_assets.runner import dagster_instance, materialize

    instance = dagster_instance(home)
    outcomes = [materialize(home, [q.photo_hashes, q.photo_groups, q.each_photo_in_one_group, q.post_flags], instance=instance, tags=TAGS)]
    for encoder in encoders:
        if not outcomes[-1].success:
            break
        assets = [q.post_neighbours, q.repost_groups, q.one_repost_group_per_post]
        if any(home.lake.glob(f"clusters/encoder={encoder}/part-0.parquet")):
            assets += [q.post_scores, q.scores_for_every_post]
        outcomes.append(materialize(home, assets, partition_key=encoder, instance=instance, tags=TAGS))
    return outcomes


@app.command()
def quality(
    encoders: Annotated[list[str] | None, typer.Option("--encoder", "-e", help="Encoder for reposts and scores (repeat for more).")] = None,
    home: HomeOption = None,
) -> None:
    """Hash photos, group duplicates, find stock photos, flag junk, and group reposts (and score posts, where the
    encoder has clusters) through the quality assets."""
    paths = home_paths(home)
    _need_posts(paths)
    names = list(dict.fromkeys(encoders or ["default"]))
    for name in names:
        need_embeddings(paths, name)
    with err.status("quality: photo hashes, groups, flags, reposts..."):
        outcomes = run_quality(paths, names)
    for outcome in outcomes:
        if not outcome.success:
            fail(outcome.failure or "quality run failed")
    meta = {k: v for o in outcomes for k, v in o.metadata.items()}
    groups, flags = meta["photo_groups"], meta["post_flags"]
    console.print(f"photos: {groups['photos']:,} in {groups['groups']:,} groups; {groups['near_duplicate_groups']:,} near-duplicate groups, "
                  f"{groups['stock_groups']:,} stock photos")
    console.print(f"flagged posts: {flags['flagged_posts']:,} of {flags['posts']:,} ({flags['flagged_share']:.1%})")
    for outcome in outcomes[1:]:
        reposts = outcome.metadata["repost_groups"]
        console.print(f"reposts: {reposts['groups']:,} groups ({reposts['cross_site_groups']:,} across sites), "
                      f"{reposts['posts_in_groups']:,} posts ({reposts['repost_share']:.1%})"
                      + ("" if "post_scores" in outcome.metadata else " [dim](no clusters: run `c2c analyse` for scores)[/]"))


def _listing(home: Path | None, call, encoder: str | None = None):  # noqa: ANN001, ANN202 - call(paths) -> rows
    """(paths, rows) of a listing command: one ``error:`` line where there is nothing to list yet."""
    from c2c_assets.quality.listing import NotMaterialized

    paths = home_paths(home, create=False)
    _need_posts(paths)
    if encoder is not None:
        need_embeddings(paths, encoder)
    try:
        return paths, call(paths)
    except NotMaterialized as error:
        fail(str(error))


def _emit(payload: list, as_json: bool, table: Callable[[], Table]) -> None:
    """What every listing command prints: ``payload`` as JSON, or the rich table."""
    if as_json:
        print(json.dumps(payload, indent=2))
    else:
        console.print(table())


def _chosen(paths: C2cHome, asset: str, group_ids: list[str], encoder: str | None = None):  # noqa: ANN202 - pa.Table
    """The rows of a group table whose group the command lists (what its gallery shows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from c2c_assets.quality.lake_io import read

    table = read(paths, asset, encoder)
    return table.filter(pc.is_in(table.column("group_id"), value_set=pa.array(sorted(set(group_ids)), pa.string())))


@app.command()
def dupes(
    stock_only: Annotated[bool, typer.Option("--stock", help="Only stock photos.")] = False,
    limit: Annotated[int, typer.Option(help="Groups shown in the table and the gallery.")] = 30,
    as_json: JsonOption = False,
    html: HtmlOption = None,
    home: HomeOption = None,
) -> None:
    """Near-duplicate photo groups (re-encoded, resized, lightly cropped copies) and stock photos."""
    from c2c_assets.quality.listing import photo_duplicate_groups

    paths, groups = _listing(home, photo_duplicate_groups)
    groups = [g for g in groups if g["stock"] or not stock_only]
    if html is not None:
        from c2c_assets.reporting.quality_gallery import largest_photo_groups, write_groups_html

        chosen = _chosen(paths, "photo_groups", [g["group_id"] for g in groups])
        write_groups_html(html, paths, "Near-duplicate photos", largest_photo_groups(paths, chosen, limit))

    def table() -> Table:
        out = Table("group", "photos", "listings", "stock", "post ids", title=f"{len(groups)} photo groups with copies")
        for g in groups[:limit]:
            out.add_row(g["group_id"], str(len(g["sha256s"])), str(len(g["post_ids"])), "yes" if g["stock"] else "", escape(", ".join(g["post_ids"][:6])))
        return out

    _emit(groups, as_json, table)


@app.command()
def reposts(
    encoder: Annotated[str, typer.Option("--encoder", "-e")] = "default",
    across_sites: Annotated[bool, typer.Option("--across-sites", help="Only groups on more than one site.")] = False,
    limit: Annotated[int, typer.Option(help="Groups shown in the table and the gallery.")] = 30,
    as_json: JsonOption = False,
    html: HtmlOption = None,
    home: HomeOption = None,
) -> None:
    """Listings that are the same item, re-listed on one site or posted on both."""
    from c2c_assets.quality.listing import prices_over_time, repost_group_list

    paths, groups = _listing(home, lambda p: repost_group_list(p, encoder, across_sites=across_sites), encoder)
    if html is not None:
        from c2c_assets.reporting.quality_gallery import largest_repost_groups, write_groups_html

        chosen = _chosen(paths, "repost_groups", [g["group_id"] for g in groups], encoder)
        write_groups_html(html, paths, f"Reposts ({encoder})" + (" across sites" if across_sites else ""), largest_repost_groups(paths, chosen, limit))

    def table() -> Table:
        prices = prices_over_time(paths, [p for g in groups[:limit] for p in g["post_ids"]])
        out = Table("group", "listings", "sites", "first seen", "last seen", "prices over time", title=f"{len(groups)} repost groups ({encoder})")
        for g in groups[:limit]:
            history = "; ".join(f"{p}: " + " > ".join("?" if v is None else f"${v:,.0f}" for _, v in prices.get(p, [])) for p in g["post_ids"][:4])
            out.add_row(g["group_id"], str(len(g["post_ids"])), ", ".join(g["sites"]), g["first_seen"], g["last_seen"], escape(history))
        return out

    _emit(groups, as_json, table)


@app.command()
def flags(
    flag: Annotated[str | None, typer.Option("--flag", help="Only posts with this flag (photo_blurry, phone_only, ...).")] = None,
    limit: Annotated[int, typer.Option(help="Posts shown in the table and the gallery.")] = 50,
    as_json: JsonOption = False,
    html: HtmlOption = None,
    home: HomeOption = None,
) -> None:
    """Flagged posts: junk photos and text, placeholder prices, stock photos."""
    from c2c_assets.quality.listing import flagged_posts

    paths, posts = _listing(home, lambda p: flagged_posts(p, flag))
    if html is not None:
        from c2c_assets.quality.lake_io import post_cards
        from c2c_assets.reporting.formatting import fmt_price
        from c2c_assets.reporting.quality_gallery import write_groups_html

        cards = post_cards(paths, [p["post_id"] for p in posts[:limit]])
        by_flag: dict[str, list] = {}
        for p in posts[:limit]:
            card = cards.get(p["post_id"], {})
            for f in p["flags"]:
                by_flag.setdefault(f, []).append({"label": card.get("title") or p["post_id"], "thumb_path": card.get("thumb_path"),
                                                  "url": card.get("url"), "detail": f"{p['post_id']} · {fmt_price(card.get('price_usd'))} · score {p['scores'][f]:g}"})
        groups = [{"group_id": f, "caption": f"{len(m)} posts", "members": m} for f, m in sorted(by_flag.items())]
        write_groups_html(html, paths, "Flagged posts", groups)

    def table() -> Table:
        out = Table("post_id", "flags", title=f"{len(posts)} flagged posts")
        for p in posts[:limit]:
            out.add_row(p["post_id"], escape(", ".join(f"{f} ({p['scores'][f]:g})" for f in p["flags"])))
        return out

    _emit([{"post_id": p["post_id"], "flags": p["flags"]} for p in posts], as_json, table)
