"""The static map: a 2-D scatter (e.g. UMAP) as a PNG with cluster names and, for many points, a density
layer; its Markdown for the Dagster UI; and the cluster colours every map and report shares."""

from __future__ import annotations

import base64
import colorsys
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from c2c_assets.reporting.formatting import NOISE_LABEL, cluster_name, md_text
from c2c_assets.storage import Location, atomic_path, location, open_image

__all__ = ["NOISE_COLOUR", "check_map_inputs", "cluster_colours", "png_markdown", "write_map_png"]

NOISE_COLOUR = "#b0b0b0"
# Above this many points one dot each is a blur: a density layer shows them all, and a sample is drawn.
MAX_DRAWN_POINTS = 70_000
DENSITY_BINS = 300

# Categorical colours: matplotlib's tab10 without its grey (grey is noise), then tab20's light
# shades, then golden-angle hues. The same function colours the PNG, the HTML map and the report,
# so a cluster has one colour everywhere.
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


def _hex_to_rgba(colour: str, alpha: float) -> tuple[float, float, float, float]:
    c = colour.lstrip("#")
    return (int(c[0:2], 16) / 255, int(c[2:4], 16) / 255, int(c[4:6], 16) / 255, alpha)


def check_map_inputs(coords2d: np.ndarray | Sequence, labels: np.ndarray | Sequence) -> tuple[np.ndarray, np.ndarray]:
    """``(n, 2)`` finite float coordinates and ``n`` int labels, or ValueError."""
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
    path: Location | str,
    coords2d: np.ndarray | Sequence,
    labels: np.ndarray | Sequence,
    title: str,
    *,
    names: Mapping[int, str] | None = None,
    max_points: int = MAX_DRAWN_POINTS,
    width_px: int = 1200,
    height_px: int = 900,
    dpi: int = 100,
) -> Path:
    """A 2-D scatter (e.g. UMAP) coloured by cluster, exactly ``width_px`` x ``height_px``.

    Points are drawn in a shuffled order so no cluster systematically hides another; each cluster's
    name (``names``: e.g. its top terms; else "cluster N") is written at its median position, and a legend
    lists the clusters (up to 40). Above ``max_points`` points a density layer (log counts on a grid) shows
    where the posts are, and a seeded sample of ``max_points`` of them is drawn over it in colour.
    """
    # Figure + Agg canvas directly, not pyplot: no global state, safe inside a threaded Dagster run.
    from matplotlib import patheffects
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    xy, lab = check_map_inputs(coords2d, labels)
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

    names = dict(names or {})
    if n > max_points:
        density, xe, ye = np.histogram2d(xy[:, 0], xy[:, 1], bins=DENSITY_BINS)
        layer = np.ma.masked_equal(np.log1p(density.T), 0)  # empty cells stay white
        ax.imshow(layer, origin="lower", extent=(xe[0], xe[-1], ye[0], ye[-1]), cmap="Greys",
                  alpha=0.8, aspect="auto", interpolation="nearest", zorder=0)  # fmt: skip
    if n:
        order = np.random.default_rng(0).permutation(n)[: max(1, max_points)]
        alpha = 0.85 if len(order) <= 5_000 else 0.55
        palette = np.array([_hex_to_rgba(colours[label], alpha) for label in uniq])
        point_colours = palette[np.searchsorted(np.asarray(uniq), lab[order])]
        size = float(np.clip(60_000 / len(order), 1.0, 30))  # marker area in pt^2: big when few, dots at 70K
        ax.scatter(xy[order, 0], xy[order, 1], c=point_colours, s=size, linewidths=0, rasterized=True)
        outline = [patheffects.withStroke(linewidth=3, foreground="white")]
        for label in uniq:
            if label == NOISE_LABEL:
                continue
            mx, my = np.median(xy[lab == label], axis=0)
            ax.text(mx, my, names.get(label, str(label)), fontsize=10 if label in names else 11, fontweight="bold",
                    ha="center", va="center", color="#222", path_effects=outline, zorder=3)  # fmt: skip

    if show_legend:
        counts = {label: int((lab == label).sum()) for label in uniq}
        handles = [
            Line2D([], [], marker="o", linestyle="", markersize=8, markerfacecolor=colours[label],
                   markeredgewidth=0, label=f"{names.get(label, cluster_name(label))} ({counts[label]:,})")
            for label in uniq
        ]  # fmt: skip
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
                  fontsize=10 if len(uniq) <= 20 else 9 if legend_cols == 1 else 8, ncol=legend_cols,
                  borderaxespad=0.0, handletextpad=0.3, columnspacing=0.8)  # fmt: skip

    target = location(path)
    with atomic_path(target) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)  # no bbox_inches="tight": it would change the size
    return target


def png_markdown(path: Location | str, width: int = 600, *, alt: str = "map") -> str:
    """The PNG inlined as ``![alt](data:image/png;base64,...)`` for ``dg.MetadataValue.md``.

    Downscaled to ``width`` px wide (Markdown images show at their pixel size; Dagster's UI drops
    a raw ``<img width=...>``) and palette-quantised: Dagster keeps metadata in its event log,
    and the full 1200x900 image would be 5-10x bigger for no visible gain there.
    """
    with open_image(location(path)) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, max(1, round(im.height * width / im.width))), Image.Resampling.LANCZOS)
        im = im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        im.save(buf, format="PNG", optimize=True)
    b64 = base64.b64encode(buf.getvalue()).decode("ascii")
    return f"![{md_text(alt)}](data:image/png;base64,{b64})"
