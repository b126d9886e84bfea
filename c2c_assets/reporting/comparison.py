"""Encoder comparison (and the width sweep): one table, as an HTML page and as Markdown."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from c2c_assets.reporting.formatting import fmt_number, is_number, md_text
from c2c_assets.reporting.render import write_page
from c2c_assets.storage import Location

__all__ = ["Better", "comparison_markdown", "write_comparison_html"]

Better = Literal["higher", "lower", "none"]

# Counts and settings (n, k, dim, n_clusters, posts_count) are facts, not scores: no "best".
_NOT_A_SCORE = re.compile(r"^(n|k|dim|dims|n_\w+|num_\w+|\w+_count|count|seed)$", re.IGNORECASE)
# Metric names where smaller is better; any other numeric column is "higher is better".
_LOWER_IS_BETTER = re.compile(
    r"(davies|bouldin|inertia|loss|error|time|seconds|latency|_ms$|_s$|memory|bytes|_mb$|_gb$|noise|cost)",
    re.IGNORECASE,
)
_ARROWS: dict[str, str] = {"higher": " ↑", "lower": " ↓", "none": ""}


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
        if not values or not all(is_number(v) for v in values):
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
    numbers_ = [float(v) for v in values if is_number(v) and math.isfinite(float(v))]  # type: ignore[arg-type]
    if not numbers_ or all(isinstance(v, numbers.Integral) for v in values if is_number(v)):
        return fmt_number
    biggest = max(abs(v) for v in numbers_)
    decimals = 4 if biggest == 0 else min(4, max(0, 3 - math.floor(math.log10(biggest))))

    def fmt(v: object) -> str:
        if not is_number(v) or not math.isfinite(float(v)):  # type: ignore[arg-type]
            return fmt_number(v)
        return f"{float(v):,.{decimals}f}"  # type: ignore[arg-type]

    return fmt


def _is_best(value: object, col: str, best: Mapping[str, float]) -> bool:
    if col not in best or not is_number(value):
        return False
    return math.isclose(float(value), best[col], rel_tol=1e-12)  # type: ignore[arg-type]


def write_comparison_html(
    path: Location | str,
    rows: Sequence[Mapping[str, object]],
    title: str,
    *,
    better: Mapping[str, Better] | None = None,
    row_noun: str = "encoders",
) -> Path:
    """A table comparing encoders (or widths, ablations...), one row per dict; columns are the keys
    in first-seen order.

    Numbers are formatted; in each numeric column the best value is highlighted. "Best" is the
    maximum unless ``better`` says otherwise or the name reads like a cost (davies_bouldin,
    inertia, *_seconds, latency, memory, noise...: the minimum); counts and settings (n, k, dim,
    n_*, *_count) get no highlight; ``better={"col": "none"}`` turns it off for any column.
    ``row_noun`` names the rows in the subtitle ("12 encoders").
    """
    columns = _columns(rows)
    directions, best = _best_by_column(rows, columns, better)
    head = []
    for c in columns:
        direction = directions.get(c)
        head.append(
            {
                "name": str(c),
                "numeric": direction is not None,
                "arrow": _ARROWS[direction] if direction else "",
                "hint": f"{direction} is better" if direction in ("higher", "lower") else "",
            }
        )
    fmt = {c: _column_formatter(rows, c) for c in columns}
    body = [
        [
            {
                "text": fmt[c](row.get(c)),
                "classes": (["num"] if c in directions else []) + (["best"] if _is_best(row.get(c), c, best) else []),
            }
            for c in columns
        ]
        for row in rows
    ]
    return write_page(path, "comparison.html.j2", title=title, columns=head, rows=body, row_noun=row_noun)


def comparison_markdown(rows: Sequence[Mapping[str, object]], *, better: Mapping[str, Better] | None = None) -> str:
    """The comparison as a Markdown table (best value per numeric column in bold)."""
    columns = _columns(rows)
    if not columns:
        return "_No encoders to compare._\n"
    directions, best = _best_by_column(rows, columns, better)
    lines = [
        "| " + " | ".join(md_text(c) + (_ARROWS[directions[c]] if c in directions else "") for c in columns) + " |",
        "|" + "|".join("---:" if c in directions else "---" for c in columns) + "|",
    ]
    fmt = {c: _column_formatter(rows, c) for c in columns}
    for row in rows:
        cells = []
        for c in columns:
            text = md_text(fmt[c](row.get(c)))
            cells.append(f"**{text}**" if _is_best(row.get(c), c, best) else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
