"""A backfill's chunk: post_embeddings over a range of dates in one run, as per-date runs make it, and
a chunk killed with -9 that resumes where it was."""

import json
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow.parquet as pq
import pytest

from c2c_assets.batches import embed_assets, embed_dates, ingest_dates
from c2c_assets.embeddings.store import embedding_file
from c2c_assets.home import C2cHome
from c2c_assets.runner import dagster_instance, materialize, register_encoder

ENCODER = "clip-tiny"
DAYS = [date(2024, 3, 1) + timedelta(days=i) for i in range(3)]
POSTS_PER_DAY = 40


def write_inbox(inbox: Path) -> Path:
    for n, day in enumerate(DAYS):
        folder = inbox / "craigslist" / day.isoformat()
        folder.mkdir(parents=True)
        lines = (json.dumps({"pid": str(1000 * n + i), "title": f"Alloy rims {i} day {n}", "body": "set of four, 5x114.3 " * 3})
                 for i in range(POSTS_PER_DAY))
        (folder / "posts.jsonl").write_text("\n".join(lines) + "\n")
    return inbox


def vectors(home: C2cHome, day: date) -> list[tuple]:
    rows = pq.read_table(str(embedding_file(home, day, ENCODER)), columns=["post_id", "content_hash", "vector"]).to_pylist()
    return sorted((r["post_id"], r["content_hash"], tuple(r["vector"])) for r in rows)


def check_verdicts(instance: dg.DagsterInstance) -> dict[str, bool]:
    key = dg.AssetCheckKey(dg.AssetKey("post_embeddings"), "vectors_valid")
    verdicts: dict[str, bool] = {}
    for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=1000):  # newest first
        evaluation = record.event.dagster_event.event_specific_data if record.event else None
        if hasattr(evaluation, "passed"):
            verdicts.setdefault(evaluation.partition, evaluation.passed)
    return verdicts


def ingested_home(root: Path, inbox: Path, instance: dg.DagsterInstance) -> C2cHome:
    home = C2cHome(root).ensure()
    assert not ingest_dates(home, inbox, DAYS, instance=instance).failures
    return home


def test_a_range_run_embeds_what_per_date_runs_embed_loading_the_model_once(tmp_path, monkeypatch):
    from c2c_assets.defs.embeddings import assets

    inbox = write_inbox(tmp_path / "inbox")
    loads = []
    real = assets.create_encoder
    monkeypatch.setattr(assets, "create_encoder", lambda *a, **k: loads.append(a[0]) or real(*a, **k))
    with dg.instance_for_test() as per_date, dg.instance_for_test() as batched:
        one, many = ingested_home(tmp_path / "one", inbox, per_date), ingested_home(tmp_path / "many", inbox, batched)
        register_encoder(per_date, ENCODER)
        for day in DAYS:
            key = dg.MultiPartitionKey({"date": day.isoformat(), "encoder": ENCODER})
            assert materialize(one, embed_assets(), partition_key=key, instance=per_date).success
        assert loads == [ENCODER] * len(DAYS)

        loads.clear()
        runs = embed_dates(many, ENCODER, DAYS, instance=batched)
        assert runs.failures == {} and len(runs.runs) == 1
        assert loads == [ENCODER], "one run, one model load"
        for day in DAYS:
            assert vectors(many, day) == vectors(one, day)
            assert runs.of("post_embeddings")[day.isoformat()]["embedded"] == POSTS_PER_DAY
        keys = {f"{day.isoformat()}|{ENCODER}" for day in DAYS}
        assert check_verdicts(batched) == dict.fromkeys(keys, True)
        assert batched.get_materialized_partitions(dg.AssetKey("post_embeddings")) == keys


def test_the_ui_backfills_embeddings_in_chunks():
    from c2c_assets.defs.embeddings.assets import post_embeddings

    policy = post_embeddings.backfill_policy
    assert policy is not None and policy.max_partitions_per_run and policy.max_partitions_per_run > 1


CHILD = """
import sys, time
from datetime import date, timedelta
from pathlib import Path
from c2c_assets.batches import embed_dates
from c2c_assets.defs.embeddings import assets
from c2c_assets.embeddings import embed
from c2c_assets.home import C2cHome
from c2c_assets.runner import dagster_instance
embed.CHUNK_POSTS = 10
real = assets.create_encoder
def slowed(*args, **kwargs):
    encoder = real(*args, **kwargs)
    inner = encoder.embed_posts
    def slow(posts):
        time.sleep(0.15)
        return inner(posts)
    encoder.embed_posts = slow
    return encoder
assets.create_encoder = slowed
home = C2cHome(Path(sys.argv[1]))
embed_dates(home, "clip-tiny", [date(2024, 3, 1) + timedelta(days=i) for i in range(3)], instance=dagster_instance(home))
"""


@pytest.mark.slow
def test_a_chunk_killed_mid_run_resumes_where_it_was(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    inbox = write_inbox(tmp_path / "inbox")
    home = C2cHome(tmp_path / "home").ensure()
    with dg.instance_for_test() as clean_instance:
        clean = ingested_home(tmp_path / "clean", inbox, clean_instance)
        assert not embed_dates(clean, ENCODER, DAYS, instance=clean_instance).failures
    instance = dagster_instance(home)
    assert not ingest_dates(home, inbox, DAYS, instance=instance).failures

    child = subprocess.Popen([sys.executable, "-c", CHILD, str(home.root)])
    first, second = embedding_file(home, DAYS[0], ENCODER), embedding_file(home, DAYS[1], ENCODER)
    deadline = time.monotonic() + 180
    while not first.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.02)
    assert child.poll() is None and first.exists(), "the child ended before its first date was written"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not second.exists() or len(vectors(home, DAYS[1])) == POSTS_PER_DAY  # whole or absent, never half

    resumed = embed_dates(home, ENCODER, DAYS, instance=dagster_instance(home))
    assert resumed.failures == {}
    made = resumed.of("post_embeddings")
    # What the killed run finished is not embedded again: its vectors are found and carried over.
    assert made[DAYS[0].isoformat()]["embedded"] == 0 and made[DAYS[0].isoformat()]["carried_over"] == POSTS_PER_DAY
    assert made[DAYS[-1].isoformat()]["embedded"] == POSTS_PER_DAY
    for day in DAYS:
        resumed_rows, clean_rows = vectors(home, day), vectors(clean, day)
        assert [r[:2] for r in resumed_rows] == [r[:2] for r in clean_rows]
        # The child embedded in batches of 10, the clean run in one batch: padding moves the last float bits.
        assert np.allclose([r[2] for r in resumed_rows], [r[2] for r in clean_rows], atol=1e-5)
    assert not [p for p in home.lake.rglob("*") if p.name.endswith(".tmp")]
