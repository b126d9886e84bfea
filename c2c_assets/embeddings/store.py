"""Where embeddings live and how they are read: layout, schema, the current-vector readers, the
reuse lookup and the views.

A partition holds one row per embeddable post of a scrape date. "Current" means the row made from
the post's latest scrape (``ingest.views.current_posts_sql``): older scrapes of a re-listed or changed
listing stay in ``embeddings_all`` and never come back as current.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa

from c2c_assets.home import C2cHome
from c2c_assets.ingest.views import current_posts_sql
from c2c_assets.lake import PART_NAME, partition_file, to_matrix
from c2c_assets.storage import Location, read_schema
from c2c_assets.warehouse import View, quote, scratch

ASSET = "post_embeddings"
# The index sides and the column that holds each: the post vector, and the per-modality parts.
SIDES = {"post": "vector", "text": "text_vector", "image": "image_vector"}


def embedding_schema(width: int, part_widths: dict[str, int]) -> pa.Schema:
    fields = [
        ("post_id", pa.string()),
        ("scrape_date", pa.date32()),
        ("content_hash", pa.string()),
        ("encoder", pa.string()),
        ("fingerprint", pa.string()),
        ("vector", pa.list_(pa.float32(), width)),
        ("n_images", pa.int32()),
        ("text_predicted", pa.bool_()),  # the text vector was predicted from the photos (thin text)
    ]
    fields += [(f"{name}_vector", pa.list_(pa.float32(), size)) for name, size in sorted(part_widths.items())]
    return pa.schema(fields)


def embedding_file(home: C2cHome, scrape_date: date, encoder: str) -> Location:
    return partition_file(home.lake, ASSET, {"date": scrape_date.isoformat(), "encoder": encoder})


def encoder_glob(home: C2cHome, encoder: str) -> str:
    """The glob DuckDB reads for every date of one encoder."""
    return str(home.lake / ASSET / "date=*" / f"encoder={encoder}" / PART_NAME)


def encoder_files(home: C2cHome, encoder: str, newest_first: bool = False) -> list[Location]:
    return sorted(home.lake.glob(f"{ASSET}/date=*/encoder={encoder}/{PART_NAME}"), reverse=newest_first)


def embedded_encoders(home: C2cHome) -> list[str]:
    """Encoders with at least one partition in the lake."""
    return sorted({path.parent.name.split("=", 1)[1] for path in home.lake.glob(f"{ASSET}/date=*/encoder=*/{PART_NAME}")})


def text_predicted_sql(home: C2cHome, encoder: str, column: str = "text_predicted") -> str:
    """SQL for a row's predicted-text flag over the encoder's files read with ``union_by_name``: partitions
    written before the column existed lack it, and nothing in them was predicted. The newest file is
    looked at first, so this is one schema read once a partition with the column exists."""
    has_column = any("text_predicted" in read_schema(path).names for path in encoder_files(home, encoder, newest_first=True))
    return f"coalesce({column}, false)" if has_column else "false"


def _encoder_relation(home: C2cHome, encoder: str) -> str:
    return f"read_parquet({quote(encoder_glob(home, encoder))}, union_by_name = true, hive_partitioning = false)"


def _all_scrapes(home: C2cHome) -> str:
    """Every encoder's vectors as one relation; widths differ per encoder, so each branch casts to FLOAT[]."""
    encoders = embedded_encoders(home)
    if not encoders:
        return (
            "SELECT NULL::VARCHAR AS post_id, NULL::VARCHAR AS encoder, NULL::DATE AS scrape_date, NULL::VARCHAR AS content_hash, "
            "NULL::VARCHAR AS fingerprint, NULL::FLOAT[] AS vector, NULL::INTEGER AS n_images, NULL::BOOLEAN AS text_predicted "
            "WHERE false"
        )
    return " UNION ALL ".join(
        f"SELECT post_id, encoder, scrape_date, content_hash, fingerprint, vector::FLOAT[] AS vector, n_images, "
        f"{text_predicted_sql(home, name)} AS text_predicted FROM {_encoder_relation(home, name)}"
        for name in encoders
    )


