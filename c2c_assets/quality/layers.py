"""A quality table as a base file and, beside it, the deltas of the days since (``deltas/delta-<run>.parquet``).

A day changes a few thousand rows of tables of millions (2M photo-group rows, 1M k-NN lists); rewriting the
whole file every day was most of a day's cost. So an incremental run writes only the rows it changed, keyed
(``KEYS``: sha256, post_id, the k-NN row), as a delta; the table is the base with each key's rows taken from
the newest layer that holds the key. A delta may also remove a key (a row with ``REMOVES`` set: a post whose
flags all went). When the deltas hold more than ``COMPACT_SHARE`` of the base's rows, or at a full rebuild,
the whole table is written as a new base and the deltas are deleted.

Crash safety: every file is written under a temporary name and renamed (``storage.atomic_path``), so a
reader never sees half a file. Each base carries a generation id, and each delta the generation of the base
it was written on; a reader ignores the deltas of another generation. So a new base (a compaction, a full
rebuild) replaces the table in one rename, whatever old deltas are still on disk (they are deleted after,
and any left by a crash are ignored and removed by the next write).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from c2c_assets.storage import Location, atomic_path, read_schema, read_table

DELTA_DIR = "deltas"
COMPACT_SHARE = 0.1
MAX_DELTAS = 30  # also compacted past this many files (a run that changed nothing still writes one: its token)
REMOVES = "delta_removes"  # a delta's row that only says: the key has no rows any more
# The key of each layered table; a table not listed is written whole every run.
KEYS = {"photo_hashes": "sha256", "photo_groups": "sha256", "post_flags": "post_id", "post_neighbours": "row"}
# Tables whose row order is part of their meaning (the k-NN row is the FAISS id): read back in key order.
ORDERED = {"post_neighbours"}
_GENERATION = b"c2c_layer_generation"


def _generation(path: Location) -> str:
    return ((read_schema(path).metadata or {}).get(_GENERATION) or b"").decode()


def _with_generation(table: pa.Table, generation: str) -> pa.Table:
    return table.replace_schema_metadata({**(table.schema.metadata or {}), _GENERATION: generation.encode()})


def delta_files(base: Location) -> list[Location]:
    """The deltas that apply to ``base`` (its generation), oldest first."""
    if not base.exists():
        return []
    generation = _generation(base)
    return [path for path in sorted((base.parent / DELTA_DIR).glob("delta-*.parquet")) if _generation(path) == generation]


def layers(base: Location) -> list[Location]:
    """Every file that makes up the table now, the base first; empty before the first write."""
    return [base, *delta_files(base)] if base.exists() else []


def newest(base: Location) -> Location | None:
    files = layers(base)
    return files[-1] if files else None


def read(base: Location, key: str, columns: list[str] | None = None, *, ordered: bool = False) -> pa.Table | None:
    """The table: the base's rows whose key no delta holds, then each delta's rows whose key no later delta
    holds (removals dropped); ``ordered``: sorted by the key."""
    if not base.exists():
        return None
    deltas = delta_files(base)
    if not deltas:
        return read_table(base, columns)
    wanted = None if columns is None else list(dict.fromkeys([*columns, key]))
    later: pa.Array | None = None  # the keys held by the layers already read (newer ones)
    parts: list[pa.Table] = []
    for path in reversed(deltas):
        table = read_table(path, None if wanted is None else [*wanted, REMOVES])
        keys = table.column(key).combine_chunks()
        keep = pc.invert(table.column(REMOVES))
        if later is not None:
            keep = pc.and_(keep, pc.invert(pc.is_in(keys, value_set=later)))
        parts.append(table.filter(keep).drop_columns([REMOVES]))
        later = keys if later is None else pa.concat_arrays([later, keys])
    old = read_table(base, wanted)
    parts.append(old.filter(pc.invert(pc.is_in(old.column(key), value_set=later))))
    table = pa.concat_tables([part.cast(parts[-1].schema) for part in reversed(parts)])
    if ordered:
        table = table.sort_by(key)
    return table if columns is None else table.select(columns)


def write_base(base: Location, table: pa.Table) -> None:
    """``table`` whole, as a new generation: the old deltas stop applying at the rename, then are deleted."""
    import pyarrow.parquet as pq

    with atomic_path(base) as tmp:
        pq.write_table(_with_generation(table, uuid.uuid4().hex), tmp, compression="zstd")
    for path in sorted((base.parent / DELTA_DIR).glob("delta-*.parquet")):
        path.unlink(missing_ok=True)


def write_delta(base: Location, run: int, rows: pa.Table, key: str, removed: pa.Array | None = None) -> Location:
    """The changed ``rows`` (and the ``removed`` keys, which then have no rows) as the delta of ``run``."""
    import pyarrow.parquet as pq

    marks = pa.array([False] * rows.num_rows, pa.bool_())
    delta = rows.append_column(REMOVES, marks)
    if removed is not None and len(removed):
        gone = {name: (removed.cast(field.type) if name == key else pa.nulls(len(removed), field.type))
                for name, field in zip(rows.schema.names, rows.schema, strict=True)}
        delta = pa.concat_tables([delta, pa.table({**gone, REMOVES: pa.array([True] * len(removed))}, schema=delta.schema)])
    path = base.parent / DELTA_DIR / f"delta-{run:08d}.parquet"
    with atomic_path(path) as tmp:
        pq.write_table(_with_generation(delta, _generation(base)), tmp, compression="zstd")
    return path


def layered_rows(base: Location) -> tuple[int, int]:
    """(rows in the base, rows in its deltas), from the files' footers."""
    from c2c_assets.storage import parquet_file

    if not base.exists():
        return 0, 0
    return parquet_file(base).metadata.num_rows, sum(parquet_file(path).metadata.num_rows for path in delta_files(base))


