"""Per-encoder embedding partitions: ``lake/post_embeddings/date=<d>/encoder=<e>/part-0.parquet``.

Re-materializing a partition is incremental: a post whose ``content_hash`` and the encoder's
fingerprint are unchanged keeps its vector (carried over from the old partition, or from any
other date of the same encoder that embedded the same content); only the rest is embedded. The
new partition replaces the old one atomically, so a crash leaves the old one whole.

With a ``ThinTextPredictor`` (``image_to_text.thin_text``), posts whose text is missing or too short
get their text vector predicted from their photos, flagged ``text_predicted``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from c2c_assets.encoders import Encoder, PostInput
from c2c_assets.encoders.base import IMAGE, TEXT, PostVectors
from c2c_assets.home import C2cHome
from c2c_assets.lake import AtomicParquetWriter, partition_file
from c2c_assets.storage import Location, read_schema, read_table, register_with_duckdb

if TYPE_CHECKING:
    from c2c_assets.image_to_text.thin_text import ThinTextPredictor

ASSET = "post_embeddings"
# Posts embedded per call to the encoder: big enough for full GPU batches, small enough to stream.
CHUNK_POSTS = 512

Progress = Callable[[int, int], None]


def embedding_schema(width: int, part_widths: dict[str, int]) -> pa.Schema:
    fields = [
        ("post_id", pa.string()),
        ("scrape_date", pa.date32()),
        ("content_hash", pa.string()),
        ("encoder", pa.string()),
        ("fingerprint", pa.string()),
        ("vector", pa.list_(pa.float32(), width)),
        ("n_images", pa.int32()),
        ("text_predicted", pa.bool_()),  # the text vector was predicted from the photos (thin text)
    ]
    fields += [(f"{name}_vector", pa.list_(pa.float32(), size)) for name, size in sorted(part_widths.items())]
    return pa.schema(fields)


def embedding_file(home: C2cHome, scrape_date: date, encoder: str) -> Location:
    return partition_file(home.lake, ASSET, {"date": scrape_date.isoformat(), "encoder": encoder})


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


def _reusable(home: C2cHome, encoder: str, scrape_date: date, wanted: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[Location, str]]:
    """(content_hash, fingerprint) -> (file, post_id) of an existing vector for that content made the
    way it would be made now (the fingerprint covers the encoder version and, for predicted text, the checkpoint).

    The partition being rebuilt is looked at first; then other dates (a listing re-scraped unchanged
    keeps its vector rather than being embedded again every night).
    """
    if not wanted:
        return {}
    own = embedding_file(home, scrape_date, encoder)
    others = sorted(home.lake.glob(f"{ASSET}/date=*/encoder={encoder}/part-0.parquet"), reverse=True)
    found: dict[tuple[str, str], tuple[Location, str]] = {}
    for path in [own, *[p for p in others if p != own]]:
        if not path.exists():
            continue
        table = read_table(path, columns=["post_id", "content_hash", "fingerprint"])
        for post_id, content, print_ in zip(*(table.column(c).to_pylist() for c in ("post_id", "content_hash", "fingerprint")), strict=True):
            if (content, print_) in wanted and (content, print_) not in found:
                found[content, print_] = (path, post_id)
        if len(found) == len(wanted):
            break
    return found


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
    if encoder.options.get("photos") == "first":
        posts = [PostToEmbed(replace(p.post, image_paths=p.post.image_paths[:1]), p.content_hash) for p in posts]
    summary.posts = len(posts)
    thin = {p.post.post_id for p in posts if predictor is not None and predictor.wants(p.post)}
    predicted_fingerprint = predictor.fingerprint(fingerprint) if predictor is not None else fingerprint

    def wanted(item: PostToEmbed) -> tuple[str, str]:
        return item.content_hash, predicted_fingerprint if item.post.post_id in thin else fingerprint

    reuse = _reusable(home, encoder.name, scrape_date, {wanted(p) for p in posts})
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
                "vector": _fixed(result.vectors[keep]),
                "n_images": [len(p.post.image_paths) for p, ok in zip(chunk, keep, strict=True) if ok],
                "text_predicted": predicted[keep].tolist(),
            }
            for name, values in parts.items():
                columns[f"{name}_vector"] = _fixed(values[keep], nullable=True)
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


def _fixed(values: np.ndarray, nullable: bool = False) -> pa.Array:
    """A FixedSizeList<float32> column; rows of NaN become nulls where ``nullable``."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    width = values.shape[1]
    array = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1), pa.float32()), width)
    if nullable:
        missing = np.isnan(values).any(axis=1)
        if missing.any():
            array = pa.FixedSizeListArray.from_arrays(
                pa.array(np.nan_to_num(values).reshape(-1), pa.float32()), width, mask=pa.array(missing)
            )
    return array


@dataclass(frozen=True)
class VectorProblems:
    rows: int
    expected: int
    missing: list[str]
    extra: list[str]
    duplicates: list[str]
    wrong_width: int
    non_finite: int
    not_unit: int

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.duplicates or self.wrong_width or self.non_finite or self.not_unit)


