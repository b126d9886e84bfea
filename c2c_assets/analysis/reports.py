"""Reports people look at: cluster cards, 2-D maps and encoder comparisons.

Plain data in, files (or Markdown strings for Dagster metadata) out; no Dagster here.

Every HTML file is self-contained: thumbnails and data are inlined, there is no CDN and no
network access, and a Content-Security-Policy meta tag makes the browser refuse any fetch
anyway (`default-src 'none'`). Post titles and URLs are hostile scraped content: every text
is HTML-escaped in Python (``html.escape``) or set with ``textContent`` in JavaScript, only
``http(s)`` URLs become links, and JSON inside ``<script>`` has ``<``, ``>``, ``&`` escaped
as ``\\u003c`` & co. so no string can close the script element.

Files are written atomically (temp file in the same folder + ``os.replace``) so a reader,
or a report server, never sees half a file.
"""

from __future__ import annotations

import base64
import colorsys
import html
import io
import json
import math
import numbers
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit

import numpy as np
from PIL import Image

from c2c_assets.storage import Location, location, open_image

__all__ = [
    "ClusterCard",
    "NearestPost",
    "cluster_colours",
    "cluster_report_markdown",
    "comparison_markdown",
    "png_markdown",
    "top_terms",
    "write_cluster_report_html",
    "write_comparison_html",
    "write_map_html",
    "write_map_png",
]

NOISE_LABEL = -1  # HDBSCAN & co. mark unclustered points with -1; shown as grey "noise".
NOISE_COLOUR = "#b0b0b0"

# Map page caps, documented in write_map_html: a 64 px JPEG is about 2-3 KB of base64, so
# 2,000 thumbnails add about 5 MB; titles are cut because a tooltip shows one or two lines.
MAP_MAX_THUMBNAILS = 2_000
MAP_THUMB_PX = 64
MAP_MAX_TITLE_CHARS = 140
# World coordinates are quantised to integers 0..MAP_GRID_Q: 6 characters per value in JSON
# instead of ~18 for a float, and 1e-5 of the data extent is far below a pixel at any sane zoom.
MAP_GRID_Q = 100_000

Better = Literal["higher", "lower", "none"]


# ----------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class NearestPost:
    """One post close to its cluster's centroid, as a report shows it."""

    post_id: str
    title: str
    price_usd: float | None
    url: str | None
    thumbnail: Location | None  # a stored JPEG; None when the post has no image
    distance: float  # to the centroid, in the clustering space


@dataclass(frozen=True)
class ClusterCard:
    """What a report shows about one cluster."""

    cluster_id: int
    size: int
    multi_image_share: float  # share of the cluster's posts with 2+ images, 0..1 (NaN: unknown)
    top_terms: list[str] = field(default_factory=list)
    nearest: list[NearestPost] = field(default_factory=list)  # closest to the centroid first


# ----------------------------------------------------------------------------------------------
# c-TF-IDF

# Words of 2+ characters that contain a letter: "brake", "f150", "4x4", "70r17". Pure numbers
# (years, prices, "265") carry little topic signal and are dropped; so are slashes, which
# split sizes such as "265/70r17" (fine for top terms).
_TERM_PATTERN = r"(?u)\b(?=\w*[^\W\d_])\w{2,}\b"


def top_terms(texts_by_cluster: Mapping[int, Sequence[str]], n: int = 8) -> dict[int, list[str]]:
    """The ``n`` most distinctive terms per cluster by class-based TF-IDF (c-TF-IDF, as in BERTopic).

    Each cluster's documents are joined into one class document; a term's weight in class c is
    ``tf(t, c) * log(1 + A / f_t)``, with ``tf`` the term's count in c divided by c's word count,
    ``f_t`` the term's count over all classes and ``A`` the average number of words per class.
    Unlike per-document IDF this rewards terms frequent in one cluster and rare elsewhere, which
    is what a cluster label needs. Ties break alphabetically so reports are reproducible.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    cluster_ids = list(texts_by_cluster)
    result: dict[int, list[str]] = {c: [] for c in cluster_ids}
    if n <= 0 or not cluster_ids:
        return result
    class_docs = [" ".join(t for t in texts_by_cluster[c] if t) for c in cluster_ids]
    vectorizer = CountVectorizer(stop_words="english", token_pattern=_TERM_PATTERN, lowercase=True)
    try:
        counts = vectorizer.fit_transform(class_docs)
    except ValueError:  # empty vocabulary: no cluster has a single usable word
        return result
    counts = counts.astype(np.float64).tocsr()
    terms = vectorizer.get_feature_names_out()

    words_per_class = np.asarray(counts.sum(axis=1)).ravel()
    term_totals = np.asarray(counts.sum(axis=0)).ravel()  # f_t, > 0 for every vocabulary term
    avg_words = float(words_per_class.mean())
    idf = np.log1p(avg_words / term_totals)

    for row, c in enumerate(cluster_ids):
        start, end = counts.indptr[row], counts.indptr[row + 1]
        if start == end:
            continue
        cols = counts.indices[start:end]
        scores = counts.data[start:end] / words_per_class[row] * idf[cols]
        # lexsort: last key is primary; -score descending, then the term ascending.
        order = np.lexsort((terms[cols], -scores))[:n]
        result[c] = [str(terms[cols[i]]) for i in order]
    return result


# ----------------------------------------------------------------------------------------------
# Small helpers


def _atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file 0600; reports are meant to be read (and served) by others.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def _atomic_write_text(path: Path | str, text: str) -> Path:
    return _atomic_write_bytes(path, text.encode("utf-8"))


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _safe_url(url: str | None) -> str | None:
    """Only absolute http(s) URLs become links: a scraped ``javascript:`` URL must stay text."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Percent-encode what could end a Markdown link or an attribute; keep URL syntax intact.
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


