"""The interactive map page: every post on a canvas, coloured by cluster, with pan, zoom, a
legend and hover (title, price, thumbnail). The behaviour is ``templates/map.js``; the page is
``templates/map.html.j2``; Python only prepares the data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from c2c_assets.reporting.formatting import cluster_name, is_number, thumb_b64
from c2c_assets.reporting.map_png import check_map_inputs, cluster_colours
from c2c_assets.reporting.render import script_csp, static_text, write_page
from c2c_assets.storage import Location

__all__ = ["MAP_GRID_Q", "MAP_MAX_THUMBNAILS", "MAP_MAX_TITLE_CHARS", "MAP_THUMB_PX", "write_map_html"]

# Map page caps, documented in write_map_html: a 64 px JPEG is about 2-3 KB of base64, so
# 2,000 thumbnails add about 5 MB; titles are cut because a tooltip shows one or two lines.
MAP_MAX_THUMBNAILS = 2_000
MAP_THUMB_PX = 64
MAP_MAX_TITLE_CHARS = 140
# World coordinates are quantised to integers 0..MAP_GRID_Q: 6 characters per value in JSON
# instead of ~18 for a float, and 1e-5 of the data extent is far below a pixel at any sane zoom.
MAP_GRID_Q = 100_000
MAP_SCRIPT = "map.js"


def _pick_thumbnails(labels: np.ndarray, candidates: np.ndarray, cap: int) -> np.ndarray:
    """Round-robin over clusters in random order: small clusters get thumbnails too."""
    if len(candidates) <= cap:
        return candidates
    rng = np.random.default_rng(0)
    shuffled = rng.permutation(candidates)
    cand_labels = labels[shuffled]
    # Rank of each candidate within its cluster (0 for the first of each, 1 for the second...).
    order = np.argsort(cand_labels, kind="stable")
    sorted_labels = cand_labels[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_labels)) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - run_start
    chosen = shuffled[np.argsort(rank, kind="stable")[:cap]]
    return np.sort(chosen)


def _clean_price(p: float | None) -> float | None:
    # JSON has no NaN; a missing or absurd price is simply "no price".
    if p is None or not is_number(p) or not math.isfinite(float(p)):
        return None
    return round(float(p), 2)


def _clean_title(t: str | None, max_chars: int) -> str:
    t = " ".join(str(t or "").split()) or "(untitled)"
    return t if len(t) <= max_chars else t[: max_chars - 1].rstrip() + "…"


def write_map_html(
    path: Location | str,
    *,
    coords2d: np.ndarray | Sequence,
    labels: np.ndarray | Sequence,
    titles: Sequence[str],
    prices: Sequence[float | None],
    thumbnails: Sequence[Location | None],
    title: str,
    max_thumbnails: int = MAP_MAX_THUMBNAILS,
    thumb_px: int = MAP_THUMB_PX,
    max_title_chars: int = MAP_MAX_TITLE_CHARS,
) -> Path:
    """An interactive, self-contained map page: canvas, pan (drag), zoom (wheel, around the cursor),
    double-click to reset, colour by cluster with a legend (click to hide a cluster), and hover
    showing title, price and thumbnail.

    Size caps: at most ``max_thumbnails`` points (default 2,000, about 5 MB) get an inlined
    ``thumb_px`` JPEG thumbnail, chosen round-robin across clusters with a fixed seed; other
    points show title and price only. Titles are cut to ``max_title_chars``. Without thumbnails
    70,000 points make a page of about 6-7 MB (mostly titles).
    """
    xy, lab = check_map_inputs(coords2d, labels)
    n = len(xy)
    if not (len(titles) == len(prices) == len(thumbnails) == n):
        raise ValueError(f"{n} points but {len(titles)} titles, {len(prices)} prices, {len(thumbnails)} thumbnails")

    # Normalise to the integer grid with one scale for both axes (keeps the map's aspect), y flipped.
    if n:
        lo = xy.min(axis=0)
        hi = xy.max(axis=0)
        span = float(max(hi[0] - lo[0], hi[1] - lo[1])) or 1.0
        qx = np.rint((xy[:, 0] - lo[0]) / span * MAP_GRID_Q).astype(np.int64)
        qy = np.rint((hi[1] - xy[:, 1]) / span * MAP_GRID_Q).astype(np.int64)
        extent = [int(qx.max()), int(qy.max())]
    else:
        qx = qy = np.zeros(0, dtype=np.int64)
        extent = [1, 1]

    colours = cluster_colours(lab.tolist())
    counts = {label: int((lab == label).sum()) for label in colours}
    clusters = [
        {"label": label, "colour": colours[label], "name": cluster_name(label), "count": counts[label]}
        for label in sorted(colours)
    ]

    has_thumb = np.array([t is not None for t in thumbnails], dtype=bool)
    picked = _pick_thumbnails(lab, np.flatnonzero(has_thumb), max(0, max_thumbnails))
    thumb_idx: list[int] = []
    thumbs: list[str] = []
    for i in picked.tolist():
        b64 = thumb_b64(thumbnails[i], thumb_px, quality=70)
        if b64 is not None:
            thumb_idx.append(i)
            thumbs.append(b64)

    data = {
        "q": MAP_GRID_Q,
        "extent": extent,
        "x": qx.tolist(),
        "y": qy.tolist(),
        "label": lab.tolist(),
        "title": [_clean_title(t, max_title_chars) for t in titles],
        "price": [_clean_price(p) for p in prices],
        "clusters": clusters,
        "thumb_idx": thumb_idx,
        "thumb_b64": thumbs,
    }
    n_with_thumb = int(has_thumb.sum())
    thumb_note = f"Thumbnails for {len(thumb_idx):,} of {n_with_thumb:,} posts with images" + (
        f" (capped at {max_thumbnails:,})." if n_with_thumb > max_thumbnails else "."
    )
    script = static_text(MAP_SCRIPT)
    return write_page(
        path, "map.html.j2", csp=script_csp(script), title=title, n=n, thumb_note=thumb_note, data=data, script=script
    )
