"""Price comparables for every current post of an encoder: its k nearest current posts (post side) that
have a usable price, their median, 10th-90th percentile range, count and mean similarity, and a flag
when the post's own price falls outside that range.

The post's own listing is never its own comparable, nor is any post of its repost group when a grouping
is given (``groups``: post_id -> group id, from the duplicates domain once it exists; None: no grouping).
Neighbours come from ``c2c_assets.neighbours`` (FAISS: exact up to its size limit, IVF beyond).

Memory: the vectors are read once into one matrix with the usable-price rows first, so the neighbour
database is a view of it, not a copy; the FAISS index holds the only other copy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from c2c_assets.embeddings.store import current_vectors_sql
from c2c_assets.home import C2cHome
from c2c_assets.ingest.views import current_posts_sql
from c2c_assets.lake import partition_file, to_matrix, write_partition
from c2c_assets.pricing.schema import COMPARABLES_SCHEMA, PRICE_METRICS_SCHEMA
from c2c_assets.pricing.settings import PricingSettings
from c2c_assets.prices import usable_mask
from c2c_assets.storage import read_table
from c2c_assets.warehouse import scratch

UNDER, OVER, WITHIN = "underpriced", "overpriced", "within"
# A range of identical prices has no width: distances are then measured in this share of the median.
_MIN_WIDTH_SHARE = 0.05


@dataclass
class PricedVectors:
    """Every current post with a post vector: usable-price rows first (``n_usable`` of them)."""

    post_ids: list[str]
    prices: np.ndarray  # float64, NaN where the post has no price
    vectors: np.ndarray  # (n, d) float32
    n_usable: int


def _priced_sql(home: C2cHome, encoder: str) -> str | None:
    vectors = current_vectors_sql(home, encoder, "vector")
    posts = current_posts_sql(home, "post_id, price_usd")
    if vectors is None or posts is None:
        return None
    return f"SELECT v.post_id, p.price_usd, v.v FROM ({vectors}) AS v JOIN ({posts}) AS p USING (post_id)"


def read_priced_vectors(home: C2cHome, encoder: str, batch_rows: int = 65_536) -> PricedVectors | None:
    """The encoder's current post vectors with their posts' prices, or None where it has none."""
    sql = _priced_sql(home, encoder)
    if sql is None:
        return None
    with scratch(home) as db:
        prices = db.sql(f"SELECT price_usd FROM ({sql})").to_arrow_table().column(0).to_numpy(zero_copy_only=False)
        prices = np.asarray(prices, dtype=np.float64)
        n, n_usable = len(prices), int(usable_mask(prices).sum())
        if n == 0:
            return None
        ids: list[str | None] = [None] * n
        out_prices = np.full(n, np.nan)
        matrix: np.ndarray | None = None
        front, back = 0, n_usable
        for batch in db.sql(sql).to_arrow_reader(batch_rows):
            batch_ids = batch.column(0).to_pylist()
            batch_prices = np.asarray(batch.column(1).to_numpy(zero_copy_only=False), dtype=np.float64)
            block = to_matrix(batch.column(2))
            if matrix is None:
                matrix = np.empty((n, block.shape[1]), dtype=np.float32)
            good = usable_mask(batch_prices)
            for rows, start in ((np.flatnonzero(good), front), (np.flatnonzero(~good), back)):
                matrix[start : start + len(rows)] = block[rows]
                out_prices[start : start + len(rows)] = batch_prices[rows]
                for offset, row in enumerate(rows.tolist()):
                    ids[start + offset] = batch_ids[row]
            front += int(good.sum())
            back += int((~good).sum())
    if matrix is None or front != n_usable or back != n:
        raise RuntimeError(f"the posts of {encoder!r} changed while their prices and vectors were read: run again")
    return PricedVectors([str(i) for i in ids], out_prices, matrix, n_usable)


def _group_codes(post_ids: list[str], groups: Mapping[str, str] | None) -> np.ndarray:
    """An integer per row: its repost group, or -1 (a group of its own)."""
    codes = np.full(len(post_ids), -1, dtype=np.int64)
    if not groups:
        return codes
    numbering: dict[str, int] = {}
    for row, post_id in enumerate(post_ids):
        group = groups.get(post_id)
        if group is not None:
            codes[row] = numbering.setdefault(group, len(numbering))
    return codes


@dataclass
class Comparables:
    post_ids: list[str]
    prices: np.ndarray
    usable: np.ndarray  # bool
    median: np.ndarray  # NaN where n < min_comparables
    p10: np.ndarray
    p90: np.ndarray
    n: np.ndarray  # int32
    mean_similarity: np.ndarray
    flag: list[str | None]
    distance: np.ndarray


def flags(prices: np.ndarray, usable: np.ndarray, p10: np.ndarray, p90: np.ndarray, median: np.ndarray) -> tuple[list[str | None], np.ndarray]:
    """Under/over/within the comparables' p10..p90, and how far outside in range widths; None where the
    post has no usable price or no estimate."""
    width = np.maximum(p90 - p10, _MIN_WIDTH_SHARE * median)
    below = (p10 - prices) / width
    above = (prices - p90) / width
    known = usable & np.isfinite(median)
    with np.errstate(invalid="ignore"):
        under, over = known & (below > 0), known & (above > 0)
    out = np.full(len(prices), None, dtype=object)
    out[known] = WITHIN
    out[under], out[over] = UNDER, OVER
    distance = np.where(under, below, np.where(over, above, np.where(known, 0.0, np.nan)))
    return out.tolist(), distance


def compute(data: PricedVectors, settings: PricingSettings, groups: Mapping[str, str] | None = None,
            log: Callable[[str], None] | None = None) -> Comparables:
    """Comparables of every row of ``data`` among its usable-price rows."""
    from c2c_assets.neighbours import knn

    n, n_usable, k = len(data.post_ids), data.n_usable, settings.k
    codes = _group_codes(data.post_ids, groups)
    usable = np.zeros(n, dtype=bool)
    usable[:n_usable] = True
    found_sim = np.full((n, k), np.nan, dtype=np.float32)
    found_rows = np.full((n, k), -1, dtype=np.int64)
    if n_usable:
        fetch = min(n_usable, k + (settings.group_margin if groups else 0))
        self_rows = np.where(usable, np.arange(n), -1)
        found = knn(data.vectors[:n_usable], fetch, queries=data.vectors, self_rows=self_rows)
        keep = found.rows >= 0
        if groups:
            neighbour_group = np.where(keep, codes[np.maximum(found.rows, 0)], -2)
            keep &= ~((codes[:, None] >= 0) & (neighbour_group == codes[:, None]))
        # The first k kept neighbours of each row, best first.
        order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
        taken = np.take_along_axis(keep, order, axis=1)
        width = order.shape[1]
        found_rows[:, :width] = np.where(taken, np.take_along_axis(found.rows, order, axis=1), -1)
        found_sim[:, :width] = np.where(taken, np.take_along_axis(found.similarity, order, axis=1), np.nan)
    counts = (found_rows >= 0).sum(axis=1).astype(np.int32)
    neighbour_prices = np.where(found_rows >= 0, data.prices[np.maximum(found_rows, 0)], np.nan)
    enough = counts >= settings.min_comparables
    median = np.full(n, np.nan)
    p10 = np.full(n, np.nan)
    p90 = np.full(n, np.nan)
    if enough.any():
        quantiles = np.nanquantile(neighbour_prices[enough], [0.1, 0.5, 0.9], axis=1)
        p10[enough], median[enough], p90[enough] = quantiles
    with np.errstate(invalid="ignore"):
        mean_similarity = np.where(counts > 0, np.nansum(found_sim, axis=1) / np.maximum(counts, 1), np.nan).astype(np.float32)
    flag, distance = flags(data.prices, usable, p10, p90, median)
    if log:
        log(f"comparables for {n:,} posts among {n_usable:,} with a usable price (k={k})")
    return Comparables(data.post_ids, data.prices, usable, median, p10, p90, counts, mean_similarity, flag, distance)


def _nullable(values: np.ndarray) -> pa.Array:
    return pa.array(values, mask=~np.isfinite(values))


def comparables_table(encoder: str, result: Comparables) -> pa.Table:
    order = np.argsort(np.asarray(result.post_ids, dtype=object))
    take = lambda values: values[order]  # noqa: E731
    table = pa.table(
        {
            "post_id": pa.array(result.post_ids).take(pa.array(order)),
            "encoder": pa.array([encoder] * len(order), pa.string()),
            "price_usd": _nullable(take(result.prices)),
            "usable": pa.array(take(result.usable)),
            "median": _nullable(take(result.median)),
            "p10": _nullable(take(result.p10)),
            "p90": _nullable(take(result.p90)),
            "n": pa.array(take(result.n), pa.int32()),
            "mean_similarity": pa.array(take(result.mean_similarity), pa.float32(), mask=~np.isfinite(take(result.mean_similarity))),
            "flag": pa.array(result.flag, pa.string()).take(pa.array(order)),
            "distance": _nullable(take(result.distance)),
        }
    )
    return table.cast(COMPARABLES_SCHEMA)


def loo_medians(values: np.ndarray) -> np.ndarray:
    """For each element, the median of all the others (leave one out), in one sort."""
    m = len(values)
    out = np.full(m, np.nan)
    if m < 2:
        return out
    order = np.argsort(values, kind="stable")
    ranks = np.empty(m, dtype=np.int64)
    ranks[order] = np.arange(m)
    s = values[order]

    def remaining(j: int | np.ndarray) -> np.ndarray:  # the j-th smallest once the element at rank r is gone
        j = np.asarray(j)
        return np.where(j < ranks, s[np.minimum(j, m - 1)], s[np.minimum(j + 1, m - 1)])

    left = remaining(np.full(m, (m - 2) // 2))
    right = remaining(np.full(m, (m - 1) // 2))
    out[:] = left if (m - 1) % 2 == 1 else (left + right) / 2
    return out


def price_metrics(encoder: str, result: Comparables, settings: PricingSettings, truth: Mapping[str, str] | None) -> dict[str, Any]:
    """How well the comparables' median estimates each usable price (median absolute % error), against two
    baselines over the same posts: the median of every other usable price, and of the other usable prices
    of the post's known category."""
    usable = result.usable
    prices = result.prices
    estimated = usable & np.isfinite(result.median)
    row: dict[str, Any] = {name: None for name in PRICE_METRICS_SCHEMA.names}
    row.update(encoder=encoder, k=settings.k, n_posts=len(prices), n_usable=int(usable.sum()), n_estimated=int(estimated.sum()))
    if usable.any():
        row["coverage"] = float(estimated.sum() / usable.sum())
    if not estimated.any():
        return row
    own = np.where(usable, prices, np.nan)  # the errors' denominators: usable prices only (never 0)
    error = np.abs(result.median - own) / own
    row["price_error"] = float(np.median(error[estimated]))
    flagged = np.asarray([f in (UNDER, OVER) for f in result.flag])
    row["flagged_share"] = float(flagged[estimated].mean())
    usable_rows = np.flatnonzero(usable)
    global_loo = np.full(len(prices), np.nan)
    global_loo[usable_rows] = loo_medians(prices[usable_rows])
    row["global_median_error"] = float(np.nanmedian((np.abs(global_loo - own) / own)[estimated]))
    if truth:
        category = np.asarray([truth.get(pid) for pid in result.post_ids], dtype=object)
        category_loo = np.full(len(prices), np.nan)
        for name in {c for c in category[usable_rows] if c is not None}:
            rows = usable_rows[category[usable_rows] == name]
            category_loo[rows] = loo_medians(prices[rows])
        errors = (np.abs(category_loo - own) / own)[estimated]
        if np.isfinite(errors).any():
            row["category_median_error"] = float(np.nanmedian(errors))
    return row


