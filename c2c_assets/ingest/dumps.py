"""Finding dumps in an inbox and reading their lines safely.

``<inbox>/<source>/<YYYY-MM-DD>/posts.jsonl[.gz]``: one folder is one dump, complete once its
posts file exists. Lines are read with a length bound, so a single multi-gigabyte line (or a
file with no newline at all) costs at most ``MAX_LINE_BYTES`` of memory.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from c2c_assets.sources import source_names

POSTS_FILES = ("posts.jsonl", "posts.jsonl.gz")
MAX_LINE_BYTES = 1024 * 1024
RAW_CUT_BYTES = 2_000
_SKIP_CHUNK = 1024 * 1024


class DumpError(Exception):
    """A dump that cannot be read at all: its partition fails with this message."""


@dataclass(frozen=True)
class Dump:
    source: str
    scrape_date: date
    folder: Path
    posts_file: Path

    @property
    def name(self) -> str:
        """``<source>/<date>``, the dump's name in quarantine rows and metadata."""
        return f"{self.source}/{self.scrape_date.isoformat()}"

    def fingerprint(self) -> str:
        """Changes when the posts file is rewritten (size or modification time)."""
        stat = self.posts_file.stat()
        return f"{self.posts_file.name}:{stat.st_size}:{stat.st_mtime_ns}"


def _parse_date(name: str) -> date | None:
    try:
        return date.fromisoformat(name) if len(name) == 10 else None
    except ValueError:
        return None


def find_dumps(inbox: Path, scrape_date: date | None = None) -> list[Dump]:
    """Every complete dump under ``inbox`` (of one date if given), sorted by date then source.

    Folders of unknown sources or with names that are not dates are not dumps and are skipped.
    """
    dumps: list[Dump] = []
    if not inbox.is_dir():
        return dumps
    known = set(source_names())
    for source_dir in sorted(inbox.iterdir()):
        if source_dir.name not in known or not source_dir.is_dir():
            continue
        for date_dir in sorted(source_dir.iterdir()):
            day = _parse_date(date_dir.name)
            if day is None or not date_dir.is_dir() or (scrape_date is not None and day != scrape_date):
                continue
            posts_file = next((date_dir / n for n in POSTS_FILES if (date_dir / n).is_file()), None)
            if posts_file is not None:
                dumps.append(Dump(source_dir.name, day, date_dir, posts_file))
    return sorted(dumps, key=lambda d: (d.scrape_date, d.source))


@dataclass(frozen=True)
class RawLine:
    number: int  # 1-based physical line number, blank lines included
    data: bytes  # the line, or its first RAW_CUT_BYTES when too long
    n_bytes: int  # the line's full length
    too_long: bool


def read_lines(dump: Dump) -> Iterator[RawLine]:
    """Yield every non-blank line; a corrupt gzip or unreadable file raises DumpError."""
    path = dump.posts_file
    try:
        handle = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except OSError as error:
        raise DumpError(f"cannot open {dump.name}/{path.name}: {error.strerror or error}") from error
    number = 0
    try:
        with handle:
            while True:
                line = handle.readline(MAX_LINE_BYTES + 1)
                if not line:
                    break
                number += 1
                n_bytes = len(line)
                too_long = n_bytes > MAX_LINE_BYTES and not line.endswith(b"\n")
                if too_long:
                    head = line[:RAW_CUT_BYTES]
                    while not line.endswith(b"\n"):
                        line = handle.readline(_SKIP_CHUNK)
                        if not line:
                            break
                        n_bytes += len(line)
                    yield RawLine(number, head, n_bytes, True)
                    continue
                stripped = line.strip()
                if not stripped or stripped == b"\xef\xbb\xbf":
                    continue
                yield RawLine(number, line, n_bytes, False)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DumpError(f"corrupt gzip in {dump.name}/{path.name} near line {number + 1}: {error or 'unexpected end of stream'}") from error
    except OSError as error:
        raise DumpError(f"cannot read {dump.name}/{path.name} near line {number + 1}: {error.strerror or error}") from error


def count_nonblank_lines(dump: Dump) -> int:
    return sum(1 for _ in read_lines(dump))


def read_line_numbers(dump: Dump, numbers: set[int]) -> dict[int, RawLine]:
    """Re-read specific lines (used for the rare lines a later duplicate supersedes)."""
    found = {}
    for raw in read_lines(dump):
        if raw.number in numbers:
            found[raw.number] = raw
            if len(found) == len(numbers):
                break
    return found


def dumps_digest(dumps: list[Dump]) -> str:
    """One short hash for a set of dumps' fingerprints: a run key that changes when any dump does."""
    return fingerprints_digest({d.name: d.fingerprint() for d in dumps})


def fingerprints_digest(fingerprints: Mapping[str, str]) -> str:
    """``dumps_digest`` of dumps given as name -> fingerprint (as an ingest run records them)."""
    text = "\n".join(f"{name}={fingerprints[name]}" for name in sorted(fingerprints))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