def publish(base: Location, table: pa.Table | Callable[[], pa.Table], run: int, key: str, changed: pa.Table | None,
            removed: pa.Array | None = None) -> dict[str, Any]:
    """Write a run's result: ``changed`` (its rows that differ from the stored table, plus the ``removed`` keys)
    as a delta, or the whole ``table`` (or what calling it returns) as a new base where ``changed`` is None (a
    full run) or the deltas would exceed ``COMPACT_SHARE`` of the base. Returns what was written (metadata)."""
    base_rows, delta_rows = layered_rows(base)
    if changed is not None and base_rows:
        added = changed.num_rows + (0 if removed is None else len(removed))
        if delta_rows + added <= COMPACT_SHARE * base_rows and len(delta_files(base)) < MAX_DELTAS:
            rows = changed if callable(table) else changed.select(table.schema.names).cast(table.schema)
            write_delta(base, run, rows, key, removed)
            return {"written": "delta", "delta_rows": added, "deltas": len(delta_files(base))}
    write_base(base, table() if callable(table) else table)
    return {"written": "base" if changed is None else "base (compacted)", "delta_rows": 0, "deltas": 0}


def sql(base: Location, key: str, relation: Any = None) -> str:
    """DuckDB SQL of the table (the same rows as ``read``), for a view."""
    from c2c_assets.warehouse import quote

    files = layers(base)
    head = f"SELECT * FROM read_parquet({quote(str(files[0]))}, hive_partitioning = false)"
    if len(files) == 1:
        return head
    deltas = f"read_parquet([{', '.join(quote(str(path)) for path in files[1:])}], hive_partitioning = false"
    return f"""
        {head} WHERE {key} NOT IN (SELECT {key} FROM {deltas}))
        UNION ALL BY NAME
        SELECT * EXCLUDE ({REMOVES}, filename) FROM {deltas}, filename = true)
        QUALIFY filename = max(filename) OVER (PARTITION BY {key}) AND NOT {REMOVES}
    """
