"""Numbers, prices and shares for humans; Markdown escaping for the Dagster UI; inlined thumbnails."""

from __future__ import annotations

import base64
import html
import io
import math
import numbers
import re

import numpy as np
from PIL import Image

from c2c_assets.reporting.render import safe_url
from c2c_assets.storage import Location, location, open_image

__all__ = [
    "NOISE_LABEL",
    "cluster_name",
    "fmt_number",
    "fmt_price",
    "fmt_share",
    "is_number",
    "md_link",
    "md_text",
    "thumb_b64",
]

NOISE_LABEL = -1  # HDBSCAN & co. mark unclustered points with -1; shown as grey "noise".


def is_number(value: object) -> bool:
    # bool is an int subclass but a flag, not a measurement; numpy scalars register as Real.
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def fmt_number(value: object) -> str:
    """Numbers for humans: ints with thousands separators, floats with 4 significant digits."""
    if value is None:
        return "–"
    if not is_number(value):
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


def fmt_price(price: float | None) -> str:
    if price is None or not is_number(price) or not math.isfinite(price):
        return "no price"
    return f"${price:,.2f}"


def fmt_share(share: float | None) -> str:
    if share is None or not math.isfinite(share):
        return "n/a"
    return f"{share:.0%}"


def cluster_name(cluster_id: int) -> str:
    return "noise" if cluster_id == NOISE_LABEL else f"cluster {cluster_id}"


# ---------------------------------------------------------------------------------------- Markdown

# Inline Markdown punctuation; our texts never start a line, so "#", "-", "1." need no escaping.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~!])")


def md_text(text: object) -> str:
    """Text safe in Markdown: HTML-escaped (raw HTML is allowed there) and punctuation escaped."""
    text = " ".join(str(text).split())  # newlines would end a list item or table row
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def md_link(text: object, url: str | None) -> str:
    """``[text](url)`` when :func:`safe_url` accepts the URL, else the escaped text alone."""
    label = md_text(text)
    href = safe_url(url)
    return f"[{label}]({href})" if href else label


# -------------------------------------------------------------------------------------- thumbnails


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


def thumb_b64(path: Location | str | None, max_px: int, quality: int = 75) -> str | None:
    """A thumbnail re-encoded as a small JPEG, base64; None if there is none or it is unreadable.

    Re-encoding also means only a real JPEG made here is ever inlined as ``data:image/jpeg``."""
    if path is None:
        return None
    data = _thumb_jpeg(location(path), max_px, quality)
    return None if data is None else base64.b64encode(data).decode("ascii")