def _is_number(value: object) -> bool:
    # bool is an int subclass but a flag, not a measurement; numpy scalars register as Real.
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _fmt_number(value: object) -> str:
    """Numbers for humans: ints with thousands separators, floats with 4 significant digits."""
    if value is None:
        return "–"
    if not _is_number(value):
        return str(value)
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    v = float(value)  # type: ignore[arg-type]
    if math.isnan(v):
        return "–"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.1f}"
    return f"{v:.4g}"


def _fmt_price(price: float | None) -> str:
    if price is None or not math.isfinite(price):
        return "no price"
    return f"${price:,.2f}"


def _fmt_share(share: float) -> str:
    if share is None or not math.isfinite(share):
        return "n/a"
    return f"{share:.0%}"


def _cluster_name(cluster_id: int) -> str:
    return "noise" if cluster_id == NOISE_LABEL else f"cluster {cluster_id}"


def _thumb_jpeg(path: Location, max_px: int, quality: int) -> bytes | None:
    try:
        with open_image(path) as im:
            im.draft("RGB", (max_px, max_px))  # JPEG decodes at 1/2..1/8 scale: much faster
            im = im.convert("RGB")
            im.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=quality, optimize=True)
            return buf.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None  # a missing or broken thumbnail must not sink a report


def _thumb_b64(path: Location | str | None, max_px: int, quality: int = 75) -> str | None:
    """A thumbnail re-encoded as a small JPEG, base64; None if there is none or it is unreadable."""
    if path is None:
        return None
    data = _thumb_jpeg(location(path), max_px, quality)
    return None if data is None else base64.b64encode(data).decode("ascii")


def _script_json(value: object) -> str:
    """JSON safe to put inside a <script> element: no ``</script>``, ``<!--`` or U+2028 breaks."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


# Categorical colours: matplotlib's tab10 without its grey (grey is noise), then tab20's light
# shades, then golden-angle hues. The same function colours the PNG and the HTML map, so a
# cluster has one colour everywhere.
_BASE_COLOURS = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
]  # fmt: skip


def cluster_colours(labels: Iterable[int]) -> dict[int, str]:
    """A hex colour per distinct label (sorted), grey for the noise label -1."""
    colours: dict[int, str] = {}
    i = 0
    for label in sorted({int(x) for x in labels}):
        if label == NOISE_LABEL:
            colours[label] = NOISE_COLOUR
            continue
        if i < len(_BASE_COLOURS):
            colours[label] = _BASE_COLOURS[i]
        else:
            k = i - len(_BASE_COLOURS)
            hue = (k * 0.618033988749895) % 1.0
            light = (0.42, 0.58, 0.34)[k % 3]
            r, g, b = colorsys.hls_to_rgb(hue, light, 0.75)
            colours[label] = f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"
        i += 1
    return colours


# ----------------------------------------------------------------------------------------------
# Cluster report: HTML

# No scripts at all in the static reports: the CSP forbids them, so even an escaping bug could
# not run code, and forbids every fetch, so the page provably uses nothing outside the file.
_CSP_STATIC = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_CSP_SCRIPTED = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

_BASE_CSS = """
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;margin:0 auto;
  max-width:1200px;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 6px}
