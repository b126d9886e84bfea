"""Ingest one scrape date: every dump of that date -> ``posts``, ``quarantine`` and ``post_images``.

Each non-blank line ends in exactly one place: a post row or a quarantine row. Lines are
processed in chunks, so memory is bounded by the chunk size and not by the dump size; the
three partitions are written to temporary files and published only when every dump of the
date was read whole.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from c2c_assets.home import C2cHome
from c2c_assets.ingest import schema
from c2c_assets.ingest.dumps import (
    MAX_LINE_BYTES,
    RAW_CUT_BYTES,
    Dump,
    DumpError,
    RawLine,
    find_dumps,
    read_line_numbers,
    read_lines,
)
from c2c_assets.ingest.fetcher import ImageFetcher
from c2c_assets.ingest.images import ImageRejected, ImageSettings, ImageStore, StoredImage, is_url, read_local_image
from c2c_assets.lake import AtomicParquetWriter, StorageError, iter_batches, partition_file
from c2c_assets.sources import get_source
from c2c_assets.sources.base import (
    DUPLICATE_LISTING,
    EMPTY_POST,
    LINE_TOO_LONG,
    MALFORMED_JSON,
    NOT_AN_OBJECT,
    ParsedPost,
    QuarantineError,
    Source,
)
from c2c_assets.storage import Location

# Posts with more photo references than this keep a row per extra reference, rejected unprocessed.
MAX_IMAGES_PER_POST = 50
TOO_MANY_IMAGES = "too_many_images"
_BOM = b"\xef\xbb\xbf"
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")
_SURROGATES = re.compile("[\ud800-\udfff]")

Log = Callable[[str], None]


@dataclass(frozen=True)
class IngestSettings:
    image: ImageSettings = field(default_factory=ImageSettings)
    fetch: Any = None  # fetcher.FetchSettings; None means its defaults
    chunk_lines: int = 2_000
    # The CPUs this process may use (a container's or taskset's share), not the whole node's.
    image_workers: int = field(default_factory=lambda: max(2, len(os.sched_getaffinity(0))))


@dataclass
class DumpSummary:
    dump: str
    fingerprint: str
    lines: int = 0
    accepted: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    images_ok: int = 0
    images_rejected: Counter[str] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)

    @property
    def n_quarantined(self) -> int:
        return sum(self.quarantined.values())


@dataclass
class IngestSummary:
    scrape_date: date
    dumps: list[DumpSummary]
    files: dict[str, Location]
    seconds: float

    def total(self, name: str) -> int:
        return sum(getattr(d, name) for d in self.dumps)

    @property
    def quarantined(self) -> Counter[str]:
        return sum((d.quarantined for d in self.dumps), Counter())

    @property
    def images_rejected(self) -> Counter[str]:
        return sum((d.images_rejected for d in self.dumps), Counter())


def _scrub_surrogates(value: Any) -> Any:
    """JSON ``\\ud800`` escapes decode to lone surrogates that no UTF-8 writer accepts."""
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_scrub_surrogates(k): _scrub_surrogates(v) for k, v in value.items()}
    return value


def parse_line(source: Source, raw: RawLine) -> ParsedPost:
    """One raw line -> a post, or QuarantineError with the reason."""
    if raw.too_long:
        raise QuarantineError(LINE_TOO_LONG, f"{raw.n_bytes} bytes, over the limit of {MAX_LINE_BYTES}")
    data = raw.data[3:] if raw.data.startswith(_BOM) else raw.data
    invalid_utf8 = False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text, invalid_utf8 = data.decode("utf-8", "replace"), True
    try:
        record = json.loads(text)
    except RecursionError:
        raise QuarantineError(MALFORMED_JSON, "JSON nested too deeply") from None
    except ValueError as error:
        raise QuarantineError(MALFORMED_JSON, str(error)[:200]) from None
    if not isinstance(record, dict):
        raise QuarantineError(NOT_AN_OBJECT, f"a JSON {type(record).__name__.replace('dict', 'object')}, not an object")
    scrubbed = _ESCAPED_SURROGATE.search(text) is not None
    if scrubbed:
        record = _scrub_surrogates(record)
    post = source.parse(record)
    if invalid_utf8:
        post.flags.append("invalid_utf8")
    if scrubbed:
        post.flags.append("lone_surrogates")
    if not post.title and not post.description and not post.image_refs:
        raise QuarantineError(EMPTY_POST, "no title, no description and no image")
    return post


def content_hash(title: str, description: str, image_shas: Iterable[str]) -> str:
    """What an embedding sees: the clean text and the photos' bytes, in order (price is not in it)."""
    payload = json.dumps([title, description, list(image_shas)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _ref_text(ref: object) -> str:
    """A reference as text for the tables; a non-string entry keeps its JSON form."""
    return ref if isinstance(ref, str) else json.dumps(ref, ensure_ascii=False)[:500]


def _quarantine_row(dump: Dump, raw: RawLine, reason: str, detail: str) -> dict[str, Any]:
    return {
        "source": dump.source,
        "dump": dump.name,
        "scrape_date": dump.scrape_date,
        "line_number": raw.number,
        "reason": reason,
        "detail": detail,
        "raw": raw.data[:RAW_CUT_BYTES].decode("utf-8", "replace"),
        "raw_bytes": raw.n_bytes,
    }


class _ListingLines:
    """Which line of a dump last carried each listing, in 16 bytes a listing (a 64-bit hash of its id and
    the line number) rather than a dict of id strings: memory stays small however large the dump."""

    def __init__(self) -> None:
        self._keys = array("Q")  # stdlib arrays: 8 bytes an item, no Python object per entry
        self._lines = array("q")

    def add(self, post_id: str, line: int) -> None:
        self._keys.append(int.from_bytes(hashlib.blake2b(post_id.encode("utf-8", "replace"), digest_size=8).digest(), "little"))
        self._lines.append(line)

    def superseded(self) -> dict[int, int]:
        """Earlier line -> the last line of the same key (candidates: a hash collision is possible)."""
        import numpy as np

        keys = np.frombuffer(self._keys, dtype=np.uint64)
        lines = np.frombuffer(self._lines, dtype=np.int64)
        ordered = np.sort(keys)
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        del ordered  # the common case ends here, having held one extra copy of the keys
        if not len(repeated):
            return {}
        rows = np.flatnonzero(np.isin(keys, repeated))  # only the repeated listings from here on
        keys, lines = keys[rows], lines[rows]
        order = np.lexsort((lines, keys))
        keys, lines = keys[order], lines[order]
        last_of_key = np.r_[keys[1:] != keys[:-1], True]
        last_rows = np.flatnonzero(last_of_key)
        later = lines[last_rows[np.searchsorted(last_rows, np.arange(len(keys)))]]
        earlier = ~last_of_key
        return dict(zip(lines[earlier].tolist(), later[earlier].tolist(), strict=True))


class _DateIngest:
    def __init__(self, home: C2cHome, scrape_date: date, settings: IngestSettings, log: Log) -> None:
        self.home = home
        self.scrape_date = scrape_date
        self.settings = settings
        self.log = log
        self.store = ImageStore(home, settings.image)
        keys = {"date": scrape_date.isoformat()}
        self.writers = {
            "posts": AtomicParquetWriter(partition_file(home.lake, "posts", keys), schema.POSTS),
            "quarantine": AtomicParquetWriter(partition_file(home.lake, "quarantine", keys), schema.QUARANTINE),
            "post_images": AtomicParquetWriter(partition_file(home.lake, "post_images", keys), schema.POST_IMAGES),
        }
        self._fetcher: Any = None
        self._pool = ThreadPoolExecutor(max_workers=settings.image_workers, thread_name_prefix="c2c-image")

    def close(self, commit: bool) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._fetcher is not None:
            self._fetcher.close()
        for writer in self.writers.values():
            writer.commit() if commit else writer.abort()

    def fetcher(self) -> Any:
        if self._fetcher is None:

            self._fetcher = ImageFetcher(self.settings.fetch)
        return self._fetcher

    def ingest(self, dumps: list[Dump]) -> list[DumpSummary]:
        summaries, superseded = [], {}
        for dump in dumps:
            summary, replaced = self._ingest_dump(dump)
            summaries.append(summary)
            if replaced:
                superseded[dump.name] = replaced
                summary.accepted -= len(replaced)
                self._quarantine_superseded(dump, replaced, summary)
        if superseded:
            self._drop_superseded(superseded)
        return summaries

    def _ingest_dump(self, dump: Dump) -> tuple[DumpSummary, dict[int, int]]:
        source = get_source(dump.source)
        summary = DumpSummary(dump.name, dump.fingerprint())
        seen = _ListingLines()
        pending: list[tuple[int, ParsedPost]] = []
        quarantined: list[dict[str, Any]] = []
        started = time.perf_counter()
        for raw in read_lines(dump):
            summary.lines += 1
            try:
                post = parse_line(source, raw)
            except QuarantineError as error:
                summary.quarantined[error.reason] += 1
                quarantined.append(_quarantine_row(dump, raw, error.reason, error.detail))
                continue
            seen.add(post.post_id, raw.number)
            pending.append((raw.number, post))
            if len(pending) + len(quarantined) >= self.settings.chunk_lines:
                self._write_posts(dump, pending, summary)
                self.writers["quarantine"].write_rows(quarantined)
                pending, quarantined = [], []
                rate = summary.lines / max(time.perf_counter() - started, 1e-9)
                self.log(f"{dump.name}: {summary.lines} lines read ({rate:,.0f} lines/s), {summary.images_ok} images stored")
        self._write_posts(dump, pending, summary)
        self.writers["quarantine"].write_rows(quarantined)
        if summary.lines == 0:
            raise DumpError(f"empty dump {dump.name}/{dump.posts_file.name}: no non-blank lines")
        return summary, self._confirmed(dump, source, seen.superseded())

    def _confirmed(self, dump: Dump, source: Source, candidates: dict[int, int]) -> dict[int, int]:
        """Keep the pairs whose two lines really carry the same listing id (the keys are 64-bit hashes)."""
        if not candidates:
            return {}
        raws = read_line_numbers(dump, set(candidates) | set(candidates.values()))
        return {
            line: later
            for line, later in candidates.items()
            if parse_line(source, raws[line]).post_id == parse_line(source, raws[later]).post_id
        }

    def _image_jobs(self, dump: Dump, posts: list[tuple[int, ParsedPost]]) -> dict[tuple[int, int], StoredImage | ImageRejected]:
        """Check and store every photo of ``posts``; keyed by (line number, position)."""
        urls = {
            ref for _, post in posts for ref in post.image_refs[:MAX_IMAGES_PER_POST] if isinstance(ref, str) and is_url(ref)
        }
        fetched = self.fetcher().fetch_many(sorted(urls)) if urls else {}
        max_bytes = self.settings.image.max_bytes

        def one(ref: object) -> StoredImage | ImageRejected:
            try:
                if isinstance(ref, str) and is_url(ref):
                    result = fetched[ref]
                    if not result.ok:
                        return ImageRejected(result.reason, result.detail or result.reason)
                    return self.store.store(result.data)
                return self.store.store(read_local_image(dump.folder, ref, max_bytes))
            except ImageRejected as rejected:
                return rejected

        keys = [(line, pos) for line, post in posts for pos in range(min(len(post.image_refs), MAX_IMAGES_PER_POST))]
        refs = [post.image_refs[pos] for line, post in posts for pos in range(min(len(post.image_refs), MAX_IMAGES_PER_POST))]
        return dict(zip(keys, self._pool.map(one, refs), strict=True))

    def _write_posts(self, dump: Dump, posts: list[tuple[int, ParsedPost]], summary: DumpSummary) -> None:
        if not posts:
            return
        outcomes = self._image_jobs(dump, posts)
        post_rows, image_rows = [], []
        for line, post in posts:
            shas = []
            refs = [_ref_text(ref) for ref in post.image_refs]
            for position, ref in enumerate(refs):
                outcome = outcomes.get((line, position)) or ImageRejected(
                    TOO_MANY_IMAGES, f"only the first {MAX_IMAGES_PER_POST} photos of a post are processed"
                )
                row = {
                    "post_id": post.post_id,
                    "scrape_date": dump.scrape_date,
                    "position": position,
                    "ref": ref,
                    "dump": dump.name,
                    "line_number": line,
                }
                if isinstance(outcome, StoredImage):
                    shas.append(outcome.sha256)
                    summary.images_ok += 1
                    row.update(
                        status="ok", sha256=outcome.sha256, width=outcome.width, height=outcome.height,
                        path=outcome.path, thumb_path=outcome.thumb_path, n_bytes=outcome.n_bytes,
                    )
                else:
                    summary.images_rejected[outcome.reason] += 1
                    row.update(status="rejected", reason=outcome.reason, detail=outcome.detail[:500])
                image_rows.append(row)
            summary.flags.update(post.flags)
            summary.accepted += 1
            post_rows.append(
                {
                    "post_id": post.post_id,
                    "source": post.source,
                    "source_id": post.source_id,
                    "url": post.url,
                    "title": post.title,
                    "description": post.description,
                    "price_usd": post.price_usd,
                    "price_raw": post.price_raw,
                    "location": post.location,
                    "posted_at": post.posted_at,
                    "scrape_date": dump.scrape_date,
                    "condition": post.condition,
                    "category": post.category,
                    "attributes": json.dumps(post.attributes, ensure_ascii=False, sort_keys=True),
                    "image_refs": refs,
                    "n_images": len(post.image_refs),
                    "n_images_ok": len(shas),
                    "content_hash": content_hash(post.title, post.description, shas),
                    "flags": post.flags,
                    "dump": dump.name,
                    "line_number": line,
                }
            )
        self.writers["posts"].write_rows(post_rows)
        self.writers["post_images"].write_rows(image_rows)

    def _quarantine_superseded(self, dump: Dump, superseded: dict[int, int], summary: DumpSummary) -> None:
        raws = read_line_numbers(dump, set(superseded))
        rows = [
            _quarantine_row(dump, raws[line], DUPLICATE_LISTING, f"superseded by line {later} of the same dump (latest wins)")
            for line, later in sorted(superseded.items())
        ]
        summary.quarantined[DUPLICATE_LISTING] += len(rows)
        self.writers["quarantine"].write_rows(rows)

    def _drop_superseded(self, superseded: dict[str, dict[int, int]]) -> None:
        """Copy posts and post_images without the superseded lines (rare: only when a dump repeats a listing)."""
        for name in ("posts", "post_images"):
            old = self.writers[name]
            old.close()
            new = AtomicParquetWriter(old.path, old.schema)
            for batch in iter_batches(old.temporary_path):
                keep = pa.array(
                    [line not in superseded.get(dump, ()) for dump, line in zip(
                        batch.column("dump").to_pylist(), batch.column("line_number").to_pylist(), strict=True)]
                )
                new.write_table(pa.Table.from_batches([batch]).filter(keep))
            old.abort()
            self.writers[name] = new


def ingest_date(
    inbox: Path,
    home: C2cHome,
    scrape_date: date,
    settings: IngestSettings | None = None,
    log: Log | None = None,
) -> IngestSummary:
    """Ingest every dump of ``scrape_date`` under ``inbox``; raises DumpError, leaving the old partitions."""
    dumps = find_dumps(inbox, scrape_date)
    if not dumps:
        raise DumpError(f"no dump for {scrape_date.isoformat()} under {inbox} (expected <source>/{scrape_date}/posts.jsonl[.gz])")
    started = time.perf_counter()
    try:
        job = _DateIngest(home.ensure(), scrape_date, settings or IngestSettings(), log or (lambda _: None))
        try:
            summaries = job.ingest(dumps)
        except BaseException:
            job.close(commit=False)
            raise
        job.close(commit=True)
    except DumpError:
        raise
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT):
            raise StorageError(
                error.errno, f"cannot write the {scrape_date} partitions ({error.filename or home.lake}): {error.strerror}; the previous partitions are unchanged"
            ) from error
        raise
    files = {name: writer.path for name, writer in job.writers.items()}
    return IngestSummary(scrape_date, summaries, files, time.perf_counter() - started)
