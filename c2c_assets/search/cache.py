"""The current posts a long-lived searcher checks its candidates against, kept in memory between queries.

``search()`` joins each query's candidates with the warehouse's ``posts`` and ``post_thumbnails`` views,
which read the lake's Parquet and keep each listing's latest scrape: every query scans every post
(measured: 18 ms for 20,000 posts on 2 cores, growing with the lake). ``c2c serve`` instead keeps the
columns a hit needs of every current post in memory (an Arrow table read from the same views, and a
post_id -> row map: a few hundred bytes a post), looks up and filters only the candidates' rows
(``Filters.matches``, the Python twin of ``Filters.sql``), and reads the posts again as soon as
anything they depend on changed: before each query it compares the files of the ``posts`` and
``post_images`` partitions (names, sizes, modification times, inodes) and the warehouse file with what
the table was read from. A post that changed or vanished is therefore never returned, as with ``search()``.

A lake on object storage is listed at most every ``REMOTE_CHECK_S`` seconds (a listing is a request),
so there a change can take that long to show.
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Any, NamedTuple

import pyarrow as pa

from c2c_assets.attributes.extract import ATTRIBUTES, attributes_of

from c2c_assets.home import C2cHome
from c2c_assets.lake import PART_NAME
from c2c_assets.storage import is_local
from c2c_assets.warehouse import connect, quote

if TYPE_CHECKING:
    from c2c_assets.search.filters import Filters

REMOTE_CHECK_S = 5.0
WATCHED = ("posts", "post_images", "post_attributes")  # the lake assets the posts, post_thumbnails and post_attributes views read
COLUMNS = "post_id, content_hash, title, price_usd, source, url, scrape_date"
CANDIDATES = pa.schema([("post_id", pa.string()), ("content_hash", pa.string()), ("score", pa.float64()), ("text_predicted", pa.bool_()),
                        ("lexical_rank", pa.int32()), ("vector_rank", pa.int32()), ("feedback_rank", pa.int32()),
                        ("ord", pa.int32())])
_ATTRIBUTE_SQL = ", ".join(f"a.{name}" for name in ATTRIBUTES)

# The candidates that are still current (same content hash) and pass the filters, in the candidates' order.
HITS_SQL = (
    "SELECT p.post_id, c.score, p.title, p.price_usd, p.source, p.url, t.thumb_path, c.text_predicted, c.lexical_rank, c.vector_rank, "
    f"{_ATTRIBUTE_SQL} "
    # The content hash must still match: a post that changed since the index was built is stale.
    "FROM candidates c JOIN posts p ON p.post_id = c.post_id AND p.content_hash = c.content_hash "
    "LEFT JOIN post_thumbnails t ON t.post_id = p.post_id LEFT JOIN post_attributes a ON a.post_id = p.post_id WHERE true{where} "
    "ORDER BY c.ord LIMIT ?"
)


class Candidate(NamedTuple):
    """A post an index proposed, in the order the search ranks them (``ord``: its place in the list)."""

    post_id: str
    content_hash: str
    score: float
    text_predicted: bool = False
    lexical_rank: int | None = None
    vector_rank: int | None = None
    feedback_rank: int | None = None  # its rank in the feedback query's candidates (``search.feedback``)


def candidates_table(candidates: list[Candidate]) -> pa.Table:
    rows = [{**c._asdict(), "ord": i} for i, c in enumerate(candidates)]
    return pa.Table.from_pylist(rows, schema=CANDIDATES)


def warehouse_hits(home: C2cHome, candidates: list[Candidate], where: str, params: list[Any], k: int) -> list[tuple]:
    """The join against the warehouse views themselves (one query: nothing kept). Rows: the hit's columns
    up to ``vector_rank``, then its attributes (``attributes_of``)."""
    if not candidates:
        return []
    # The candidates' ids as constants too: DuckDB then filters the views' scans (and their latest-scrape window)
    # to these posts before the join; with the join alone it computed every listing's latest scrape first
    # (1.2M posts, on a loaded machine: 3.2-3.6 s a query without them, 1.7-2.3 s with).
    ids = ", ".join(quote(c.post_id) for c in candidates)
    sql = HITS_SQL.format(where=f"{where} AND p.post_id IN ({ids})")
    with connect(home, read_only=True) as db:
        db.register("candidates", candidates_table(candidates))
        rows = db.execute(sql, [*params, k]).fetchall()
    return [(*row[:10], attributes_of(row[10:])) for row in rows]


class CurrentPosts:
    """The current posts' search columns (and thumbnail) in memory, re-read when the lake or the warehouse changed."""

    def __init__(self, home: C2cHome) -> None:
        self.home = home
        self._lock = threading.Lock()
        self._signature: object = None
        self._snapshot: tuple[pa.Table, dict[str, int]] = (pa.table({}), {})
        self._checked = 0.0
        self.loads = 0  # how many times the table was (re)read: for tests and /health

    def _files(self) -> object:
        lake = self.home.lake
        files = []
        for asset in WATCHED:
            for path in lake.glob(f"{asset}/date=*/{PART_NAME}"):
                if is_local(lake):
                    stat = os.stat(path)
                    files.append((str(path), stat.st_size, stat.st_mtime_ns, stat.st_ino))
                else:
                    files.append((str(path), path.stat().st_size))
        warehouse = self.home.warehouse
        stat = os.stat(warehouse) if warehouse.exists() else None
        return tuple(sorted(files)), stat and (stat.st_size, stat.st_mtime_ns, stat.st_ino)

    def refresh(self) -> None:
        """Re-read the table if what it was read from changed (checked at every query on a local lake)."""
        now = time.monotonic()
        if self._signature is not None and not is_local(self.home.lake) and now - self._checked < REMOTE_CHECK_S:
            return
        signature = self._files()
        if signature == self._signature:
            self._checked = now
            return
        with self._lock:
            signature = self._files()
            if signature == self._signature:
                return
            with connect(self.home, read_only=True) as warehouse:
                table = warehouse.sql(
                    f"SELECT {', '.join('p.' + c for c in COLUMNS.split(', '))}, t.thumb_path, {_ATTRIBUTE_SQL} "
                    "FROM posts p LEFT JOIN post_thumbnails t ON t.post_id = p.post_id LEFT JOIN post_attributes a ON a.post_id = p.post_id"
                ).to_arrow_table().combine_chunks()  # one chunk: take() on several would concatenate them per query
            rows = {post_id: row for row, post_id in enumerate(table.column("post_id").to_pylist())}
            self._snapshot = (table, rows)  # one assignment: a query sees the old snapshot or the new one
            if self._files() != signature:  # it changed while we read it: read again at the next query
                signature = None
            self._signature, self._checked = signature, now
            self.loads += 1

    def hits(self, candidates: list[Candidate], filters: Filters, k: int) -> list[tuple]:
        """``warehouse_hits``'s rows, from memory: the candidates whose post is current and passes ``filters``."""
        self.refresh()
        table, rows = self._snapshot
        out: list[tuple] = []
        # Looked up and filtered in Python (a DuckDB query costs ~3 ms to plan and run), a slice of candidates
        # at a time in their order: most queries are answered by the first 2k, and converting a row costs.
        step = max(2 * k, 16)
        for start in range(0, len(candidates), step):
            chunk = candidates[start : start + step]
            positions = [rows[c.post_id] for c in chunk if c.post_id in rows]
            taken = table.take(pa.array(positions, pa.int64())).to_pylist() if positions else []
            found = {row["post_id"]: row for row in taken}
            for c in chunk:
                post = found.get(c.post_id)
                # The content hash must still match: a post that changed since the index was built is stale.
                if post is None or post["content_hash"] != c.content_hash:
                    continue
                attributes = attributes_of([post[name] for name in ATTRIBUTES])
                if filters.matches(post["source"], post["price_usd"], post["scrape_date"], attributes):
                    out.append((c.post_id, c.score, post["title"], post["price_usd"], post["source"], post["url"], post["thumb_path"],
                                c.text_predicted, c.lexical_rank, c.vector_rank, attributes))
                    if len(out) == k:
                        return out
        return out
