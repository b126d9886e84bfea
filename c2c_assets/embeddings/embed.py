"""The incremental embedding run: one (date, encoder) partition.

Re-materializing a partition is incremental: a post whose ``content_hash`` and the encoder's
fingerprint are unchanged keeps its vector (carried over from the old partition, or from any
other date of the same encoder that embedded the same content: ``store.reusable``); only the rest
is embedded. The new partition replaces the old one atomically, so a crash leaves the old one whole.

With a ``ThinTextPredictor`` (``image_to_text.thin_text``), posts whose text is missing or too short
get their text vector predicted from their photos, flagged ``text_predicted``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from c2c_assets.embeddings.store import embedding_file, embedding_schema, reusable
from c2c_assets.encoders import Encoder, PostInput
from c2c_assets.encoders.base import IMAGE, TEXT, PostVectors
from c2c_assets.home import C2cHome
from c2c_assets.lake import AtomicParquetWriter, fixed_size_list, partition_file
from c2c_assets.storage import Location, read_schema, read_table

if TYPE_CHECKING:
    from c2c_assets.image_to_text.thin_text import ThinTextPredictor

# Posts embedded per call to the encoder: big enough for full GPU batches, small enough to stream.
CHUNK_POSTS = 512

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class PostToEmbed:
    post: PostInput
    content_hash: str


def posts_of_date(home: C2cHome, scrape_date: date) -> list[PostToEmbed]:
    """The posts of one scrape date with their stored photos (ok ones, in order)."""
    keys = {"date": scrape_date.isoformat()}
    posts_path = partition_file(home.lake, "posts", keys)
    if not posts_path.exists():
        raise FileNotFoundError(f"posts has no partition {scrape_date}: ingest that date first")
    images = read_table(
        partition_file(home.lake, "post_images", keys),
        columns=["post_id", "position", "status", "path"],
        filters=[("status", "=", "ok")],
    ).sort_by([("post_id", "ascending"), ("position", "ascending")])
    photos: dict[str, list[Location]] = {}
    for post_id, path in zip(images.column("post_id").to_pylist(), images.column("path").to_pylist(), strict=True):
        photos.setdefault(post_id, []).append(home.stored_image(path))
    table = read_table(posts_path, columns=["post_id", "title", "description", "content_hash"])
    return [
        PostToEmbed(PostInput(row["post_id"], row["title"], row["description"], tuple(photos.get(row["post_id"], ()))), row["content_hash"])
        for row in table.to_pylist()
    ]


@dataclass
class EmbedSummary:
    scrape_date: date
    encoder: str
    fingerprint: str
    posts: int = 0
    embedded: int = 0
    carried_over: int = 0
    not_embeddable: int = 0  # e.g. photo-less posts for a photos-only encoder
    images: int = 0
    seconds: float = 0.0
    path: Location | None = None
    not_embeddable_ids: list[str] = field(default_factory=list)
    text_predicted: int = 0  # rows (embedded now or carried over) whose text vector was predicted from photos
    predictor: str | None = None  # the image-to-text configuration that predicted them


def _carried(path: Location, pairs: list[tuple[str, PostToEmbed]], schema: pa.Schema, scrape_date: date) -> pa.Table:
    """Rows of ``path`` for the source post ids in ``pairs``, relabelled as the current posts of this date."""
    stored = read_schema(path).names
    table = read_table(path, columns=[n for n in schema.names if n != "scrape_date" and n in stored])
    if "text_predicted" not in stored:  # written before predicted text existed: nothing was predicted
        table = table.append_column("text_predicted", pa.array([False] * table.num_rows, pa.bool_()))
    index = {post_id: row for row, post_id in enumerate(table.column("post_id").to_pylist())}
    taken = table.take(pa.array([index[source] for source, _ in pairs], pa.int64()))
    taken = taken.set_column(taken.schema.get_field_index("post_id"), "post_id", pa.array([item.post.post_id for _, item in pairs]))
    taken = taken.append_column("scrape_date", pa.array([scrape_date] * taken.num_rows, pa.date32()))
    return taken.select(schema.names).cast(schema)


def embed_date(
    home: C2cHome,
    scrape_date: date,
    encoder: Encoder,
    progress: Progress | None = None,
    log: Callable[[str], None] | None = None,
    predictor: ThinTextPredictor | None = None,
) -> EmbedSummary:
    """Write the (date, encoder) partition: one unit vector per embeddable post of that date."""
    started = time.perf_counter()
    log = log or (lambda _: None)
    fingerprint = encoder.fingerprint()
    summary = EmbedSummary(scrape_date, encoder.name, fingerprint, predictor=predictor.configuration if predictor else None)
    posts = posts_of_date(home, scrape_date)
    prepared = encoder.prepare_posts([p.post for p in posts])  # e.g. photos=first keeps each post's cover photo
    posts = [PostToEmbed(post, p.content_hash) for p, post in zip(posts, prepared, strict=True)]
    summary.posts = len(posts)
    thin = {p.post.post_id for p in posts if predictor is not None and predictor.wants(p.post)}
    predicted_fingerprint = predictor.fingerprint(fingerprint) if predictor is not None else fingerprint

    def wanted(item: PostToEmbed) -> tuple[str, str]:
        return item.content_hash, predicted_fingerprint if item.post.post_id in thin else fingerprint

    reuse = reusable(home, encoder.name, scrape_date, {wanted(p) for p in posts})
    to_embed = [p for p in posts if wanted(p) not in reuse]
    summary.carried_over = len(posts) - len(to_embed)
    log(
        f"{encoder.name} {scrape_date}: {len(posts)} posts, {summary.carried_over} unchanged, {len(to_embed)} to embed"
        + (f", {len(thin)} with text predicted from photos ({predictor.configuration})" if predictor else "")
    )

    writer: AtomicParquetWriter | None = None
    try:
        done = 0
        for start in range(0, len(to_embed), CHUNK_POSTS):
            chunk = to_embed[start : start + CHUNK_POSTS]
            result = encoder.embed_posts([p.post for p in chunk])
            predicted = np.array([p.post.post_id in thin for p in chunk], dtype=bool)
            if predicted.any():
                _use_predicted_text(encoder, result, predictor, [p.post for p in chunk], predicted)
            parts = {name: values for name, values in result.parts.items() if values.ndim == 2}
            if writer is None:
                schema = embedding_schema(result.vectors.shape[1], {k: v.shape[1] for k, v in parts.items()})
                writer = AtomicParquetWriter(embedding_file(home, scrape_date, encoder.name), schema)
            keep = ~np.isnan(result.vectors).any(axis=1)
            for item, ok in zip(chunk, keep, strict=True):
                if not ok:
                    summary.not_embeddable_ids.append(item.post.post_id)
            columns: dict[str, Any] = {
                "post_id": [p.post.post_id for p, ok in zip(chunk, keep, strict=True) if ok],
                "scrape_date": [scrape_date] * int(keep.sum()),
                "content_hash": [p.content_hash for p, ok in zip(chunk, keep, strict=True) if ok],
                "encoder": [encoder.name] * int(keep.sum()),
                "fingerprint": [predicted_fingerprint if p else fingerprint for p in predicted[keep]],
                "vector": fixed_size_list(result.vectors[keep]),
                "n_images": [len(p.post.image_paths) for p, ok in zip(chunk, keep, strict=True) if ok],
                "text_predicted": predicted[keep].tolist(),
            }
            for name, values in parts.items():
                columns[f"{name}_vector"] = fixed_size_list(values[keep], nullable=True)
            writer.write_table(pa.table(columns, schema=writer.schema))
            summary.embedded += int(keep.sum())
            summary.text_predicted += int(predicted[keep].sum())
            summary.not_embeddable += int((~keep).sum())
            summary.images += sum(len(p.post.image_paths) for p in chunk)
            done += len(chunk)
            if progress:
                progress(done, len(to_embed))
        by_file: dict[Location, list[tuple[str, PostToEmbed]]] = {}
        for item in posts:
            if wanted(item) in reuse:
                path, source_id = reuse[wanted(item)]
                by_file.setdefault(path, []).append((source_id, item))
        for path, pairs in by_file.items():
            if writer is None:
                schema = read_schema(path)
                if "text_predicted" not in schema.names:
                    schema = schema.insert(schema.get_field_index("n_images") + 1, pa.field("text_predicted", pa.bool_()))
                writer = AtomicParquetWriter(embedding_file(home, scrape_date, encoder.name), schema)
            carried = _carried(path, pairs, writer.schema, scrape_date)
            summary.text_predicted += sum(carried.column("text_predicted").to_pylist())
            writer.write_table(carried)
        if writer is None:  # nothing embeddable at all: still publish an empty partition of the right shape
            probe = encoder.embed_posts([PostInput("probe", "probe", "probe")])
            schema = embedding_schema(probe.vectors.shape[1], {k: v.shape[1] for k, v in probe.parts.items() if v.ndim == 2})
            writer = AtomicParquetWriter(embedding_file(home, scrape_date, encoder.name), schema)
        summary.path = writer.commit()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    summary.seconds = time.perf_counter() - started
    return summary


def _use_predicted_text(
    encoder: Encoder, result: PostVectors, predictor: ThinTextPredictor, posts: list[PostInput], rows: np.ndarray
) -> None:
    """Replace the text part of ``rows`` by the photos' predicted text embedding and re-fuse their post vectors."""
    text, image = result.parts[TEXT], result.parts[IMAGE]
    text[rows] = predictor.predict([post for post, wanted in zip(posts, rows, strict=True) if wanted])
    result.vectors[rows] = encoder.fuse_parts(image[rows], text[rows])
