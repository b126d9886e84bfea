"""post_embeddings through real Dagster runs with tiny encoders: checks, incremental runs, atomic writes."""

import json
import shutil
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from c2c_assets import catalog
from c2c_assets.embeddings import embed as embeddings
from c2c_assets.embeddings.store import embedding_file
from c2c_assets.encoders import EncoderConfig, save_config
from c2c_assets.warehouse import query
from c2c_assets_tests.fixtures import DAY, embed, ingest, metadata


@pytest.fixture
def inbox(tmp_path, examples_inbox):
    target = tmp_path / "inbox"
    shutil.copytree(examples_inbox, target)
    return target


@pytest.mark.parametrize("encoder", ["default-tiny", "vit-tiny", "clip-tiny", "imagebind-tiny", "openflamingo-tiny"])
def test_each_tiny_encoder_embeds_the_examples_and_passes_its_check(home, inbox, instance, encoder):
    ingest(home, inbox, instance)
    result = embed(home, instance, encoder)  # fails unless the vectors_valid check passed too
    assert result.success and not result.failed_checks
    assert metadata(result)["embedded"] == 10  # every example post has a photo, so photo-only encoders embed all
    rows = query(home, "SELECT count(*), count(DISTINCT post_id), min(len(vector)) FROM embeddings WHERE encoder = ?", [encoder])
    assert rows[0][:2] == (10, 10) and rows[0][2] > 0


def test_rerun_is_incremental_and_follows_content(home, inbox, instance):
    ingest(home, inbox, instance)
    first = metadata(embed(home, instance, "clip-tiny"))
    assert (first["embedded"], first["carried_over"]) == (10, 0)
    before = pq.read_table(embedding_file(home, date(2024, 3, 1), "clip-tiny")).to_pylist()

    again = metadata(embed(home, instance, "clip-tiny"))
    assert (again["embedded"], again["carried_over"]) == (0, 10)
    after = pq.read_table(embedding_file(home, date(2024, 3, 1), "clip-tiny")).to_pylist()
    assert {r["post_id"]: r["vector"] for r in before} == {r["post_id"]: r["vector"] for r in after}

    posts = inbox / "offerup" / DAY / "posts.jsonl"
    lines = posts.read_text().splitlines()
    record = json.loads(lines[0])
    record["title"] = "20 inch chrome rims, price dropped"
    posts.write_text("\n".join([json.dumps(record), *lines[1:]]) + "\n")
    ingest(home, inbox, instance)
    changed = metadata(embed(home, instance, "clip-tiny"))
    assert (changed["embedded"], changed["carried_over"]) == (1, 9)
    assert query(home, "SELECT count(*), count(DISTINCT post_id) FROM embeddings") == [(10, 10)]


def test_a_new_encoder_fingerprint_re_embeds_everything(home, inbox, instance):
    ingest(home, inbox, instance)
    save_config(EncoderConfig("clip-tiny-text-heavy", "clip", {"tiny": True, "image_weight": 0.2}), home.root)
    assert metadata(embed(home, instance, "clip-tiny"))["embedded"] == 10
    assert metadata(embed(home, instance, "clip-tiny-text-heavy"))["embedded"] == 10
    vectors = {
        encoder: np.array(query(home, "SELECT vector FROM embeddings WHERE encoder = ? ORDER BY post_id", [encoder]))
        for encoder in ("clip-tiny", "clip-tiny-text-heavy")
    }
    assert not np.allclose(vectors["clip-tiny"], vectors["clip-tiny-text-heavy"])


def test_unchanged_content_on_a_later_date_reuses_its_vector(home, inbox, instance):
    ingest(home, inbox, instance)
    shutil.copytree(inbox / "craigslist" / DAY, inbox / "craigslist" / "2024-03-02")
    ingest(home, inbox, instance, "2024-03-02")
    embed(home, instance, "clip-tiny")
    later = metadata(embed(home, instance, "clip-tiny", "2024-03-02"))
    assert (later["embedded"], later["carried_over"]) == (0, 5)
    same = query(
        home,
        "SELECT count(*) FROM embeddings_all a JOIN embeddings_all b USING (post_id, encoder) "
        "WHERE a.scrape_date = DATE '2024-03-01' AND b.scrape_date = DATE '2024-03-02' AND a.vector = b.vector",
    )
    assert same == [(5,)]


