"""Search an encoder's indexes by text, photo, sound or example post (``build`` makes them).

Which index a query uses follows the encoder's spaces: CLIP and ImageBind put text, photos and
sound in one space, so a text query searches the *image* side (cross-modal); the default encoder's
towers are separate, so text searches the text side and photos the image side; ``--like`` searches
post vectors. Filters are applied through DuckDB with bound parameters, and a hit whose post changed
or vanished since the index was built is never returned.

A text query is **hybrid** by default: the lexical index (``search.lexical``, BM25 over every current post's
title and description) and the vector index each propose candidates, and ``hybrid.fuse`` ranks them by
reciprocal rank fusion, posts holding the query's exact sizes or part numbers first. ``mode="semantic"``
or ``"lexical"`` uses one of them; photo, sound and --like queries are semantic. Each hit carries its
``lexical_rank`` and ``vector_rank`` (None where that side did not propose it) and the ``mode`` used;
``Searcher.query`` returns them with the mode (``SearchResult``), ``Searcher.search`` a list of hits
(``Searcher.last_mode`` says the mode, per thread). In hybrid mode the vector side's first hits also feed
back (``search.feedback``): the centroid of their post vectors is a third query on the ``post`` index,
fused with the other two; a hit's ``feedback_rank`` is its rank there (``feedback=0`` turns it off;
semantic mode uses it only when asked).

``Searcher`` keeps encoders and opened indexes across queries (``c2c serve``): each query reads the
side's ``CURRENT`` pointer (a few bytes) and reopens the index when it names another build, so a newly
published build answers the next query without a restart. ``search()`` is one query with a throwaway
``Searcher`` (``c2c search``): it loads everything and keeps nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from c2c_assets.embeddings.store import SIDES, stored_vector
from c2c_assets.encoders import EncoderConfig, EncoderError, create_encoder, encoder_configs, query_side
from c2c_assets.encoders.base import Encoder
from c2c_assets.home import C2cHome
from c2c_assets.search import feedback as prf
from c2c_assets.search import index as idx
from c2c_assets.search.analyzer import analyze_query
from c2c_assets.search.cache import Candidate, CurrentPosts, warehouse_hits
from c2c_assets.search.filters import Filters
from c2c_assets.search.hybrid import LEXICAL_WEIGHT, MODES, fuse, lexical_only
from c2c_assets.search.lexical import LexicalIndex, LexicalIndexError, current_lexical_build, load_lexical


class SearchError(ValueError):
    """A query that cannot be answered, with a message for the person who asked."""


@dataclass(frozen=True)
class Hit:
    post_id: str
    score: float  # semantic: cosine; lexical: BM25; hybrid: the fused RRF score (``hybrid.fuse``)
    title: str
    price_usd: float | None
    source: str
    url: str | None
    thumb_path: str | None
    text_predicted: bool = False  # the post's text vector was predicted from its photos (thin text)
    lexical_rank: int | None = None  # its rank in the lexical / vector candidates (1-based; None: not among them)
    vector_rank: int | None = None
    attributes: dict[str, Any] | None = None  # what post_attributes read from its text (only what it found)
    mode: str = "semantic"  # how it was found: semantic, lexical or hybrid
    feedback_rank: int | None = None  # its rank in the feedback query's candidates (None: not among them, or no feedback)

    def as_dict(self) -> dict[str, Any]:
        return {"post_id": self.post_id, "score": round(self.score, 6), "title": self.title, "price_usd": self.price_usd,
                "source": self.source, "text_predicted": self.text_predicted, "mode": self.mode,
                "lexical_rank": self.lexical_rank, "vector_rank": self.vector_rank, "feedback_rank": self.feedback_rank,
                "attributes": self.attributes}


@dataclass(frozen=True)
class SearchResult:
    """The hits of one query and how they were found: ``mode`` is the mode actually used (a hybrid query
    without a lexical index, or with no word it can match, is answered semantically, and ``note`` says why)."""

    hits: list[Hit]
    mode: str
    note: str | None = None


class LoadedIndex:
    """One published index build, opened for queries without reading it whole: the FAISS file is
    memory-mapped (the OS pages in what a search touches) and the id map stays an Arrow table on a
    memory map, converted to Python only for the rows a query returns."""

    def __init__(self, build_dir: Path) -> None:
        import faiss

        self.build_dir = build_dir
        self.meta = json.loads((build_dir / "meta.json").read_text())
        path = str(build_dir / "index.faiss")
        # IO_FLAG_MMAP_IFC maps the vectors of flat and HNSW indexes in place (1.2M x 384 HNSW: opened in 0.04 s at
        # 1.3 GB peak RSS, against 4.5 s and 2.2 GB with IO_FLAG_MMAP, which reads their storage whole); IVF maps
        # its lists with IO_FLAG_MMAP.
        for flags in (faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY, 0):
            try:
                self.index = faiss.read_index(path, flags)
                break
            except RuntimeError:  # an index type FAISS cannot map this way: the next way
                if flags == 0:
                    raise
        idx.set_search_params(self.index, idx.IndexPlan(self.meta["kind"], self.meta["params"]))
        self.ids = pq.read_table(build_dir / "ids.parquet", memory_map=True)
        self._lock = threading.Lock()  # efSearch is set per query on the shared index
        self._starts: dict[str, np.ndarray] = {}  # per column: the first row of each chunk

    def __len__(self) -> int:
        return self.ids.num_rows

    def position(self, post_id: str) -> int | None:
        """The row of ``post_id`` in the index, or None if it is not there."""
        import pyarrow.compute as pc

        found = pc.index(self.ids.column("post_id"), post_id).as_py()
        return None if found < 0 else found

    def rows(self, positions: Sequence[int]) -> list[tuple[str, str, bool]]:
        """(post_id, content_hash, text_predicted) of the given rows."""
        positions = list(positions)
        flags = self._take("text_predicted", positions) if "text_predicted" in self.ids.column_names else [False] * len(positions)
        return list(zip(self._take("post_id", positions), self._take("content_hash", positions), (bool(f) for f in flags), strict=True))

    def _take(self, name: str, positions: list[int]) -> list[Any]:
        """Values of a column at the given rows, chunk by chunk: Arrow's take on a column of several
        chunks first concatenates them all (4 ms a query at 200,000 rows), and would copy the mapped file."""
        column = self.ids.column(name)
        if column.num_chunks == 1:
            return column.chunk(0).take(positions).to_pylist()
        starts = self._starts.get(name)
        if starts is None:
            starts = self._starts[name] = np.cumsum([0] + [len(chunk) for chunk in column.chunks])
        chunks = np.searchsorted(starts, positions, side="right") - 1
        return [column.chunk(c)[p - starts[c]].as_py() for p, c in zip(positions, chunks.tolist(), strict=True)]

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        from c2c_assets.neighbours import threads_for

        k = min(k, self.index.ntotal)
        query = np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32)
        # One query on one thread: OpenMP's start-up costs more than it saves (flat, 20,000 x 384, 2 cores:
        # 1.2 ms against 12-16 ms). The setting is this thread's own, and is put back.
        with threads_for(1), self._lock:
            if self.meta["kind"] == "hnsw":
                self.index.hnsw.efSearch = max(self.meta["params"]["efSearch"], k)
            return self.index.search(query, k)


def load_index(home: C2cHome, encoder: str, side: str) -> LoadedIndex:
    for _ in range(5):
        build_dir = idx.current_build(home, encoder, side)
        if build_dir is None:
            raise SearchError(f"no {side} index for encoder {encoder!r}: materialize faiss_index for it (c2c index --encoder {encoder})")
        try:
            return LoadedIndex(build_dir)
        except (FileNotFoundError, RuntimeError):
            continue  # replaced twice while we opened it: read CURRENT again
    raise SearchError(f"the {side} index of {encoder!r} keeps changing under us; try again")


class _Loaded:
    """One encoder kept loaded, with the config it was made from and a lock around its towers."""

    def __init__(self, config: EncoderConfig, encoder: Encoder) -> None:
        self.config, self.encoder, self.lock = config, encoder, threading.Lock()


class Searcher:
    """Queries against one home with encoders and indexes kept loaded between them; safe to share
    between threads. An index is reopened when its side's ``CURRENT`` names another build (checked per
    query); an encoder is made again when its registered config changes; with ``keep_posts`` the
    current posts are kept too (``cache.CurrentPosts``), re-read when the lake changes."""

    def __init__(self, home: C2cHome, *, keep_posts: bool = False) -> None:
        self.home = home
        # keep_posts: join candidates with an in-memory copy of the current posts (re-read when the lake
        # changes: cache.CurrentPosts) instead of the warehouse views, which scan every post per query.
        self._posts = CurrentPosts(home) if keep_posts else None
        self._lock = threading.Lock()
        self._encoders: dict[str, _Loaded] = {}
        self._indexes: dict[tuple[str, str], LoadedIndex] = {}
        self._lexical: LexicalIndex | None = None
        self._last = threading.local()  # last_mode / last_note, per thread (c2c serve shares one Searcher)

    def config(self, encoder_name: str) -> EncoderConfig:
        configs = encoder_configs(self.home.root)
        if encoder_name not in configs:
            raise SearchError(f"unknown encoder {encoder_name!r}; known: {', '.join(sorted(configs))}")
        return configs[encoder_name]

    def encoder(self, encoder_name: str) -> _Loaded:
        """The loaded encoder (made on first use, and again if its registered config changed)."""
        config = self.config(encoder_name)
        loaded = self._encoders.get(encoder_name)
        if loaded is not None and loaded.config == config:
            return loaded
        with self._lock:
            loaded = self._encoders.get(encoder_name)
            if loaded is None or loaded.config != config:
                try:
                    loaded = _Loaded(config, create_encoder(config, home=self.home.root))
                except EncoderError as error:
                    raise SearchError(str(error)) from None
                self._encoders[encoder_name] = loaded
        return loaded

    def index(self, encoder: str, side: str) -> LoadedIndex:
        """The side's current build, opened once and reused until ``CURRENT`` names another one."""
        build_dir = idx.current_build(self.home, encoder, side)
        cached = self._indexes.get((encoder, side))
        if cached is not None and build_dir == cached.build_dir:
            return cached
        loaded = load_index(self.home, encoder, side)  # reads CURRENT again, retrying while it moves
        with self._lock:
            self._indexes[(encoder, side)] = loaded
        return loaded

    def builds(self, encoder: str) -> dict[str, LoadedIndex]:
        """Every side of the encoder that has a published build, opened (or reopened if it changed)."""
        return {side: self.index(encoder, side) for side in SIDES if idx.current_build(self.home, encoder, side) is not None}

    def warm(self, encoder_name: str) -> None:
        """Open the encoder's indexes, read the kept posts and load its text tower (one throwaway query), before the first real query."""
        config = self.config(encoder_name)
        self.builds(encoder_name)
        self.lexical()
        if self._posts is not None:
            self._posts.refresh()
        try:
            query_side(config, "text")
        except EncoderError:
            return  # a family without a text tower: nothing more to warm
        loaded = self.encoder(encoder_name)
        with loaded.lock:
            try:
                loaded.encoder.embed_texts(["warm up"])
            except EncoderError as error:
                raise SearchError(str(error)) from None

    def query_vector(self, encoder_name: str, *, text: str | None = None, image: Path | None = None,
                     audio: Path | None = None, like: str | None = None) -> tuple[str, np.ndarray]:
        """The side to search and the unit query vector, or a SearchError saying what is wrong."""

        given = [name for name, value in (("text", text), ("image", image), ("audio", audio), ("like", like)) if value is not None]
        if len(given) != 1:
            raise SearchError("give exactly one query: text, --image, --audio or --like")
        config = self.config(encoder_name)
        kind = given[0]
        try:
            side = query_side(config, kind)
        except EncoderError as error:
            raise SearchError(str(error)) from None
        if kind == "like":
            loaded = self.index(encoder_name, "post")
            row = loaded.position(like)
            if row is None:
                raise SearchError(f"unknown post {like!r} (not in the {encoder_name} index)")
            vector = loaded.index.reconstruct(row) if loaded.meta["kind"] != "ivf" else _stored_vector(self.home, encoder_name, like)
            return side, np.asarray(vector, dtype=np.float32)
        if kind == "text" and not text.strip():
            raise SearchError("the text query is empty")
        for label, path in (("image", image), ("audio", audio)):
            if kind == label and not Path(path).is_file():
                raise SearchError(f"cannot read {label} file {path}")
        if kind == "image":
            from PIL import Image, UnidentifiedImageError

            try:
                with Image.open(image) as probe:
                    probe.verify()
            # A truncated PNG fails verify() with SyntaxError; a decompression bomb is its own error.
            except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
                raise SearchError(f"cannot read image {image}: {error}") from None
        loaded = self.encoder(encoder_name)
        try:
            with loaded.lock:
                if kind == "text":
                    vector = loaded.encoder.embed_texts([text])[0]
                elif kind == "image":
                    vector = loaded.encoder.embed_images([image])[0]
                else:
                    vector = loaded.encoder.embed_audio([audio])[0]
        except EncoderError as error:
            raise SearchError(str(error)) from None
        return side, np.asarray(vector, dtype=np.float32)

    def lexical(self) -> LexicalIndex | None:
        """The lexical index's live build (reopened when ``CURRENT`` names another), or None before the first build."""
        build_dir = current_lexical_build(self.home)
        cached = self._lexical
        if cached is not None and build_dir == cached.build_dir:
            return cached
        try:
            loaded = load_lexical(self.home)
        except LexicalIndexError as error:
            raise SearchError(str(error)) from None
        self._lexical = loaded
        return loaded

    @property
    def last_mode(self) -> str | None:
        """The mode this thread's last ``search()`` used (``query()`` returns it with the hits)."""
        return getattr(self._last, "mode", None)

    @property
    def last_note(self) -> str | None:
        return getattr(self._last, "note", None)

    def search(self, encoder: str, k: int = 10, filters: Filters | None = None, mode: str | None = None, **query: Any) -> list[Hit]:
        """The k best current posts for one query, filtered (``query()``'s hits; ``last_mode`` says how)."""
        result = self.query(encoder, k, filters, mode, **query)
        self._last.mode, self._last.note = result.mode, result.note
        return result.hits

    def feedback_query(self, encoder: str, loaded: LoadedIndex, vector: np.ndarray, depth: int) -> tuple[LoadedIndex, np.ndarray] | None:
        """The post index and the feedback vector (``search.feedback``): the centroid of the post vectors of
        the first ``depth`` hits of ``vector`` on ``loaded``; None without a post index or seeds."""
        if depth < 1 or idx.current_build(self.home, encoder, "post") is None:
            return None
        post = self.index(encoder, "post")
        _, positions = loaded.search(vector, min(depth, loaded.index.ntotal))
        seeds = [post_id for post_id, _, _ in loaded.rows([int(p) for p in positions[0] if p >= 0])]

        def vector_of(post_id: str) -> np.ndarray | None:
            row = post.position(post_id)
            if row is None:
                return None
            if post.meta["kind"] == "ivf":  # IVF-PQ cannot reconstruct exactly: the stored vector
                return stored_vector(self.home, encoder, post_id)
            return np.asarray(post.index.reconstruct(row), dtype=np.float32)

        centre = prf.centroid(seeds, vector_of)
        return None if centre is None else (post, centre)

    def query(self, encoder: str, k: int = 10, filters: Filters | None = None, mode: str | None = None,
              lexical_weight: float = LEXICAL_WEIGHT, feedback: int | None = None, **query: Any) -> SearchResult:
        """The k best current posts for one query, filtered. ``mode``: ``hybrid`` (the default for text: lexical
        and vector hits fused, ``hybrid.fuse``), ``semantic`` (vectors only; the only mode for photo, sound
        and --like queries) or ``lexical`` (BM25 only). ``feedback``: how many of the vector side's first hits
        feed back into a text query (``search.feedback``); None: ``FEEDBACK_DEPTH`` in hybrid mode, none in
        semantic mode; 0: none."""
        if k < 1:
            raise SearchError("k must be at least 1")
        if mode is not None and mode not in MODES:
            raise SearchError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if not 0.0 <= lexical_weight <= 1.0:
            raise SearchError("the lexical weight must lie between 0 and 1")
        text = query.get("text")
        is_text = text is not None and not any(query.get(name) is not None for name in ("image", "audio", "like"))
        mode = mode or ("hybrid" if is_text else "semantic")
        if mode != "semantic" and not is_text:
            raise SearchError(f"mode {mode} needs a text query alone (photo, sound and --like queries are semantic)")
        if is_text and not text.strip():
            raise SearchError("the text query is empty")
        if feedback is not None and feedback < 0:
            raise SearchError("the feedback depth cannot be negative")
        filters = filters or Filters()
        note, lexical, analyzed = None, None, None
        if mode != "semantic":
            lexical = self.lexical()
            if lexical is None:
                if mode == "lexical":
                    raise SearchError("no lexical index yet: materialize lexical_index (c2c index builds it)")
                mode, note = "semantic", "no lexical index yet (c2c index builds it): vector results only"
            else:
                analyzed = analyze_query(text)
                if analyzed.empty:
                    why = "the query has no word the lexical index can match (only stop words?)"
                    if mode == "lexical":
                        return SearchResult([], mode, why)
                    mode, note, lexical = "semantic", why + ": vector results only", None
        loaded = vector = feedback_on = None
        if mode != "lexical":
            side, vector = self.query_vector(encoder, **query)
            loaded = self.index(encoder, side)
            if is_text:
                feedback_on = self.feedback_query(encoder, loaded, vector, prf.depth_for(mode, feedback))
        where, params = filters.sql()
        exclude = query.get("like")
        # Each side proposes 4k+1 (the fusion's weight past rank 4k is small), more only when filters or stale posts leave fewer than k.
        wanted = k * 4 + 1
        while True:
            vectors: list[Candidate] = []
            if loaded is not None:
                scores, positions = loaded.search(vector, min(wanted, loaded.index.ntotal))
                found = [(int(p), float(score)) for p, score in zip(positions[0], scores[0], strict=True) if p >= 0]
                rows = [(post_id, content_hash, score, predicted)
                        for (post_id, content_hash, predicted), (_, score) in zip(loaded.rows([p for p, _ in found]), found, strict=True)
                        if post_id != exclude]
                rows.sort(key=lambda row: (-row[2], row[0]))  # equal scores (posts sharing a photo) in a stable order
                vectors = [Candidate(post_id, content_hash, score, predicted, None, rank)
                           for rank, (post_id, content_hash, score, predicted) in enumerate(rows, 1)]
            fed_back: list[Candidate] = []
            if feedback_on is not None:
                post, centre = feedback_on
                scores, positions = post.search(centre, min(wanted, post.index.ntotal))
                found = [(int(p), float(score)) for p, score in zip(positions[0], scores[0], strict=True) if p >= 0]
                fed_back = [Candidate(post_id, content_hash, score, predicted)
                            for (post_id, content_hash, predicted), (_, score) in zip(post.rows([p for p, _ in found]), found, strict=True)]
            lexical_hits = lexical.search(analyzed, wanted) if lexical is not None else []
            if mode == "semantic":
                candidates = fuse([], vectors, 0.0, feedback=fed_back) if fed_back else vectors
            elif mode == "lexical":
                candidates = lexical_only(lexical_hits)
            else:
                candidates = fuse(lexical_hits, vectors, lexical_weight, feedback=fed_back)
            if self._posts is not None:
                rows = self._posts.hits(candidates, filters, k)
            else:
                rows = warehouse_hits(self.home, candidates, where, params, k)
            vectors_done = loaded is None or wanted >= loaded.index.ntotal
            vectors_done = vectors_done and (feedback_on is None or wanted >= feedback_on[0].index.ntotal)
            lexical_done = lexical is None or len(lexical_hits) < wanted
            if len(rows) >= k or (vectors_done and lexical_done):
                if mode == "lexical" and not lexical_hits:
                    note = "no post holds any of these words"
                fed = {c.post_id: c.feedback_rank for c in reversed(candidates) if c.feedback_rank is not None}
                return SearchResult([Hit(*row[:10], attributes=row[10], mode=mode, feedback_rank=fed.get(row[0])) for row in rows],
                                    mode, note)
            wanted *= 4


