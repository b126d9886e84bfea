"""Where the lake and the photo store live: a local folder, or any fsspec URL (``s3://``, ``gs://``,
``file://``, ``memory://``...).

A location is a ``pathlib.Path`` for plain local folders (the fast path: ``os.replace`` publishes a
file atomically) or a ``upath.UPath`` for URLs, which has the same ``/``, ``glob``, ``exists``,
``open``. The few things a path cannot do on its own live here: reading Parquet through the URL's
filesystem, publishing a file so that readers see all of it or none of it, opening a photo, and
letting DuckDB read the same URLs (``register_filesystem``). Credentials are the filesystem's own
business (s3fs reads ``AWS_*``, gcsfs Google's defaults), as everywhere fsspec is used.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image
    from upath import UPath

Location: TypeAlias = "Path | UPath"


def location(spec: str | Location) -> Location:
    """A local path for plain paths (``~`` expanded, made absolute), a ``UPath`` for ``scheme://`` URLs;
    a location given is returned as it is."""
    if not isinstance(spec, str):
        return spec
    text = spec
    if "://" in text:
        from upath import UPath

        return UPath(text)
    return Path(text).expanduser().resolve()


def is_local(path: Location) -> bool:
    return isinstance(path, Path)


def _filesystem(path: Location) -> Any:
    """pyarrow's view of the path's fsspec filesystem (None for local paths: pyarrow opens those itself)."""
    if is_local(path):
        return None
    from pyarrow.fs import FSSpecHandler, PyFileSystem

    return PyFileSystem(FSSpecHandler(path.fs))


def _arrow_path(path: Location) -> str:
    return str(path) if is_local(path) else path.path


def read_table(path: Location, columns: list[str] | None = None, filters: Any = None) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(_arrow_path(path), columns=columns, filters=filters, filesystem=_filesystem(path))


def read_schema(path: Location) -> pa.Schema:
    import pyarrow.parquet as pq

    return pq.read_schema(_arrow_path(path), filesystem=_filesystem(path))


def parquet_file(path: Location) -> pq.ParquetFile:
    import pyarrow.parquet as pq

    return pq.ParquetFile(_arrow_path(path), filesystem=_filesystem(path))


def publish_file(local_file: Path, target: Location) -> None:
    """Move a finished local file to ``target`` so that a reader sees the old file or the new one, whole.

    Locally that is ``fsync`` + ``os.replace`` in the same folder; elsewhere see ``_upload``.
    """
    if is_local(target):
        with open(local_file, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(local_file, target)
        _fsync_dir(target.parent)
        return
    try:
        _upload(local_file, target)
    finally:
        local_file.unlink(missing_ok=True)


def write_bytes(target: Location, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (see ``publish_file``)."""
    if is_local(target):
        tmp = target.with_name(f".{target.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return
    _upload(data, target)


def _upload(source: Path | bytes, target: UPath) -> None:
    """Put a local file or bytes at ``target`` so that readers see all of it or nothing.

    On object storage one PUT is already all-or-nothing (S3 and GCS publish an object when its
    upload completes), so it goes straight to its key. fsspec's memory filesystem shows a file while
    it is being written: it gets the bytes in one call. fsspec's own local filesystem (``file://``)
    copies in place: there the copy goes to a hidden name, is synced, and is renamed over the target.
    """
    fs = target.fs
    if _is_fsspec_local(fs):
        hidden = target.with_name(f".{target.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            if isinstance(source, bytes):
                hidden.write_bytes(source)
            else:
                fs.put_file(str(source), hidden.path)
            with open(hidden.path, "rb") as handle:  # on disk before it is renamed into sight
                os.fsync(handle.fileno())
            fs.mv(hidden.path, target.path)
        finally:
            if hidden.exists():
                hidden.unlink()
    elif isinstance(source, bytes) or _is_memory(fs):
        fs.pipe_file(target.path, source if isinstance(source, bytes) else source.read_bytes())
    else:
        fs.put_file(str(source), target.path)


def _protocols(fs: Any) -> tuple[str, ...]:
    return (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)


def _is_fsspec_local(fs: Any) -> bool:
    """fsspec's local filesystem (``file://``): renames are atomic there, and DuckDB reads it natively."""
    return bool({"file", "local"} & set(_protocols(fs)))


def _is_memory(fs: Any) -> bool:
    return "memory" in _protocols(fs)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_image(path: Location | str) -> Image.Image:
    """Open a stored photo wherever it lives (Pillow reads local paths itself; others arrive as bytes)."""
    from PIL import Image

    if isinstance(path, str | Path):
        return Image.open(path)
    return Image.open(io.BytesIO(path.read_bytes()))


def register_with_duckdb(db: duckdb.DuckDBPyConnection, places: Iterable[Location]) -> duckdb.DuckDBPyConnection:
    """Let ``db`` read ``read_parquet('<url>/...')`` for every non-local place, through its fsspec filesystem.

    ``file://`` URLs are left to DuckDB, which reads them natively: through fsspec's local filesystem
    its parallel Parquet reads failed ("TProtocolException: Invalid data") in 20 of 40 queries here.
    """
    # One DuckDB database is shared by every connection to its file in a process, and a filesystem
    # can be registered with it once: a second connection finds it there already.
    registered = set(db.list_filesystems())
    for place in places:
        if not is_local(place) and not _is_fsspec_local(place.fs) and not registered & set(_protocols(place.fs)):
            db.register_filesystem(place.fs)
            registered.update(_protocols(place.fs))
    return db
