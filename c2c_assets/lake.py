"""Partitioned Parquet in hive layout, written atomically.

A partition is one file, ``lake/<asset>/<key>=<value>/.../part-0.parquet``. Writers stream
into a hidden temporary file beside it and ``os.replace`` it into place, so a reader (DuckDB
globbing ``*.parquet``) sees the old partition or the new one, never a half-written mix. A lake
on object storage (``C2C_LAKE_URL``) is written the same way from a local spool file, published
with one upload (``storage.publish_file``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from c2c_assets.storage import (
    Location,
    is_local,
    parquet_file,
    publish_file,
    remove_stale_temporaries,
    spool_dir,
    temporary_name,
)

PART_NAME = "part-0.parquet"


def partition_dir(lake: Location, asset: str, keys: Mapping[str, str]) -> Location:
    folder = lake / asset
    for name, value in keys.items():
        if not value or "/" in value or value.startswith("."):
            raise ValueError(f"bad partition value {value!r} for {name!r}")
        folder = folder / f"{name}={value}"
    return folder


def partition_file(lake: Location, asset: str, keys: Mapping[str, str]) -> Location:
    return partition_dir(lake, asset, keys) / PART_NAME


def asset_glob(lake: Location, asset: str, depth: int = 1) -> str:
    """The glob DuckDB reads for every partition of ``asset`` (``depth`` partition levels)."""
    return str(lake / asset / "/".join(["*"] * depth) / "*.parquet")


class StorageError(OSError):
    """The lake cannot be written (full disk, read-only or missing volume): the old partitions stay."""


class AtomicParquetWriter:
    """Stream record batches into a partition; ``commit`` publishes it, ``abort`` leaves the old one."""

    def __init__(self, path: Location, schema: pa.Schema, *, compression: str = "zstd") -> None:
        self.path = path
        self.schema = schema
        # Beside the partition locally (same filesystem: the rename is atomic); in a local spool
        # folder for object storage, uploaded whole on commit.
        if is_local(path):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = temporary_name(path)
        else:
            self._tmp = spool_dir() / temporary_name(Path(path.name)).name
        remove_stale_temporaries(self._tmp.parent)
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self._tmp, schema, compression=compression)
        self.rows = 0

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.write_table(pa.Table.from_pylist(rows, schema=self.schema))

    def write_table(self, table: pa.Table) -> None:
        assert self._writer is not None, "writer already closed"
        if table.num_rows:
            self._writer.write_table(table.cast(self.schema) if table.schema != self.schema else table)
            self.rows += table.num_rows

    @property
    def temporary_path(self) -> Path:
        return self._tmp

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def commit(self) -> Location:
        self.close()
        publish_file(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        try:
            self.close()
        except OSError:
            self._writer = None  # closing flushes; on a full disk that fails too, and the file goes anyway
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicParquetWriter:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def write_partition(lake: Location, asset: str, keys: Mapping[str, str], table: pa.Table) -> Location:
    with AtomicParquetWriter(partition_file(lake, asset, keys), table.schema) as writer:
        writer.write_table(table)
    return writer.path


def iter_batches(path: Location, columns: list[str] | None = None, batch_size: int = 65_536) -> Iterator[pa.RecordBatch]:
    yield from parquet_file(path).iter_batches(batch_size=batch_size, columns=columns)


def fixed_size_list(values: np.ndarray, nullable: bool = False) -> pa.Array:
    """A matrix as a ``FixedSizeList<float32, width>`` column (how the lake stores vectors); with
    ``nullable``, rows holding a NaN become nulls (a post that lacks that modality)."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    width = values.shape[1]
    mask = np.isnan(values).any(axis=1) if nullable else None
    if mask is not None and mask.any():
        return pa.FixedSizeListArray.from_arrays(pa.array(np.nan_to_num(values).reshape(-1), pa.float32()), width, mask=pa.array(mask))
    return pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), pa.float32()), width)


def to_matrix(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A column of equal-length float lists (FixedSizeList from Parquet, or the variable lists DuckDB hands
    back for ``FLOAT[n]``) as a C-contiguous float32 matrix, one row per list; the width is the flat length
    over the rows. Null rows must have been filtered out first."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    rows = len(column)
    flat = column.flatten().to_numpy(zero_copy_only=False)
    if rows == 0:
        return np.zeros((0, column.type.list_size if pa.types.is_fixed_size_list(column.type) else 0), dtype=np.float32)
    return np.ascontiguousarray(flat.reshape(rows, -1), dtype=np.float32)