def expected_post_ids(home: C2cHome, scrape_date: date, modalities: frozenset[str]) -> list[str]:
    """The posts of a date an encoder must embed: all of them, or those with a stored photo for photo-only encoders."""
    keys = {"date": scrape_date.isoformat()}
    columns = ["post_id", "n_images_ok"]
    table = read_table(partition_file(home.lake, "posts", keys), columns=columns)
    if "text" in modalities:
        return table.column("post_id").to_pylist()
    return [row["post_id"] for row in table.to_pylist() if row["n_images_ok"] > 0]


def check_partition(home: C2cHome, scrape_date: date, encoder: str, width: int, expected_ids: Sequence[str]) -> VectorProblems:
    """One finite unit vector of the declared width per expected post, and nothing else."""
    table = read_table(embedding_file(home, scrape_date, encoder), columns=["post_id", "vector"])
    ids = table.column("post_id").to_pylist()
    stored_width = table.schema.field("vector").type.list_size
    values = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False).reshape(len(ids), stored_width)
    norms = np.linalg.norm(np.nan_to_num(values), axis=1)
    counts = Counter(ids)
    expected = set(expected_ids)
    return VectorProblems(
        rows=len(ids),
        expected=len(expected),
        missing=sorted(expected - counts.keys())[:20],
        extra=sorted(counts.keys() - expected)[:20],
        duplicates=sorted(pid for pid, n in counts.items() if n > 1)[:20],
        wrong_width=0 if stored_width == width else len(ids),
        non_finite=int((~np.isfinite(values).all(axis=1)).sum()),
        not_unit=int((np.abs(norms - 1) > 1e-3).sum()),
    )


def embeddings_view(home: C2cHome) -> str:
    """All encoders' vectors as one view; widths differ per encoder, so each branch casts to FLOAT[]."""
    from c2c_assets.warehouse import quote

    branches = []
    for folder in sorted(home.lake.glob(f"{ASSET}/date=*/encoder=*")):
        if (folder / "part-0.parquet").exists():
            branches.append(folder.name.split("=", 1)[1])
    encoders = sorted(set(branches))
    if not encoders:
        return (
            "SELECT NULL::VARCHAR AS post_id, NULL::VARCHAR AS encoder, NULL::DATE AS scrape_date, NULL::VARCHAR AS content_hash, "
            "NULL::VARCHAR AS fingerprint, NULL::FLOAT[] AS vector, NULL::INTEGER AS n_images, NULL::BOOLEAN AS text_predicted "
            "WHERE false"
        )
    selects = []
    for name in encoders:
        flag = text_predicted_sql(current_vector_files(home, name))
        selects.append(
            f"SELECT post_id, encoder, scrape_date, content_hash, fingerprint, vector::FLOAT[] AS vector, n_images, "
            f"{flag} AS text_predicted "
            f"FROM read_parquet({quote(str(home.lake / ASSET / 'date=*' / f'encoder={name}' / '*.parquet'))}, union_by_name = true)"
        )
    return " UNION ALL ".join(selects)



def text_predicted_sql(files: Sequence[Location], column: str = "text_predicted") -> str:
    """SQL for a row's predicted-text flag over ``files`` read with ``union_by_name``: partitions written
    before the column existed lack it, and nothing in them was predicted."""
    has_column = any("text_predicted" in read_schema(path).names for path in files)
    return f"coalesce({column}, false)" if has_column else "false"


def current_vector_files(home: C2cHome, encoder: str) -> list[Location]:
    return sorted(home.lake.glob(f"{ASSET}/date=*/encoder={encoder}/part-0.parquet"))


def iter_current_vectors(
    home: C2cHome, encoder: str, column: str = "vector", batch_rows: int = 65_536
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Stream ``(post_ids, float32 matrix)`` batches of the current vector of every current post.

    "Current" means the embedding made from the post's latest scrape (the ``posts`` view's row):
    older scrapes of a changed listing are stale and never come back. Read in batches, so a
    million vectors never sit in memory twice. Row order is unspecified (sort if you need one).
    """
    import duckdb

    from c2c_assets.warehouse import quote

    files = current_vector_files(home, encoder)
    if not files:
        return
    posts = [p for p in sorted(home.lake.glob("posts/date=*/part-0.parquet"))]
    file_list = "[" + ", ".join(quote(str(f)) for f in files) + "]"
    post_list = "[" + ", ".join(quote(str(f)) for f in posts) + "]"
    sql = f"""
        WITH latest AS (
            SELECT post_id, scrape_date FROM read_parquet({post_list})
            QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY scrape_date DESC, line_number DESC) = 1
        )
        SELECT e.post_id, e.{column} FROM read_parquet({file_list}) AS e
        JOIN latest AS l ON e.post_id = l.post_id AND e.scrape_date = l.scrape_date
        WHERE e.{column} IS NOT NULL
    """
    with register_with_duckdb(duckdb.connect(), [home.lake]) as db:
        reader = db.sql(sql).to_arrow_reader(batch_rows)
        for batch in reader:
            ids = batch.column(0).to_pylist()
            # DuckDB hands FLOAT[n] back as a variable list: the width is the flat length over the rows.
            matrix = batch.column(1).flatten().to_numpy(zero_copy_only=False).reshape(len(ids), -1)
            yield ids, np.ascontiguousarray(matrix, dtype=np.float32)
