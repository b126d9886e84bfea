"""Helpers and data the tests share. Test modules import these; pytest fixtures live in conftest.py.

The asset helpers materialize through real Dagster runs, as the CLI does.
"""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
# The ingest contract's own examples (docs/ingest-contract.md), kept in the repository.
EXAMPLE_INBOX = REPO / "docs" / "examples" / "inbox"
DAY = "2024-03-01"  # the examples' scrape date


def copy_inbox(target: Path, source: Path = EXAMPLE_INBOX) -> Path:
    shutil.copytree(source, target)
    return target


def ingest(home, inbox, instance, day=DAY):
    import dagster as dg

    from c2c_assets.defs.ingest.assets import ingest_dumps
    from c2c_assets.defs.resources import C2cResource

    result = dg.materialize(
        [ingest_dumps], partition_key=day, instance=instance,
        resources={"c2c": C2cResource(home=str(home.root), inbox=str(inbox))},
    )
    assert result.success
    return result


def embed(home, instance, encoder, day=DAY, raise_on_error=True):
    import dagster as dg

    from c2c_assets.defs.embeddings.assets import post_embeddings
    from c2c_assets.defs.embeddings.checks import vectors_valid
    from c2c_assets.defs.resources import C2cResource

    if not instance.has_dynamic_partition("encoders", encoder):
        instance.add_dynamic_partitions("encoders", [encoder])
    return dg.materialize(
        [post_embeddings, vectors_valid],
        partition_key=dg.MultiPartitionKey({"date": day, "encoder": encoder}),
        instance=instance,
        resources={"c2c": C2cResource(home=str(home.root))},
        run_config={"ops": {"post_embeddings": {"config": {"device": "cpu", "batch_size": 4}}}},
        raise_on_error=raise_on_error,
    )


def metadata(result) -> dict[str, Any]:
    """The metadata of a run's one materialization, as plain values."""
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def build_index(home, instance, encoder) -> dict[str, Any]:
    import dagster as dg

    from c2c_assets.defs.resources import C2cResource
    from c2c_assets.defs.search.assets import faiss_index

    result = dg.materialize([faiss_index], partition_key=encoder, instance=instance, resources={"c2c": C2cResource(home=str(home.root))})
    return metadata(result)


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
