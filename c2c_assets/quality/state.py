"""What a quality table was computed from, kept beside it so that the next run can update it instead of
rebuilding it: the posts as they were (post_id, scrape_date, content_hash, price), a signature of
everything that changes every row at once (thresholds, encoder fingerprint, index kind), and for some
tables a FAISS index. Kept under ``home.indexes / "quality"`` (derived data, like the search indexes).

A run is incremental when the stored signature equals the current one and the output table carries the
same token as the state (a crash between the two writes, or a table written by hand, forces a full
rebuild); otherwise it is full. Each table records which one it did, and why, in its asset metadata.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from c2c_assets.home import C2cHome
from c2c_assets.quality import thresholds as T
from c2c_assets.storage import atomic_path, read_schema, read_table, write_atomic

# Bump when a table's computation changes in a way the thresholds do not show.
CODE_VERSION = 2  # 2: layered tables (base + deltas), the k-NN table's row column
_TOKEN_KEY = b"c2c_quality_token"


def thresholds_signature() -> dict[str, Any]:
    return {name: getattr(T, name) for name in sorted(dir(T)) if name.isupper()} | {"code": CODE_VERSION}


def signature(**parts: Any) -> str:
    payload = json.dumps({"thresholds": thresholds_signature(), **parts}, sort_keys=True, default=str)
    return hashlib.blake2b(payload.encode(), digest_size=12).hexdigest()


def state_dir(home: C2cHome, table: str, encoder: str | None = None) -> Path:
    return home.indexes / "quality" / (table if encoder is None else f"{table}-{encoder}")


@dataclass
class Stored:
    """A table's state: the stored rows (or None), its metadata, and why a run must be full (None: it may update)."""

    rows: pa.Table | None
    meta: dict[str, Any] = field(default_factory=dict)
    full_reason: str | None = None

    @property
    def incremental(self) -> bool:
        return self.full_reason is None


def load(home: C2cHome, table: str, output: Path, sig: str, encoder: str | None = None) -> Stored:
    """The state of ``table`` if it can be updated to ``sig``; else a ``Stored`` that says why not."""
    folder = state_dir(home, table, encoder)
    if not (folder / "state.json").exists() or not output.exists():
        return Stored(None, {}, "first run")
    meta = json.loads((folder / "state.json").read_text())
    if meta.get("signature") != sig:
        return Stored(None, meta, "thresholds, encoder or index settings changed")
    from c2c_assets.quality.layers import newest

    # A layered table's newest file (its last delta, or the base) carries the run's token.
    token = (read_schema(newest(output) or output).metadata or {}).get(_TOKEN_KEY, b"").decode()
    if token != meta.get("token"):
        return Stored(None, meta, "the table and its state disagree (an interrupted run)")
    rows = read_table(folder / "state.parquet") if (folder / "state.parquet").exists() else None
    return Stored(rows, meta)


def save(home: C2cHome, table: str, meta: dict[str, Any], rows: pa.Table | None = None, encoder: str | None = None) -> str:
    """Write the state (before the output table); returns the token to ``stamp`` on the output table."""
    import pyarrow.parquet as pq

    token = uuid.uuid4().hex
    folder = state_dir(home, table, encoder)
    if rows is not None:
        with atomic_path(folder / "state.parquet") as tmp:
            pq.write_table(rows, tmp, compression="lz4")
    write_atomic(folder / "state.json", json.dumps({**meta, "token": token}, default=str))
    return token


def save_posts(home: C2cHome, table: str, posts: pa.Table, encoder: str | None = None) -> None:
    """The posts a table was computed from (post_id, scrape_date, content_hash, price_usd): the next run's diff."""
    import pyarrow.parquet as pq

    with atomic_path(state_dir(home, table, encoder) / "posts.parquet") as tmp:
        pq.write_table(posts.select(["post_id", "scrape_date", "content_hash", "price_usd"]), tmp, compression="lz4")


def load_posts(home: C2cHome, table: str, encoder: str | None = None) -> pa.Table | None:
    path = state_dir(home, table, encoder) / "posts.parquet"
    return read_table(path) if path.exists() else None


def stamp(table: pa.Table, token: str) -> pa.Table:
    return table.replace_schema_metadata({**(table.schema.metadata or {}), _TOKEN_KEY: token.encode()})


def save_index(home: C2cHome, table: str, index: Any, encoder: str | None = None, *, binary: bool = False) -> None:
    import faiss

    with atomic_path(state_dir(home, table, encoder) / "index.faiss") as tmp:
        (faiss.write_index_binary if binary else faiss.write_index)(index, str(tmp))


def load_index(home: C2cHome, table: str, encoder: str | None = None, *, binary: bool = False) -> Any | None:
    import faiss

    path = state_dir(home, table, encoder) / "index.faiss"
    if not path.exists():
        return None
    return (faiss.read_index_binary if binary else faiss.read_index)(str(path))


def changed_posts(current: pa.Table, stored: pa.Table | None) -> np.ndarray:
    """Boolean mask over ``current`` (post_id, content_hash, price_usd; sorted by post_id): new posts and
    posts whose text, photos or price differ from ``stored`` (the same columns)."""
    import duckdb

    from c2c_assets.storage import quiet

    if stored is None:
        return np.ones(current.num_rows, dtype=bool)
    db = quiet(duckdb.connect())
    db.register("cur", current.select(["post_id", "content_hash", "price_usd"]).append_column("row", pa.array(np.arange(current.num_rows))))
    db.register("old", stored.select(["post_id", "content_hash", "price_usd"]))
    rows = db.sql("""
        SELECT c.row FROM cur AS c LEFT JOIN old AS o USING (post_id)
        WHERE o.post_id IS NULL OR o.content_hash IS DISTINCT FROM c.content_hash OR o.price_usd IS DISTINCT FROM c.price_usd
    """).to_arrow_table().column(0).to_numpy()
    db.close()
    mask = np.zeros(current.num_rows, dtype=bool)
    mask[rows] = True
    return mask


def lost_posts(current: pa.Table, stored: pa.Table | None) -> int:
    """Posts in ``stored`` that are no longer current (the lake lost a partition): the update cannot remove them."""
    if stored is None:
        return 0
    import pyarrow.compute as pc

    return int(pc.sum(pc.invert(pc.is_in(stored.column("post_id"), current.column("post_id")))).as_py() or 0)