def write_comparables(home: C2cHome, encoder: str, table: pa.Table, metrics: dict[str, Any]) -> None:
    keys = {"encoder": encoder}
    write_partition(home.lake, "price_comparables", keys, table)
    write_partition(home.lake, "price_metrics", keys, pa.Table.from_pylist([metrics], schema=PRICE_METRICS_SCHEMA))


def read_price_metrics(home: C2cHome, encoder: str) -> dict[str, Any] | None:
    path = partition_file(home.lake, "price_metrics", {"encoder": encoder})
    return read_table(path).to_pylist()[0] if path.exists() else None


def price_comparables(home: C2cHome, encoder: str, settings: PricingSettings, *, truth: Mapping[str, str] | None = None,
                      groups: Mapping[str, str] | None = None, log: Callable[[str], None] | None = None) -> tuple[pa.Table, dict[str, Any]]:
    """Comparables and flags of every current post of ``encoder``, and their scores, written to the lake."""
    data = read_priced_vectors(home, encoder)
    if data is None:
        raise ValueError(f"encoder {encoder!r} has no current post vectors: materialize post_embeddings for it first")
    result = compute(data, settings, groups, log)
    table = comparables_table(encoder, result)
    metrics = price_metrics(encoder, result, settings, truth)
    write_comparables(home, encoder, table, metrics)
    return table, metrics