def test_the_embeddings_view_has_one_row_per_current_post_and_encoder(home, inbox, instance):
    """Re-scraped listings have a vector per scrape in ``embeddings_all``; ``embeddings`` is like ``posts``:
    the vector of each post's latest scrape, once per encoder, so a join to ``posts`` never double-counts."""
    ingest(home, inbox, instance)
    shutil.copytree(inbox / "craigslist" / DAY, inbox / "craigslist" / "2024-03-02")
    ingest(home, inbox, instance, "2024-03-02")
    for encoder in ("clip-tiny", "default-tiny"):
        embed(home, instance, encoder)
        embed(home, instance, encoder, "2024-03-02")
    [(posts, history, current, per_key, joined)] = query(
        home,
        "SELECT (SELECT count(*) FROM posts), (SELECT count(*) FROM embeddings_all), (SELECT count(*) FROM embeddings), "
        "(SELECT max(n) FROM (SELECT count(*) AS n FROM embeddings GROUP BY post_id, encoder)), "
        "(SELECT count(*) FROM embeddings e JOIN posts p USING (post_id))",
    )
    assert per_key == 1
    assert current == joined == 2 * posts
    assert history == current + 2 * 5  # the five re-scraped craigslist listings, once per encoder
    stale = query(home, "SELECT count(*) FROM embeddings e JOIN posts p USING (post_id) WHERE e.scrape_date <> p.scrape_date")
    assert stale == [(0,)]


def test_photo_only_encoder_skips_photo_less_posts_and_the_check_agrees(home, inbox, instance):
    posts = inbox / "craigslist" / DAY / "posts.jsonl"
    lines = posts.read_text().splitlines()
    record = json.loads(lines[0])
    record["images"] = []
    posts.write_text("\n".join([json.dumps(record), *lines[1:]]) + "\n")
    ingest(home, inbox, instance)
    result = embed(home, instance, "vit-tiny")
    assert metadata(result)["not_embeddable"] == 1 and metadata(result)["embedded"] == 9
    assert result.success and not result.failed_checks  # the check agrees
    assert metadata(embed(home, instance, "clip-tiny"))["embedded"] == 10  # text+image encoders embed it from text


def test_a_crash_mid_partition_keeps_the_old_partition(home, inbox, instance, monkeypatch):
    ingest(home, inbox, instance)
    embed(home, instance, "clip-tiny")
    path = embedding_file(home, date(2024, 3, 1), "clip-tiny")
    before = path.read_bytes()
    for dump in (inbox / "craigslist" / DAY / "posts.jsonl", inbox / "offerup" / DAY / "posts.jsonl"):
        records = [json.loads(line) for line in dump.read_text().splitlines()]
        dump.write_text("".join(json.dumps({**r, "title": r["title"] + " (reposted)"}) + "\n" for r in records))
    ingest(home, inbox, instance)  # every post changed: the whole partition must be re-embedded
    monkeypatch.setattr(embeddings, "CHUNK_POSTS", 3)
    import c2c_assets.defs.embeddings.assets as registry  # where the asset looks create_encoder up

    real_create = registry.create_encoder
    calls = {"n": 0}

    def create_crashing(*args, **kwargs):
        encoder = real_create(*args, **kwargs)
        real_embed = encoder.embed_posts

        def embed_posts(posts):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("simulated crash")
            return real_embed(posts)

        encoder.embed_posts = embed_posts
        return encoder

    monkeypatch.setattr(registry, "create_encoder", create_crashing)
    failed = embed(home, instance, "clip-tiny", must_succeed=False)
    assert not failed.success and calls["n"] == 2
    assert path.read_bytes() == before
    assert not [p for p in home.lake.rglob("*") if p.name.endswith(".tmp")]


def test_partitions_from_before_predicted_text_are_carried_over_and_read(home, inbox, instance):
    ingest(home, inbox, instance)
    embed(home, instance, "clip-tiny")
    path = embedding_file(home, date(2024, 3, 1), "clip-tiny")
    old = pq.read_table(path).drop_columns(["text_predicted"])  # the layout written before the column existed
    pq.write_table(old, path)
    catalog.refresh_all(home)
    assert query(home, "SELECT count(*) FILTER (WHERE NOT text_predicted) FROM embeddings") == [(10,)]
    # The new layout on an earlier date (every row flagged), re-embedded after the old-layout one: flags intact.
    later = embedding_file(home, date(2024, 2, 29), "clip-tiny")
    flagged = pq.read_table(path).append_column("text_predicted", pa.array([True] * 10))
    later.parent.mkdir(parents=True)
    pq.write_table(flagged.set_column(1, "scrape_date", pa.array([date(2024, 2, 29)] * 10, pa.date32())), later)
    catalog.refresh_all(home)
    assert query(home, "SELECT scrape_date::VARCHAR, count(*) FILTER (WHERE text_predicted) FROM embeddings_all GROUP BY 1 ORDER BY 1") == [
        ("2024-02-29", 10), ("2024-03-01", 0)
    ]
    later.unlink()
    meta = metadata(embed(home, instance, "clip-tiny"))
    assert (meta["embedded"], meta["carried_over"], meta["text_predicted"]) == (0, 10, 0)
    table = pq.read_table(path)
    assert table.column("text_predicted").to_pylist() == [False] * 10
    assert table.drop_columns(["text_predicted"]).sort_by("post_id").equals(old.sort_by("post_id"))