def _current(home: C2cHome, relation: str, alias: str = "e") -> str:
    """``relation``'s rows that belong to each post's latest scrape."""
    posts = current_posts_sql(home, "post_id, scrape_date")
    if posts is None:
        return f"SELECT {alias}.* FROM ({relation}) AS {alias} WHERE false"
    return f"SELECT {alias}.* FROM ({relation}) AS {alias} SEMI JOIN ({posts}) AS p ON {alias}.post_id = p.post_id AND {alias}.scrape_date = p.scrape_date"


def _embeddings_all_view(home: C2cHome, db: duckdb.DuckDBPyConnection) -> str:
    return _all_scrapes(home)


def _embeddings_view(home: C2cHome, db: duckdb.DuckDBPyConnection) -> str:
    return _current(home, _all_scrapes(home))


VIEWS: list[View] = [View("embeddings_all", _embeddings_all_view), View("embeddings", _embeddings_view)]


def same_vector_sql(a: str, b: str) -> str:
    """SQL: rows ``a`` and ``b`` hold the same vector: the same post with the same content embedded by the same
    encoder configuration (``post_id, content_hash, fingerprint``). What the index update and the nightly analysis
    compare what they hold with."""
    return f"{a}.post_id = {b}.post_id AND {a}.content_hash = {b}.content_hash AND {a}.fingerprint IS NOT DISTINCT FROM {b}.fingerprint"


def never_null(home: C2cHome, encoder: str, column: str) -> bool:
    """Whether the footers of every partition of ``encoder`` say no row lacks its ``column`` (the null count of a
    list column's values counts the null lists): then ``current_vectors_sql(..., may_be_null=False)`` need not read
    the vectors to filter them, and a query of the ids alone does not read them."""
    from c2c_assets.storage import parquet_file

    for path in encoder_files(home, encoder):
        meta = parquet_file(path).metadata
        leaf = [i for i in range(meta.num_columns) if meta.schema.column(i).path.startswith(f"{column}.")]
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(leaf[0]).statistics if leaf else None
            if stats is None or not stats.has_null_count or stats.null_count:
                return False
    return True


def current_vectors_sql(home: C2cHome, encoder: str, column: str = "vector", *, may_be_null: bool = True) -> str | None:
    """``post_id, content_hash, fingerprint, text_predicted, v`` of every current post's current ``column``
    (a side's vector) for one encoder, or None if the encoder has no partition or no file has that column.
    ``may_be_null=False``: the caller has checked that no stored row lacks the column (the files' footers), so
    the rows are not filtered on it: the filter reads every vector, even for a query of the ids alone."""
    files = encoder_files(home, encoder, newest_first=True)
    if not files or column not in read_schema(files[0]).names:
        return None
    flag = text_predicted_sql(home, encoder)
    relation = (f"SELECT post_id, scrape_date, content_hash, fingerprint, {flag} AS text_predicted, {column} AS v "
                f"FROM {_encoder_relation(home, encoder)}" + (f" WHERE {column} IS NOT NULL" if may_be_null else ""))
    return _current(home, relation)


# DuckDB's memory for a streamed read of every current vector. Its default (80% of RAM) let the scan buffer
# ahead: streaming 1.2M x 768 current vectors peaked at 4.79 GB of RSS by default and 1.37 GB at 1 GB (22.6 s
# against 30.7 s, on a loaded machine). The stream joins only the small current-posts relation, so it never
# needs more.
STREAM_MEMORY = "1GB"


