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
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


# Files the platform writes are read by others (a report served by a static file server, a photo
# read by a DataLoader worker running as another user): not mkstemp's 0600.
FILE_MODE = 0o644
TMP_SUFFIX = ".tmp"


def temporary_name(target: Path | UPath) -> Path | UPath:
    """A hidden name beside ``target`` that carries this process's id (``remove_stale_temporaries``
    deletes those of dead processes) and never collides with another writer's."""
    return target.with_name(f".{target.name}.{os.getpid()}-{os.urandom(4).hex()}{TMP_SUFFIX}")


def publish_file(local_file: Path, target: Location, *, mode: int = FILE_MODE, durable: bool = True) -> None:
    """Move a finished local file to ``target`` so that a reader sees the old file or the new one, whole.

    Locally that is ``fsync`` + ``chmod`` + ``os.replace`` in the same folder + ``fsync`` of the folder;
    elsewhere see ``_upload``. The local file is gone afterwards, published or not. ``durable=False`` skips
    the two fsyncs (still atomic for readers, not across a power cut): for files that can be made again,
    such as a generated sample, where syncing thousands of small files would dominate.
    """
    if is_local(target):
        try:
            if durable:
                with open(local_file, "rb") as handle:
                    os.fsync(handle.fileno())
            os.chmod(local_file, mode)
            os.replace(local_file, target)
        except BaseException:
            local_file.unlink(missing_ok=True)
            raise
        if durable:
            _fsync_dir(target.parent)
        return
    try:
        _upload(local_file, target)
    finally:
        local_file.unlink(missing_ok=True)


@contextmanager
def atomic_path(target: Location, *, mode: int = FILE_MODE, durable: bool = True) -> Iterator[Path]:
    """A local path to write ``target``'s new content into (by any library: Pillow, FAISS, pyarrow);
    published whole when the block ends without an error, removed when it raises.

    Locally the temporary file sits beside the target (same filesystem: the rename is atomic); for
    object storage it is spooled in the temp folder and uploaded in one go.
    """
    if is_local(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_name(target)
    else:
        spool = spool_dir()
        tmp = spool / f".{target.name}.{os.getpid()}-{os.urandom(4).hex()}{TMP_SUFFIX}"
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    publish_file(tmp, target, mode=mode, durable=durable)


def write_atomic(target: Location, data: bytes | str, *, mode: int = FILE_MODE, durable: bool = True) -> Location:
    """Write ``data`` (text is UTF-8) to ``target`` so that readers see the old content or all of the new."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if not is_local(target):
        _upload(payload, target)
        return target
    with atomic_path(target, mode=mode, durable=durable) as tmp:
        tmp.write_bytes(payload)
    return target


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete temporary files that crashed writers left behind (their process is gone)."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for candidate in folder.glob(f".*{TMP_SUFFIX}"):
        try:
            pid = int(candidate.name.split(".")[-2].split("-")[0])
        except (IndexError, ValueError):
            continue
        if not _pid_alive(pid):
            candidate.unlink(missing_ok=True)
            removed.append(candidate)
    return removed


def spool_dir() -> Path:
    """Where files bound for object storage are written before their one upload."""
    folder = Path(tempfile.gettempdir()) / "c2c-spool"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _upload(source: Path | bytes, target: UPath) -> None:
    """Put a local file or bytes at ``target`` so that readers see all of it or nothing.

    On object storage one PUT is already all-or-nothing (S3 and GCS publish an object when its
    upload completes), so it goes straight to its key. fsspec's memory filesystem shows a file while
    it is being written: it gets the bytes in one call. fsspec's own local filesystem (``file://``)
    copies in place: there the copy goes to a hidden name, is synced, and is renamed over the target.
    """
    fs = target.fs
    if _is_fsspec_local(fs):
        hidden = temporary_name(target)
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


# Every DuckDB connection the package opens: no progress bar. DuckDB draws one on stdout for any query over
# 2 s, and it landed inside `c2c search --json` output at 1.2M posts (the JSON no longer parsed).
def quiet(db: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    db.execute("SET enable_progress_bar = false")  # a session setting: DuckDB refuses it in connect's config
    return db


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