.sub{color:#555;margin:0 0 12px}
table{border-collapse:collapse;margin:8px 0}
th,td{border-bottom:1px solid #e3e3e3;padding:4px 10px;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#f3f3f3;padding:0 4px;border-radius:3px}
"""

_REPORT_CSS = """
nav{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0}
nav a{font-size:12px;background:#f1f4f8;border-radius:10px;padding:1px 8px;color:#1f4f8f;text-decoration:none}
section.cluster{border-top:2px solid #e8e8e8;margin-top:18px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.stats{color:#444;margin:2px 0 6px}
.terms{margin:4px 0 10px}
.term{display:inline-block;background:#eef3ea;border-radius:10px;padding:0 8px;margin:2px 4px 2px 0;font-size:13px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
figure.post{margin:0;border:1px solid #e5e5e5;border-radius:6px;padding:8px;background:#fff}
figure.post img,figure.post .noimg{display:block;width:100%;aspect-ratio:1/1;object-fit:cover;border-radius:4px;
  background:#f4f4f4}
figure.post .noimg{display:flex;align-items:center;justify-content:center;color:#999;font-size:12px}
figcaption{margin-top:6px;font-size:13px;overflow-wrap:anywhere}
figcaption .price{display:block;font-weight:600}
figcaption .dist{display:block;color:#888;font-size:11px}
"""


def _metrics_table_html(metrics: Mapping[str, float | int | str]) -> str:
    rows = []
    for key, value in metrics.items():
        cls = ' class="num"' if _is_number(value) else ""
        rows.append(f"<tr><th scope=\"row\">{_esc(key)}</th><td{cls}>{_esc(_fmt_number(value))}</td></tr>")
    if not rows:
        return "<p>No metrics.</p>"
    return '<table class="metrics"><tbody>' + "".join(rows) + "</tbody></table>"


def _post_figure_html(post: NearestPost, thumb_px: int) -> str:
    title = _esc(post.title or "(untitled)")
    url = _safe_url(post.url)
    b64 = _thumb_b64(post.thumbnail, thumb_px)
    if b64 is not None:
        img = f'<img src="data:image/jpeg;base64,{b64}" alt="" loading="lazy">'
    else:
        img = '<div class="noimg">no image</div>'
    link = (
        f'<a class="title" href="{_esc(url)}" rel="noopener noreferrer nofollow" target="_blank">{title}</a>'
        if url
        else f'<span class="title">{title}</span>'
    )
    return (
        f'<figure class="post" data-post-id="{_esc(post.post_id)}">{img}<figcaption>{link}'
        f'<span class="price">{_esc(_fmt_price(post.price_usd))}</span>'
        f'<span class="dist">distance {_esc(_fmt_number(post.distance))}</span></figcaption></figure>'
    )


def write_cluster_report_html(
    path: Path | str,
    *,
    encoder: str,
    cards: Sequence[ClusterCard],
    metrics: Mapping[str, float | int | str],
    method: str,
    thumb_px: int = 160,
) -> Path:
    """One self-contained HTML page: a metrics table, then a section per cluster.

    Each section shows the size, the share of multi-image posts, the top terms and a grid of
    the posts nearest the centroid (thumbnail re-encoded to at most ``thumb_px`` px and inlined,
    title as a link when the URL is http(s), price). The page has no scripts.
    """
    total = sum(c.size for c in cards)
    colours = cluster_colours(c.cluster_id for c in cards)
    nav = "".join(f'<a href="#cluster-{int(c.cluster_id)}">{_esc(_cluster_name(c.cluster_id))}</a>' for c in cards)
    sections = []
    for card in cards:
        cid = int(card.cluster_id)
        share_of_all = card.size / total if total else float("nan")
        terms = "".join(f'<span class="term">{_esc(t)}</span>' for t in card.top_terms) or "<em>none</em>"
        posts = "".join(_post_figure_html(p, thumb_px) for p in card.nearest)
        sections.append(
            f'<section class="cluster" id="cluster-{cid}" data-cluster="{cid}">'
            f'<h2><span class="swatch" style="background:{colours[cid]}"></span>'
            f"{_esc(_cluster_name(cid).capitalize())}</h2>"
            f'<p class="stats"><span class="size">{card.size:,} posts</span> ({_esc(_fmt_share(share_of_all))} of all)'
            f' · <span class="multi">{_esc(_fmt_share(card.multi_image_share))} multi-image</span></p>'
            f'<p class="terms">Top terms: {terms}</p>'
            + (f'<div class="grid">{posts}</div>' if posts else "<p><em>No posts to show.</em></p>")
            + "</section>"
        )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP_STATIC}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Clusters · {_esc(encoder)}</title>
<style>{_BASE_CSS}{_REPORT_CSS}</style></head>
<body>
<header><h1>Clusters for encoder <code>{_esc(encoder)}</code></h1>
<p class="sub">Method: {_esc(method)} · {len(cards):,} clusters · {total:,} posts</p>
<nav aria-label="clusters">{nav}</nav></header>
<section id="metrics"><h2>Metrics</h2>{_metrics_table_html(metrics)}</section>
{"".join(sections)}
</body></html>
"""
    return _atomic_write_text(path, page)


# ----------------------------------------------------------------------------------------------
# Cluster report: Markdown (Dagster metadata)

# Inline Markdown punctuation; our texts never start a line, so "#", "-", "1." need no escaping.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~!])")


def _md_text(text: str) -> str:
    """Text safe in Markdown: HTML-escaped (raw HTML is allowed there) and punctuation escaped."""
    text = " ".join(str(text).split())  # newlines would end a list item or table row
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def _md_metrics_table(metrics: Mapping[str, float | int | str]) -> str:
    if not metrics:
        return ""
    lines = ["| metric | value |", "|---|---:|"]
    lines += [f"| {_md_text(k)} | {_md_text(_fmt_number(v))} |" for k, v in metrics.items()]
    return "\n".join(lines)


def cluster_report_markdown(
    cards: Sequence[ClusterCard],
    metrics: Mapping[str, float | int | str],
    max_thumb_px: int = 64,
    *,
    max_posts: int = 3,
) -> str:
    """The cluster report as compact Markdown for ``dg.MetadataValue.md``.

    At most ``max_posts`` posts per cluster, each with one thumbnail re-encoded to at most
    ``max_thumb_px`` px (about 1-2 KB of base64), so the metadata stays around
    ``clusters x max_posts x 2 KB``.

    Thumbnails use Markdown image syntax ``![](data:image/jpeg;base64,...)``, shown at their
    pixel size: Dagster's UI (checked on 1.13.27) drops raw HTML such as ``<img ... width=48>``
    without a trace, while Markdown images with data: URIs render.
    """
    total = sum(c.size for c in cards)
    parts: list[str] = []
    table = _md_metrics_table(metrics)
    if table:
        parts += ["**Metrics**", "", table, ""]
    for card in cards:
        share_of_all = card.size / total if total else float("nan")
        parts.append(
            f"### {_md_text(_cluster_name(card.cluster_id).capitalize())} · {card.size:,} posts"
            f" ({_md_text(_fmt_share(share_of_all))}) · {_md_text(_fmt_share(card.multi_image_share))} multi-image"
        )
        parts.append("")
        if card.top_terms:
            parts.append("Top terms: " + ", ".join(_md_text(t) for t in card.top_terms))
            parts.append("")
        for post in card.nearest[: max(0, max_posts)]:
            b64 = _thumb_b64(post.thumbnail, max_thumb_px, quality=70)
            img = f"![thumbnail](data:image/jpeg;base64,{b64}) " if b64 else ""
            title = _md_text(post.title or "(untitled)")
            url = _safe_url(post.url)
            label = f"[{title}]({url})" if url else title
            parts.append(f"- {img}{label} · {_md_text(_fmt_price(post.price_usd))}")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


# ----------------------------------------------------------------------------------------------
# Static map (PNG)


def _hex_to_rgba(colour: str, alpha: float) -> tuple[float, float, float, float]:
    c = colour.lstrip("#")
    return (int(c[0:2], 16) / 255, int(c[2:4], 16) / 255, int(c[4:6], 16) / 255, alpha)


def _check_map_inputs(coords2d: np.ndarray | Sequence, labels: np.ndarray | Sequence) -> tuple[np.ndarray, np.ndarray]:
    xy = np.asarray(coords2d, dtype=np.float64)
    lab = np.asarray(labels).astype(np.int64, copy=False).ravel()
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coords2d must have shape (n, 2), got {xy.shape}")
    if len(lab) != len(xy):
        raise ValueError(f"{len(xy)} points but {len(lab)} labels")
    if not np.isfinite(xy).all():
        raise ValueError("coords2d contains NaN or infinite values")
    return xy, lab


def write_map_png(
    path: Path | str,
    coords2d: np.ndarray | Sequence,
    labels: np.ndarray | Sequence,
    title: str,
    *,
    width_px: int = 1200,
    height_px: int = 900,
    dpi: int = 100,
) -> Path:
    """A 2-D scatter (e.g. UMAP) coloured by cluster, exactly ``width_px`` x ``height_px``.

    Points are drawn in a shuffled order so no cluster systematically hides another; each
    cluster id is written at its median position, and a legend lists the clusters (up to 40).
    """
    # Figure + Agg canvas directly, not pyplot: no global state, safe inside a threaded Dagster run.
    from matplotlib import patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    xy, lab = _check_map_inputs(coords2d, labels)
    n = len(xy)
    colours = cluster_colours(lab.tolist())
    uniq = sorted(colours)

    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    show_legend = 0 < len(uniq) <= 40
    legend_cols = 1 if len(uniq) <= 30 else 2
    right = 0.98 if not show_legend else 0.80 if legend_cols == 1 else 0.64  # room for the legend
    fig.subplots_adjust(left=0.02, right=right, top=0.94, bottom=0.02)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=15)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")

    if n:
        order = np.random.default_rng(0).permutation(n)
        alpha = 0.85 if n <= 5_000 else 0.55
        palette = np.array([_hex_to_rgba(colours[label], alpha) for label in uniq])
        point_colours = palette[np.searchsorted(np.asarray(uniq), lab[order])]
        size = float(np.clip(60_000 / n, 1.0, 30))  # marker area in pt^2: big when few, dots at 70K
        ax.scatter(xy[order, 0], xy[order, 1], c=point_colours, s=size, linewidths=0, rasterized=True)
        outline = [patheffects.withStroke(linewidth=3, foreground="white")]
        for label in uniq:
            if label == NOISE_LABEL:
                continue
            mx, my = np.median(xy[lab == label], axis=0)
            ax.text(mx, my, str(label), fontsize=11, fontweight="bold", ha="center", va="center",
                    color="#222", path_effects=outline)  # fmt: skip

    if show_legend:
        counts = {label: int((lab == label).sum()) for label in uniq}
        handles = [
            Line2D([], [], marker="o", linestyle="", markersize=8, markerfacecolor=colours[label],
                   markeredgewidth=0, label=f"{_cluster_name(label)} ({counts[label]:,})")
            for label in uniq
        ]  # fmt: skip
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  fontsize=10 if len(uniq) <= 20 else 9 if legend_cols == 1 else 8, ncol=legend_cols,
                  borderaxespad=0.0, handletextpad=0.3, columnspacing=0.8)  # fmt: skip

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)  # no bbox_inches="tight": it would change the size
    return _atomic_write_bytes(path, buf.getvalue())


def png_markdown(path: Path | str, width: int = 600, *, alt: str = "map") -> str:
    """The PNG inlined as ``![alt](data:image/png;base64,...)`` for ``dg.MetadataValue.md``.

    Downscaled to ``width`` px wide (Markdown images show at their pixel size; Dagster's UI drops
    a raw ``<img width=...>``) and palette-quantised: Dagster keeps metadata in its event log,
    and the full 1200x900 image would be 5-10x bigger for no visible gain there.
    """
    with Image.open(path) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, max(1, round(im.height * width / im.width))), Image.Resampling.LANCZOS)
        im = im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        im.save(buf, format="PNG", optimize=True)
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"![{_md_text(alt)}](data:image/png;base64,{b64})"


# ----------------------------------------------------------------------------------------------
# Interactive map (HTML + canvas)

_MAP_CSS = """
html,body{margin:0;height:100%;font:13px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f}
#wrap{display:flex;height:100vh}
#main{position:relative;flex:1;min-width:0;overflow:hidden}
#map{display:block;width:100%;height:100%;cursor:grab;background:#fff;touch-action:none}
#map.dragging{cursor:grabbing}
#side{width:240px;flex:none;overflow:auto;border-left:1px solid #ddd;padding:10px 12px;box-sizing:border-box}
h1{font-size:15px;margin:0 0 6px;overflow-wrap:anywhere}
.hint,.note{color:#666;font-size:12px;margin:4px 0 10px}
#legend{list-style:none;margin:0;padding:0}
#legend li{display:flex;align-items:center;gap:6px;padding:2px 0;cursor:pointer;user-select:none}
#legend li.off{opacity:.35}
#legend .sw{width:12px;height:12px;border-radius:2px;flex:none}
#tip{position:absolute;z-index:2;pointer-events:none;display:none;max-width:260px;background:#fff;border:1px solid #bbb;
  border-radius:5px;padding:6px 8px;box-shadow:0 2px 8px rgba(0,0,0,.18)}
#tip img{display:block;max-width:64px;max-height:64px;margin-bottom:4px;border-radius:3px}
#tip .t{font-weight:600;overflow-wrap:anywhere}
#tip .p{margin-top:2px}
#tip .c{color:#666;font-size:12px}
"""

# Plain JS, no libraries. Conventions: world coordinates are the quantised 0..Q integers from
# Python (y already flipped so "up" matches the PNG); screen = world * scale + (tx, ty) in CSS
# pixels. Hover finds the nearest visible point within 8 px using a uniform grid (CSR layout),
# so a mouse move touches a few cells, not all 70K points. Every text goes in with textContent.
_MAP_JS = r"""
(function () {
"use strict";
const D = JSON.parse(document.getElementById("c2c-map-data").textContent);
const n = D.x.length, X = D.x, Y = D.y;
const canvas = document.getElementById("map"), ctx = canvas.getContext("2d");
const main = document.getElementById("main");
const tip = document.getElementById("tip"), tipImg = tip.querySelector("img");
const tipT = tip.querySelector(".t"), tipP = tip.querySelector(".p"), tipC = tip.querySelector(".c");
const clusters = D.clusters, nc = clusters.length;
const slot = new Map(clusters.map((c, k) => [c.label, k]));
const ci = new Int32Array(n);
for (let i = 0; i < n; i++) ci[i] = slot.get(D.label[i]);
const thumbs = new Map();
for (let k = 0; k < D.thumb_idx.length; k++) thumbs.set(D.thumb_idx[k], D.thumb_b64[k]);
const hidden = new Uint8Array(nc);

// Points per cluster, drawn in legend order (labels sorted: noise -1 first, under the clusters).
const members = clusters.map(() => []);
for (let i = 0; i < n; i++) members[ci[i]].push(i);

// Uniform grid over world space for hover lookup.
const G = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n / 4))));
const cellW = (D.q + 1) / G;
const cellOf = (v) => Math.min(G - 1, Math.max(0, Math.floor(v / cellW)));
const cellStart = new Int32Array(G * G + 1), cellItems = new Int32Array(n);
for (let i = 0; i < n; i++) cellStart[cellOf(Y[i]) * G + cellOf(X[i]) + 1]++;
for (let c = 0; c < G * G; c++) cellStart[c + 1] += cellStart[c];
const fill = cellStart.slice(0, G * G);
for (let i = 0; i < n; i++) cellItems[fill[cellOf(Y[i]) * G + cellOf(X[i])]++] = i;

let W = 0, H = 0, fitScale = 1, hovered = -1, frame = 0;
const view = { scale: 1, tx: 0, ty: 0 };

function fitView() {
  const pad = 24, ew = Math.max(1, D.extent[0]), eh = Math.max(1, D.extent[1]);
  fitScale = Math.max(1e-9, Math.min((W - 2 * pad) / ew, (H - 2 * pad) / eh));
  view.scale = fitScale;
  view.tx = (W - ew * fitScale) / 2;
  view.ty = (H - eh * fitScale) / 2;
}
function resize() {
  const r = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
  const first = W === 0;
  W = Math.max(1, r.width); H = Math.max(1, r.height);
  canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  if (first) fitView();
  schedule();
}
function schedule() { if (!frame) frame = requestAnimationFrame(draw); }
function draw() {
  frame = 0;
  ctx.clearRect(0, 0, W, H);
  const s = view.scale, tx = view.tx, ty = view.ty;
  const base = n > 20000 ? 2 : n > 2000 ? 3 : 5;
  const size = Math.min(10, base * Math.max(1, Math.sqrt(s / fitScale) * 0.75)), h = size / 2;
  for (let k = 0; k < nc; k++) {
    if (hidden[k]) continue;
    ctx.fillStyle = clusters[k].colour;
    const m = members[k];
    for (let j = 0; j < m.length; j++) {
      const i = m[j], sx = X[i] * s + tx, sy = Y[i] * s + ty;
      if (sx < -h || sy < -h || sx > W + h || sy > H + h) continue;
      ctx.fillRect(sx - h, sy - h, size, size);
    }
  }
  if (hovered >= 0) {
    ctx.beginPath();
    ctx.arc(X[hovered] * s + tx, Y[hovered] * s + ty, h + 4, 0, 2 * Math.PI);
    ctx.lineWidth = 2; ctx.strokeStyle = "#111"; ctx.stroke();
  }
}

function nearest(mx, my, radiusPx) {
  const s = view.scale, wx = (mx - view.tx) / s, wy = (my - view.ty) / s, wr = radiusPx / s;
  const c0 = cellOf(wx - wr), c1 = cellOf(wx + wr), r0 = cellOf(wy - wr), r1 = cellOf(wy + wr);
  let best = -1, bestD = wr * wr;
  for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) {
    const cell = r * G + c;
    for (let k = cellStart[cell]; k < cellStart[cell + 1]; k++) {
      const i = cellItems[k];
      if (hidden[ci[i]]) continue;
      const dx = X[i] - wx, dy = Y[i] - wy, d = dx * dx + dy * dy;
      if (d <= bestD) { bestD = d; best = i; }
    }
  }
  return best;
}
function fmtPrice(p) {
  if (p === null || p === undefined) return "no price";
  return "$" + p.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
function showTip(i, mx, my) {
  tipT.textContent = D.title[i];
  tipP.textContent = fmtPrice(D.price[i]);
  tipC.textContent = clusters[ci[i]].name;
  const b64 = thumbs.get(i);
  if (b64) { tipImg.src = "data:image/jpeg;base64," + b64; tipImg.style.display = "block"; }
  else { tipImg.removeAttribute("src"); tipImg.style.display = "none"; }
  tip.style.display = "block";
  const tw = tip.offsetWidth, th = tip.offsetHeight;
  tip.style.left = Math.max(0, mx + 14 + tw > W ? mx - 14 - tw : mx + 14) + "px";
  tip.style.top = Math.max(0, my + 14 + th > H ? my - 14 - th : my + 14) + "px";
}
function hideTip() { tip.style.display = "none"; }
function setHover(i, mx, my) {
  if (i >= 0) showTip(i, mx, my); else hideTip();
  if (i !== hovered) { hovered = i; schedule(); }
}

let drag = null;
function local(e) { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; }
canvas.addEventListener("pointerdown", (e) => {
  if (e.button !== 0) return;
  const [mx, my] = local(e);
  drag = { x: mx, y: my, tx: view.tx, ty: view.ty, id: e.pointerId };
  canvas.setPointerCapture(e.pointerId);
  canvas.classList.add("dragging");
  setHover(-1);
});
canvas.addEventListener("pointermove", (e) => {
  const [mx, my] = local(e);
  if (drag) { view.tx = drag.tx + mx - drag.x; view.ty = drag.ty + my - drag.y; schedule(); return; }
  setHover(nearest(mx, my, 8), mx, my);
});
function endDrag(e) {
  if (!drag) return;
  if (canvas.hasPointerCapture(drag.id)) canvas.releasePointerCapture(drag.id);
  drag = null;
  canvas.classList.remove("dragging");
}
canvas.addEventListener("pointerup", endDrag);
canvas.addEventListener("pointercancel", endDrag);
canvas.addEventListener("pointerleave", () => { if (!drag) setHover(-1); });
canvas.addEventListener("wheel", (e) => {
  e.preventDefault();
  const [mx, my] = local(e);
  const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? H : 1;
  const factor = Math.exp(Math.max(-1, Math.min(1, -e.deltaY * unit * 0.002)));
  const s = Math.min(fitScale * 5000, Math.max(fitScale / 4, view.scale * factor));
  // Keep the world point under the cursor where it is.
  view.tx = mx - (mx - view.tx) * (s / view.scale);
  view.ty = my - (my - view.ty) * (s / view.scale);
  view.scale = s;
  setHover(nearest(mx, my, 8), mx, my);
  schedule();
}, { passive: false });
canvas.addEventListener("dblclick", () => { fitView(); schedule(); });

const legend = document.getElementById("legend");
clusters.forEach((c, k) => {
  const li = document.createElement("li");
  li.dataset.label = String(c.label);
  li.title = "click to hide or show";
  const sw = document.createElement("span");
  sw.className = "sw"; sw.style.background = c.colour;
  const txt = document.createElement("span");
  txt.textContent = c.name + " (" + c.count.toLocaleString("en-US") + ")";
  li.append(sw, txt);
  li.addEventListener("click", () => {
    hidden[k] ^= 1; li.classList.toggle("off", !!hidden[k]);
    if (hovered >= 0 && hidden[ci[hovered]]) setHover(-1);
    schedule();
  });
  legend.append(li);
});

new ResizeObserver(resize).observe(main);
resize();
draw();
// A small read-only handle for tests and the console.
window.c2cMap = Object.freeze({
  n: n,
  view: () => ({ scale: view.scale, tx: view.tx, ty: view.ty }),
  screenOf: (i) => ({ x: X[i] * view.scale + view.tx, y: Y[i] * view.scale + view.ty }),
  hovered: () => hovered,
});
document.body.dataset.ready = "1";
})();
"""


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


def write_map_html(
    path: Path | str,
    *,
    coords2d: np.ndarray | Sequence,
    labels: np.ndarray | Sequence,
    titles: Sequence[str],
    prices: Sequence[float | None],
    thumbnails: Sequence[Path | None],
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
    xy, lab = _check_map_inputs(coords2d, labels)
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
        {"label": label, "colour": colours[label], "name": _cluster_name(label), "count": counts[label]}
        for label in sorted(colours)
    ]

    def clean_price(p: float | None) -> float | None:
        # JSON has no NaN; a missing or absurd price is simply "no price".
        if p is None or not _is_number(p) or not math.isfinite(float(p)):
            return None
        return round(float(p), 2)

    def clean_title(t: str | None) -> str:
        t = " ".join(str(t or "").split()) or "(untitled)"
        return t if len(t) <= max_title_chars else t[: max_title_chars - 1].rstrip() + "…"

    has_thumb = np.array([t is not None for t in thumbnails], dtype=bool)
    picked = _pick_thumbnails(lab, np.flatnonzero(has_thumb), max(0, max_thumbnails))
    thumb_idx: list[int] = []
    thumb_b64: list[str] = []
    for i in picked.tolist():
        b64 = _thumb_b64(thumbnails[i], thumb_px, quality=70)
        if b64 is not None:
            thumb_idx.append(i)
            thumb_b64.append(b64)

    data = {
        "q": MAP_GRID_Q,
        "extent": extent,
        "x": qx.tolist(),
        "y": qy.tolist(),
        "label": lab.tolist(),
        "title": [clean_title(t) for t in titles],
        "price": [clean_price(p) for p in prices],
        "clusters": clusters,
        "thumb_idx": thumb_idx,
        "thumb_b64": thumb_b64,
    }
    n_with_thumb = int(has_thumb.sum())
    thumb_note = (
        f"Thumbnails for {len(thumb_idx):,} of {n_with_thumb:,} posts with images"
        + (f" (capped at {max_thumbnails:,})." if n_with_thumb > max_thumbnails else ".")
    )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP_SCRIPTED}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<style>{_MAP_CSS}</style></head>
<body>
<div id="wrap"><div id="main"><canvas id="map" aria-label="{_esc(title)}"></canvas>
<div id="tip" role="tooltip"><img alt=""><div class="t"></div><div class="p"></div><div class="c"></div></div></div>
<aside id="side"><h1>{_esc(title)}</h1>
<p class="hint">{n:,} posts · drag to pan, wheel to zoom, double-click to reset, click a legend entry to hide it.</p>
<ul id="legend"></ul>
<p class="note">{_esc(thumb_note)}</p></aside></div>
<script type="application/json" id="c2c-map-data">{_script_json(data)}</script>
<script>{_MAP_JS}</script>
</body></html>
"""
    return _atomic_write_text(path, page)


# ----------------------------------------------------------------------------------------------
# Encoder comparison

# Counts and settings (n, k, dim, n_clusters, posts_count) are facts, not scores: no "best".
_NOT_A_SCORE = re.compile(r"^(n|k|dim|dims|n_\w+|num_\w+|\w+_count|count|seed)$", re.IGNORECASE)
# Metric names where smaller is better; any other numeric column is "higher is better".
_LOWER_IS_BETTER = re.compile(
    r"(davies|bouldin|inertia|loss|error|time|seconds|latency|_ms$|_s$|memory|bytes|_mb$|_gb$|noise|cost)",
    re.IGNORECASE,
)


def _columns(rows: Sequence[Mapping[str, object]]) -> list[str]:
    cols: dict[str, None] = {}
    for row in rows:
        cols.update(dict.fromkeys(row))
    return list(cols)


def _best_by_column(
    rows: Sequence[Mapping[str, object]], columns: Sequence[str], better: Mapping[str, Better] | None
) -> tuple[dict[str, Better], dict[str, float]]:
    """Direction per numeric column and its best value (ties all count as best)."""
    directions: dict[str, Better] = {}
    best: dict[str, float] = {}
    for col in columns:
        values = [row.get(col) for row in rows if row.get(col) is not None]
        if not values or not all(_is_number(v) for v in values):
            continue
        finite = [float(v) for v in values if math.isfinite(float(v))]  # type: ignore[arg-type]
        direction: Better | None = (better or {}).get(col)
        if direction is None:
            direction = "none" if _NOT_A_SCORE.match(col) else "lower" if _LOWER_IS_BETTER.search(col) else "higher"
        directions[col] = direction
        if direction != "none" and finite and len(rows) > 1:
            best[col] = min(finite) if direction == "lower" else max(finite)
    return directions, best


def _column_formatter(rows: Sequence[Mapping[str, object]], col: str) -> Callable[[object], str]:
    """One number format per column, so decimals line up: ints with separators; floats with the
    decimals that give the column's largest value 4 significant digits (0 to 4 decimals)."""
    values = [row.get(col) for row in rows]
    numbers_ = [float(v) for v in values if _is_number(v) and math.isfinite(float(v))]  # type: ignore[arg-type]
    if not numbers_ or all(isinstance(v, numbers.Integral) for v in values if _is_number(v)):
        return _fmt_number
    biggest = max(abs(v) for v in numbers_)
    decimals = 4 if biggest == 0 else min(4, max(0, 3 - math.floor(math.log10(biggest))))

    def fmt(v: object) -> str:
        if not _is_number(v) or not math.isfinite(float(v)):  # type: ignore[arg-type]
            return _fmt_number(v)
        return f"{float(v):,.{decimals}f}"  # type: ignore[arg-type]

    return fmt


def _is_best(value: object, col: str, best: Mapping[str, float]) -> bool:
    if col not in best or not _is_number(value):
        return False
    return math.isclose(float(value), best[col], rel_tol=1e-12)  # type: ignore[arg-type]


def _comparison_th(col: str, direction: Better | None) -> str:
    if direction is None:  # a text column
        return f'<th scope="col">{_esc(col)}</th>'
    arrow = {"higher": " ↑", "lower": " ↓", "none": ""}[direction]
    hint = f' title="{direction} is better"' if direction != "none" else ""
    return f'<th scope="col" class="num"{hint}>{_esc(col)}{arrow}</th>'


def write_comparison_html(
    path: Path | str,
    rows: Sequence[Mapping[str, object]],
    title: str,
    *,
    better: Mapping[str, Better] | None = None,
) -> Path:
    """A table comparing encoders, one row per dict; columns are the keys in first-seen order.

    Numbers are formatted; in each numeric column the best value is highlighted. "Best" is the
    maximum unless ``better`` says otherwise or the name reads like a cost (davies_bouldin,
    inertia, *_seconds, latency, memory, noise...: the minimum); counts and settings (n, k, dim,
    n_*, *_count) get no highlight; ``better={"col": "none"}`` turns it off for any column.
    """
    columns = _columns(rows)
    directions, best = _best_by_column(rows, columns, better)
    head = "".join(_comparison_th(c, directions.get(c)) for c in columns)
    fmt = {c: _column_formatter(rows, c) for c in columns}
    body_rows = []
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            classes = (["num"] if c in directions else []) + (["best"] if _is_best(v, c, best) else [])
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f"<td{cls}>{_esc(fmt[c](v))}</td>")
        body_rows.append("<tr>" + "".join(cells) + "</tr>")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP_STATIC}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_esc(title)}</title>
