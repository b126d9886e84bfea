"""Prices per cluster for the cluster report: usable prices, and the share flagged by the comparables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from c2c_assets.home import C2cHome
from c2c_assets.lake import partition_file
from c2c_assets.pricing.comparables import OVER, UNDER
from c2c_assets.prices import is_usable
from c2c_assets.reporting.prices import PriceStrip, price_strip
from c2c_assets.storage import read_table
from c2c_assets.warehouse import connect


def flags_of(home: C2cHome, encoder: str) -> dict[str, str | None] | None:
    """post_id -> flag from the encoder's price_comparables, or None before it was materialized."""
    path = partition_file(home.lake, "price_comparables", {"encoder": encoder})
    if not path.exists():
        return None
    table = read_table(path, columns=["post_id", "flag"])
    return dict(zip(table.column("post_id").to_pylist(), table.column("flag").to_pylist(), strict=True))


def cluster_members(home: C2cHome, encoder: str) -> dict[int, list[tuple[str, float | None]]]:
    """cluster -> (post_id, price) of its current posts, from the encoder's clusters."""
    clusters = partition_file(home.lake, "clusters", {"encoder": encoder})
    members: dict[int, list[tuple[str, float | None]]] = {}
    if not clusters.exists():
        return members
    with connect(home, read_only=True) as db:
        rows = db.execute("SELECT c.cluster, c.post_id, p.price_usd FROM read_parquet(?) c JOIN posts p USING (post_id)",
                          [str(clusters)]).fetchall()
    for cluster, post_id, price in rows:
        members.setdefault(int(cluster), []).append((post_id, price))
    return members


def cluster_prices(home: C2cHome, encoder: str, members: Mapping[int, Sequence[tuple[str, float | None]]] | None = None) -> dict[int, PriceStrip]:
    """Per cluster: its price strip and flagged share (members: cluster -> (post_id, price); default: the encoder's clusters)."""
    members = cluster_members(home, encoder) if members is None else members
    flags = flags_of(home, encoder)
    out = {}
    for cluster, posts in members.items():
        share = None
        if flags is not None:
            judged = [flags.get(post_id) for post_id, _ in posts if flags.get(post_id) is not None]
            share = sum(1 for f in judged if f in (UNDER, OVER)) / len(judged) if judged else None
        out[cluster] = price_strip([p for _, p in posts if is_usable(p)], share, seed=cluster)
    return out


# The columns the encoder comparison gains: "which encoder should we use" in practical terms.
COMPARISON_COLUMNS = {"price_error": ("price", "price_error"), "category_accuracy": ("category", "accuracy"),
                      "category_macro_f1": ("category", "macro_f1")}


def with_pricing_columns(home: C2cHome, rows: list[dict]) -> list[dict]:
    """The comparison's rows, each with its encoder's price estimation error (median absolute % error of the
    comparables' median) and held-out category accuracy and macro-F1, where those were materialized."""
    from c2c_assets.pricing.categories import read_category_metrics
    from c2c_assets.pricing.comparables import read_price_metrics

    out = []
    for row in rows:
        metrics = {"price": read_price_metrics(home, row["encoder"]) or {}, "category": read_category_metrics(home, row["encoder"]) or {}}
        extra = {column: metrics[kind].get(name) for column, (kind, name) in COMPARISON_COLUMNS.items()}
        out.append({**row, **{k: v for k, v in extra.items() if v is not None}})
    return out
