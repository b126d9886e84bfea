"""``post_attributes[date]``: the attribute columns (``extract.COLUMNS``) of every post of one scrape date.

Its own daily asset beside ``posts`` rather than more columns written by the ingest: it follows each
ingested date (one partition per date, so only a new or re-ingested date is computed), and when the
rules or ``vehicles.toml`` change the attributes are recomputed from the lake without re-ingesting the
dumps (which fetches and decodes photos). The ``post_attributes`` view keeps the rows of the current
scrape whose text is still the one they were read from (same content hash).
"""

from __future__ import annotations

from datetime import date

import pyarrow as pa

from c2c_assets.attributes.extract import COLUMNS, extract
from c2c_assets.home import C2cHome
from c2c_assets.lake import AtomicParquetWriter, iter_batches, partition_file

KEYS = pa.schema([("post_id", pa.string()), ("scrape_date", pa.date32()), ("content_hash", pa.string())])
SCHEMA = pa.schema([*KEYS, *COLUMNS])
ASSET = "post_attributes"


def extract_date(home: C2cHome, scrape_date: date) -> tuple[int, dict[str, int]]:
    """Write the date's partition; returns the row count and how many posts carry each attribute."""
    source = partition_file(home.lake, "posts", {"date": scrape_date.isoformat()})
    if not source.exists():
        raise FileNotFoundError(f"no posts partition for {scrape_date}: ingest that date first")
    found = {name: 0 for name in COLUMNS.names}
    with AtomicParquetWriter(partition_file(home.lake, ASSET, {"date": scrape_date.isoformat()}), SCHEMA) as writer:
        for batch in iter_batches(source, ["post_id", "scrape_date", "content_hash", "title", "description"], 8_192):
            rows = []
            for row in batch.to_pylist():
                values = extract(f"{row['title'] or ''}\n{row['description'] or ''}")
                for name, value in values.items():
                    found[name] += value is not None
                rows.append({"post_id": row["post_id"], "scrape_date": row["scrape_date"],
                             "content_hash": row["content_hash"], **values})
            writer.write_rows(rows)
    return writer.rows, found
