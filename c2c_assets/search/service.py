"""Search an encoder's indexes by text, photo, sound or example post (``build`` makes them).

Which index a query uses follows the encoder's spaces: CLIP and ImageBind put text, photos and
sound in one space, so a text query searches the *image* side (cross-modal); the default encoder's
towers are separate, so text searches the text side and photos the image side; ``--like`` searches
post vectors. Filters are applied through DuckDB with bound parameters, and a hit whose post changed
or vanished since the index was built is never returned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from c2c_assets.embeddings.store import stored_vector
from c2c_assets.encoders import EncoderError, create_encoder, encoder_configs, query_side
from c2c_assets.home import C2cHome
from c2c_assets.search import index as idx
from c2c_assets.warehouse import connect


class SearchError(ValueError):
    """A query that cannot be answered, with a message for the person who asked."""


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    since: date | None = None  # scraped on or after

    def sql(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if self.source is not None:
            clauses.append("p.source = ?")
            params.append(self.source)
        if self.min_price is not None:
            clauses.append("p.price_usd >= ?")
            params.append(self.min_price)
        if self.max_price is not None:
            clauses.append("p.price_usd <= ?")
            params.append(self.max_price)
        if self.since is not None:
            clauses.append("p.scrape_date >= ?")
            params.append(self.since)
        return (" AND " + " AND ".join(clauses) if clauses else ""), params


@dataclass(frozen=True)
class Hit:
    post_id: str
    score: float
    title: str
    price_usd: float | None
    source: str
    url: str | None
    thumb_path: str | None
    text_predicted: bool = False  # the post's text vector was predicted from its photos (thin text)

    def as_dict(self) -> dict[str, Any]:
        return {"post_id": self.post_id, "score": round(self.score, 6), "title": self.title, "price_usd": self.price_usd,
                "source": self.source, "text_predicted": self.text_predicted}


class LoadedIndex:
    """One published index build, opened for queries without reading it whole: the FAISS file is
    memory-mapped (the OS pages in what a search touches) and the id map stays an Arrow table on a
    memory map, converted to Python only for the rows a query returns."""

    def __init__(self, build_dir: Path) -> None:
        import faiss

        self.build_dir = build_dir
        self.meta = json.loads((build_dir / "meta.json").read_text())
        path = str(build_dir / "index.faiss")
        try:
            self.index = faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:  # an index type FAISS cannot map: read it
            self.index = faiss.read_index(path)
        idx.set_search_params(self.index, idx.IndexPlan(self.meta["kind"], self.meta["params"]))
        self.ids = pq.read_table(build_dir / "ids.parquet", memory_map=True)

    def __len__(self) -> int:
        return self.ids.num_rows

    def position(self, post_id: str) -> int | None:
        """The row of ``post_id`` in the index, or None if it is not there."""
        import pyarrow.compute as pc

        found = pc.index(self.ids.column("post_id"), post_id).as_py()
        return None if found < 0 else found

    def rows(self, positions: Sequence[int]) -> list[tuple[str, str, bool]]:
        """(post_id, content_hash, text_predicted) of the given rows."""
        taken = self.ids.take(list(positions))
        flags = taken.column("text_predicted").to_pylist() if "text_predicted" in taken.column_names else [False] * taken.num_rows
        return list(zip(taken.column("post_id").to_pylist(), taken.column("content_hash").to_pylist(), (bool(f) for f in flags), strict=True))

    def search(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.index.ntotal)
        if self.meta["kind"] == "hnsw":
            self.index.hnsw.efSearch = max(self.meta["params"]["efSearch"], k)
        return self.index.search(np.ascontiguousarray(vector.reshape(1, -1), dtype=np.float32), k)


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


def query_vector(home: C2cHome, encoder_name: str, *, text: str | None = None, image: Path | None = None,
                 audio: Path | None = None, like: str | None = None) -> tuple[str, np.ndarray]:
    """The side to search and the unit query vector, or a SearchError saying what is wrong."""

    given = [name for name, value in (("text", text), ("image", image), ("audio", audio), ("like", like)) if value is not None]
    if len(given) != 1:
        raise SearchError("give exactly one query: text, --image, --audio or --like")
    configs = encoder_configs(home.root)
    if encoder_name not in configs:
        raise SearchError(f"unknown encoder {encoder_name!r}; known: {', '.join(sorted(configs))}")
    kind = given[0]
    try:
        side = query_side(configs[encoder_name], kind)
    except EncoderError as error:
        raise SearchError(str(error)) from None
    if kind == "like":
        loaded = load_index(home, encoder_name, "post")
        row = loaded.position(like)
        if row is None:
            raise SearchError(f"unknown post {like!r} (not in the {encoder_name} index)")
        vector = loaded.index.reconstruct(row) if loaded.meta["kind"] != "ivf" else _stored_vector(home, encoder_name, like)
        return side, np.asarray(vector, dtype=np.float32)
    if kind == "text" and not text.strip():
        raise SearchError("the text query is empty")
    for label, path in (("image", image), ("audio", audio)):
        if kind == label and not Path(path).is_file():
            raise SearchError(f"cannot read {label} file {path}")
    try:
        encoder = create_encoder(encoder_name, home=home.root)
        if kind == "text":
            vector = encoder.embed_texts([text])[0]
        elif kind == "image":
            from PIL import Image, UnidentifiedImageError

            try:
                with Image.open(image) as probe:
                    probe.verify()
            except (UnidentifiedImageError, OSError) as error:
                raise SearchError(f"cannot read image {image}: {error}") from None
            vector = encoder.embed_images([image])[0]
        else:
            vector = encoder.embed_audio([audio])[0]
    except EncoderError as error:
        raise SearchError(str(error)) from None
    return side, np.asarray(vector, dtype=np.float32)


def _stored_vector(home: C2cHome, encoder: str, post_id: str) -> np.ndarray:
    vector = stored_vector(home, encoder, post_id)
    if vector is None:
        raise SearchError(f"unknown post {post_id!r}")
    return vector


def search(home: C2cHome, encoder: str, k: int = 10, filters: Filters | None = None, **query: Any) -> list[Hit]:
    """The k best current posts for one query, filtered; scores are cosine similarities."""

    if k < 1:
        raise SearchError("k must be at least 1")
    side, vector = query_vector(home, encoder, **query)
    loaded = load_index(home, encoder, side)
    where, params = (filters or Filters()).sql()
    exclude = query.get("like")
    wanted = k * 4 + 1
    while True:
        scores, positions = loaded.search(vector, wanted)
        found = [(int(p), float(score)) for p, score in zip(positions[0], scores[0], strict=True) if p >= 0]
        candidates = [
            (post_id, content_hash, score, predicted)
            for (post_id, content_hash, predicted), (_, score) in zip(loaded.rows([p for p, _ in found]), found, strict=True)
        ]
        candidates = [c for c in candidates if c[0] != exclude]
        with connect(home, read_only=True) as db:
            db.execute("CREATE TEMP TABLE candidates (post_id VARCHAR, content_hash VARCHAR, score DOUBLE, text_predicted BOOLEAN)")
            db.executemany("INSERT INTO candidates VALUES (?, ?, ?, ?)", candidates)
            rows = db.execute(
                "SELECT p.post_id, c.score, p.title, p.price_usd, p.source, p.url, t.thumb_path, c.text_predicted "
                # The content hash must still match: a post that changed since the index was built is stale.
                "FROM candidates c JOIN posts p ON p.post_id = c.post_id AND p.content_hash = c.content_hash "
                f"LEFT JOIN post_thumbnails t ON t.post_id = p.post_id WHERE true{where} "
                "ORDER BY c.score DESC LIMIT ?",
                [*params, k],
            ).fetchall()
        if len(rows) >= k or wanted >= loaded.index.ntotal:
            return [Hit(*row) for row in rows]
        wanted = min(wanted * 4, loaded.index.ntotal)
