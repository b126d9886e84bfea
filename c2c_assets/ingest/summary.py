"""Human summaries of an ingest run: Markdown for the Dagster UI, plain dicts for the CLI."""

from __future__ import annotations

import base64
from collections import Counter
from typing import Any

from c2c_assets.home import C2cHome
from c2c_assets.ingest.pipeline import IngestSummary
from c2c_assets.storage import Location, parquet_file, read_table


def summary_dict(summary: IngestSummary) -> dict[str, Any]:
    return {
        "scrape_date": summary.scrape_date.isoformat(),
        "seconds": round(summary.seconds, 3),
        "dumps": [
            {
                "dump": d.dump,
                "lines": d.lines,
                "accepted": d.accepted,
                "quarantined": dict(d.quarantined),
                "images_ok": d.images_ok,
                "images_rejected": dict(d.images_rejected),
                "flags": dict(d.flags),
            }
            for d in summary.dumps
        ],
    }


def _escape(value: object, limit: int = 80) -> str:
    text = "" if value is None else str(value)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_escape(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def dumps_markdown(summary: IngestSummary) -> str:
    rows = [
        [d.dump, d.lines, d.accepted, d.n_quarantined, d.images_ok, sum(d.images_rejected.values())]
        for d in summary.dumps
    ]
    return markdown_table(["dump", "lines", "accepted", "quarantined", "images ok", "images rejected"], rows)


def counts_markdown(counts: Counter[str], label: str) -> str:
    if not counts:
        return f"no {label}"
    return markdown_table(["reason", "count"], [[k, v] for k, v in counts.most_common()])


def preview_markdown(path: Location, columns: list[str], n: int = 10) -> str:
    parquet = parquet_file(path)
    table = parquet.read_row_group(0, columns=columns) if parquet.num_row_groups else None
    if table is None or not table.num_rows:
        return "(empty)"
    rows = table.slice(0, n).to_pylist()
    return markdown_table(columns, [[row[c] for c in columns] for row in rows])


def thumbnails_markdown(home: C2cHome, images_path: Location, n: int = 8) -> str:
    """A few thumbnails inline (base64 data URIs): Dagster has no image metadata type."""
    table = read_table(images_path, columns=["post_id", "status", "thumb_path"], filters=[("status", "=", "ok")])
    cells = []
    for row in table.slice(0, n).to_pylist():
        data = home.stored_image(row["thumb_path"]).read_bytes()
        # Markdown image syntax: the Dagster UI drops raw <img> HTML from Markdown metadata.
        cells.append(f"![{row['post_id']}](data:image/jpeg;base64,{base64.b64encode(data).decode()})")
    return " ".join(cells) or "no stored images"
