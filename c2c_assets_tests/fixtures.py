"""Helpers and data the tests share. Test modules import these; pytest fixtures live in conftest.py.

The asset helpers materialize through real Dagster runs, as the CLI does.
"""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from c2c_assets.runner import RunOutcome, materialize, register_encoder

REPO = Path(__file__).resolve().parents[1]
# The ingest contract's own examples (docs/ingest-contract.md), kept in the repository.
EXAMPLE_INBOX = REPO / "docs" / "examples" / "inbox"
DAY = "2024-03-01"  # the examples' scrape date


def copy_inbox(target: Path, source: Path = EXAMPLE_INBOX) -> Path:
    shutil.copytree(source, target)
    return target


def ingest(home, inbox, instance, day=DAY) -> RunOutcome:
    from c2c_assets.defs.ingest.assets import ingest_dumps

    outcome = materialize(home, [ingest_dumps], partition_key=day, instance=instance, inbox=inbox)
    assert outcome.success, outcome.failure
    return outcome


def embed(home, instance, encoder, day=DAY, must_succeed=True) -> RunOutcome:
    """post_embeddings (and its check) for one date and encoder, on the CPU in small batches."""
    import dagster as dg

    from c2c_assets.defs.embeddings.assets import post_embeddings
    from c2c_assets.defs.embeddings.checks import vectors_valid
    from c2c_assets.encoders import RuntimeSettings

    register_encoder(instance, encoder)
    outcome = materialize(
        home, [post_embeddings, vectors_valid], partition_key=dg.MultiPartitionKey({"date": day, "encoder": encoder}),
        instance=instance, config={"post_embeddings": RuntimeSettings(device="cpu", batch_size=4)},
    )
    assert outcome.success or not must_succeed, outcome.failure
    return outcome


def metadata(outcome: RunOutcome, asset: str | None = None) -> dict[str, Any]:
    """The metadata of one asset a run materialized (the only one, unless named)."""
    if asset is None:
        [asset] = outcome.metadata
    return outcome.metadata[asset]


def build_index(home, instance, encoder) -> dict[str, Any]:
    from c2c_assets.defs.search.assets import faiss_index

    outcome = materialize(home, [faiss_index], partition_key=encoder, instance=instance)
    assert outcome.success, outcome.failure
    return metadata(outcome)


def build_lexical_index(home, instance) -> dict[str, Any]:
    from c2c_assets.defs.search.assets import lexical_index

    outcome = materialize(home, [lexical_index], instance=instance)
    assert outcome.success, outcome.failure
    return metadata(outcome)


def extract_attributes(home, instance, day=DAY) -> dict[str, Any]:
    from c2c_assets.defs.attributes.assets import post_attributes

    outcome = materialize(home, [post_attributes], partition_key=day, instance=instance)
    assert outcome.success, outcome.failure
    return metadata(outcome)


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), mode="RGB", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, "JPEG", **save)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny PNG whose header declares a huge canvas (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def synthetic_lake(home, n: int, dim: int, days: int = 3, seed: int = 0) -> None:
    """``n`` current posts with clustered unit vectors of encoder ``syn``, as ingest and embedding would write them."""
    import pyarrow as pa

    from c2c_assets.embeddings.store import embedding_schema
    from c2c_assets.ingest import schema
    from c2c_assets.lake import fixed_size_list, write_partition

    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, dim)).astype("float32")
    per = n // days
    for d in range(days):
        day = date(2024, 1, 1 + d)
        ids = [f"s:{d}-{i}" for i in range(per)]
        columns = {f.name: pa.nulls(per, f.type) for f in schema.POSTS}
        columns.update(post_id=pa.array(ids), scrape_date=pa.array([day] * per, pa.date32()), content_hash=pa.array(ids),
                       line_number=pa.array(range(per), pa.int64()))
        write_partition(home.lake, "posts", {"date": day.isoformat()}, pa.table(columns, schema=schema.POSTS))
        vectors = centers[rng.integers(0, 20, per)] + 0.3 * rng.normal(size=(per, dim)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        table = pa.table({"post_id": ids, "scrape_date": pa.array([day] * per, pa.date32()), "content_hash": ids,
                          "encoder": ["syn"] * per, "fingerprint": ["f"] * per, "vector": fixed_size_list(vectors),
                          "n_images": pa.array([0] * per, pa.int32()), "text_predicted": [False] * per}, schema=embedding_schema(dim, {}))
        write_partition(home.lake, "post_embeddings", {"date": day.isoformat(), "encoder": "syn"}, table)


def synthetic_next_day(home, new: int, changed: list[str], day=date(2024, 1, 10), seed=1, dim: int = 16) -> dict[str, np.ndarray]:
    """A new scrape date of ``synthetic_lake``'s encoder ``syn``: ``new`` new posts and re-scrapes of ``changed`` with
    new content and new (random unit) vectors."""
    import pyarrow as pa

    from c2c_assets.embeddings.store import embedding_schema
    from c2c_assets.lake import fixed_size_list, write_partition
    from c2c_assets.ingest import schema

    rng = np.random.default_rng(seed)
    ids = [f"s:new-{i}" for i in range(new)] + changed
    hashes = [f"{post_id}-v2" for post_id in ids]
    n = len(ids)
    columns = {f.name: pa.nulls(n, f.type) for f in schema.POSTS}
    columns.update(post_id=pa.array(ids), scrape_date=pa.array([day] * n, pa.date32()), content_hash=pa.array(hashes),
                   line_number=pa.array(range(n), pa.int64()))
    write_partition(home.lake, "posts", {"date": day.isoformat()}, pa.table(columns, schema=schema.POSTS))
    vectors = rng.normal(size=(n, dim)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    table = pa.table({"post_id": ids, "scrape_date": pa.array([day] * n, pa.date32()), "content_hash": hashes,
                      "encoder": ["syn"] * n, "fingerprint": ["f"] * n, "vector": fixed_size_list(vectors),
                      "n_images": pa.array([0] * n, pa.int32()), "text_predicted": [False] * n}, schema=embedding_schema(dim, {}))
    write_partition(home.lake, "post_embeddings", {"date": day.isoformat(), "encoder": "syn"}, table)
    return dict(zip(ids, vectors, strict=True))