<style>{_BASE_CSS}
table.comparison th{{background:#f6f6f6;border-bottom:2px solid #ddd}}
td.best{{background:#e3f4e1;font-weight:700}}
</style></head>
<body>
<h1>{_esc(title)}</h1>
<p class="sub">{len(rows):,} encoders · best value per column highlighted (↑ higher is better, ↓ lower is better).</p>
<table class="comparison"><thead><tr>{head}</tr></thead>
<tbody>{"".join(body_rows)}</tbody></table>
</body></html>
"""
    return _atomic_write_text(path, page)


def comparison_markdown(rows: Sequence[Mapping[str, object]], *, better: Mapping[str, Better] | None = None) -> str:
    """The comparison as a Markdown table (best value per numeric column in bold)."""
    columns = _columns(rows)
    if not columns:
        return "_No encoders to compare._\n"
    directions, best = _best_by_column(rows, columns, better)
    arrows = {"higher": " ↑", "lower": " ↓", "none": ""}
    lines = [
        "| " + " | ".join(_md_text(c) + (arrows[directions[c]] if c in directions else "") for c in columns) + " |",
        "|" + "|".join("---:" if c in directions else "---" for c in columns) + "|",
    ]
    fmt = {c: _column_formatter(rows, c) for c in columns}
    for row in rows:
        cells = []
        for c in columns:
            text = _md_text(fmt[c](row.get(c)))
            cells.append(f"**{text}**" if _is_best(row.get(c), c, best) else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