def query_vector(home: C2cHome, encoder_name: str, *, text: str | None = None, image: Path | None = None,
                 audio: Path | None = None, like: str | None = None) -> tuple[str, np.ndarray]:
    """The side to search and the unit query vector, or a SearchError saying what is wrong."""
    return Searcher(home).query_vector(encoder_name, text=text, image=image, audio=audio, like=like)


def _stored_vector(home: C2cHome, encoder: str, post_id: str) -> np.ndarray:
    vector = stored_vector(home, encoder, post_id)
    if vector is None:
        raise SearchError(f"unknown post {post_id!r}")
    return vector


def search(home: C2cHome, encoder: str, k: int = 10, filters: Filters | None = None, mode: str | None = None, **query: Any) -> list[Hit]:
    """The k best current posts for one query, filtered (``Searcher.query``: hybrid by default for text; each
    hit's ``mode`` says how it was found). Loads the encoder and the indexes for this one query
    (``Searcher`` keeps them for many)."""
    return Searcher(home).search(encoder, k, filters, mode, **query)


def search_result(home: C2cHome, encoder: str, k: int = 10, filters: Filters | None = None, mode: str | None = None,
                  **query: Any) -> SearchResult:
    """``search()`` with the mode used and its note (``SearchResult``)."""
    return Searcher(home).query(encoder, k, filters, mode, **query)