def iter_current_vectors(
    home: C2cHome, encoder: str, column: str = "vector", batch_rows: int = 65_536
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Stream ``(post_ids, float32 matrix)`` batches of the current vector of every current post.

    Read in batches, so a million vectors never sit in memory twice. Row order is unspecified
    (sort if you need one).
    """
    sql = current_vectors_sql(home, encoder, column)
    if sql is None:
        return
    with scratch(home) as db:
        db.execute(f"SET memory_limit = '{STREAM_MEMORY}'")
        for batch in db.sql(f"SELECT post_id, v FROM ({sql})").to_arrow_reader(batch_rows):
            yield batch.column(0).to_pylist(), to_matrix(batch.column(1))


def current_side_shape(home: C2cHome, encoder: str, column: str) -> tuple[int, int] | None:
    """(rows, width) of one side's current vectors, without reading them; None where there are none."""
    sql = current_vectors_sql(home, encoder, column)
    if sql is None:
        return None
    with scratch(home) as db:
        rows, width = db.execute(f"SELECT count(*), max(len(v)) FROM ({sql})").fetchone()
    return (int(rows), int(width)) if rows else None


def iter_current_side(
    home: C2cHome, encoder: str, column: str, batch_rows: int = 65_536
) -> Iterator[tuple[pa.Table, np.ndarray]]:
    """``current_side`` in batches: (ids: post_id, content_hash, fingerprint, text_predicted; float32 matrix), so that an
    index is built from a stream, never from a second copy of every vector. The order is the scan's, the
    same on every pass over an unchanged lake."""
    sql = current_vectors_sql(home, encoder, column)
    if sql is None:
        return
    with scratch(home) as db:
        db.execute(f"SET memory_limit = '{STREAM_MEMORY}'")
        for batch in db.sql(f"SELECT post_id, content_hash, fingerprint, text_predicted, v FROM ({sql})").to_arrow_reader(batch_rows):
            table = pa.Table.from_batches([batch])
            # DuckDB exports a batch as one allocation: a kept id column would keep the batch's vectors
            # alive too (measured: 2.2 GB held for 1.8 GB of vectors). ``take`` copies the ids out of it.
            ids = table.select(["post_id", "content_hash", "fingerprint", "text_predicted"]).take(np.arange(table.num_rows))
            yield ids, to_matrix(table.column("v"))


def current_side(home: C2cHome, encoder: str, column: str) -> tuple[pa.Table, np.ndarray] | None:
    """Ids (post_id, content_hash, text_predicted), sorted by post_id, and vectors of one side's current
    vectors, or None where the encoder has no such side or no current vector."""
    sql = current_vectors_sql(home, encoder, column)
    if sql is None:
        return None
    with scratch(home) as db:
        table = db.sql(f"SELECT post_id, content_hash, text_predicted, v FROM ({sql}) ORDER BY post_id").to_arrow_table()
    if not table.num_rows:
        return None
    return table.select(["post_id", "content_hash", "text_predicted"]), to_matrix(table.column("v"))


def stored_vector(home: C2cHome, encoder: str, post_id: str, column: str = "vector") -> np.ndarray | None:
    """One current post's current vector, or None if it has none."""
    sql = current_vectors_sql(home, encoder, column)
    if sql is None:
        return None
    with scratch(home) as db:
        table = db.execute(f"SELECT v FROM ({sql}) WHERE post_id = ?", [post_id]).to_arrow_table()
    return to_matrix(table.column("v"))[0] if table.num_rows else None


def reusable(
    home: C2cHome, encoder: str, scrape_date: date, wanted: set[tuple[str, str]]
) -> dict[tuple[str, str], tuple[Location, str]]:
    """(content_hash, fingerprint) -> (file, post_id) of an existing vector for that content made the way it
    would be made now (the fingerprint covers the encoder version and, for predicted text, the checkpoint).

    One DuckDB query over every date of the encoder (its cost is the scan of three short columns, not a
    file read per date). The partition being rebuilt is preferred, then the newest date: a listing re-scraped
    unchanged keeps its vector rather than being embedded again every night.
    """
    if not wanted or not encoder_files(home, encoder):
        return {}
    own = scrape_date.isoformat()
    pairs = pa.table({"content_hash": [c for c, _ in wanted], "fingerprint": [f for _, f in wanted]})  # noqa: F841 - read by DuckDB
    with scratch(home) as db:
        rows = db.execute(
            f"""
            SELECT e.content_hash, e.fingerprint, CAST(e.scrape_date AS VARCHAR), e.post_id
            FROM read_parquet({quote(encoder_glob(home, encoder))}, hive_partitioning = false) AS e
            SEMI JOIN pairs AS w ON e.content_hash = w.content_hash AND e.fingerprint = w.fingerprint
            QUALIFY row_number() OVER (
                PARTITION BY e.content_hash, e.fingerprint ORDER BY (e.scrape_date = ?::DATE) DESC, e.scrape_date DESC, e.post_id
            ) = 1
            """,
            [own],
        ).fetchall()
    return {(content, print_): (embedding_file(home, date.fromisoformat(day), encoder), post_id) for content, print_, day, post_id in rows}
