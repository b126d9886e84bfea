"""Many dates in one run over a partition range: the same partitions, checks and quarantine as per-date runs."""

import gzip
import shutil
from datetime import date, timedelta

import dagster as dg
import pyarrow.parquet as pq
import pytest

from c2c_assets.batches import contiguous_chunks, ingest_assets, ingest_dates
from c2c_assets.defs.ingest.assets import INBOX_DIGEST, ingest_dumps
from c2c_assets.home import C2cHome
from c2c_assets.lake import partition_file
from c2c_assets.runner import materialize
from c2c_assets.sample import generate_sample
from c2c_assets.warehouse import query

START = date(2024, 3, 1)
DAYS = 4
TABLES = ("posts", "quarantine", "post_images")
CHECKS = {"lines_accounted_for", "post_id_unique", "one_row_per_image_reference"}


@pytest.fixture(scope="module")
def sample_inbox(tmp_path_factory):
    # Bad lines, bad photos, re-scraped listings and a gzipped dump, over four consecutive dates.
    return generate_sample(tmp_path_factory.mktemp("batched") / "inbox", n_posts=120, n_days=DAYS, image_size=(48, 36)).inbox


def dates(n=DAYS):
    return [START + timedelta(days=i) for i in range(n)]


def table_rows(home: C2cHome, table: str, day: date) -> list[tuple]:
    data = pq.read_table(str(partition_file(home.lake, table, {"date": day.isoformat()})))
    return sorted(tuple(row.values()) for row in data.to_pylist())


def check_verdicts(instance: dg.DagsterInstance, day: date) -> dict[str, bool]:
    """The latest evaluation of each ingest check on ``day``'s partition."""
    verdicts = {}
    for asset, name in (("posts", "lines_accounted_for"), ("posts", "post_id_unique"), ("post_images", "one_row_per_image_reference")):
        history = instance.event_log_storage.get_asset_check_execution_history(dg.AssetCheckKey(dg.AssetKey(asset), name), limit=1000)
        for record in history:  # newest first
            evaluation = record.event.dagster_event.event_specific_data if record.event else None
            if getattr(evaluation, "partition", None) == day.isoformat() and hasattr(evaluation, "passed"):
                verdicts[name] = evaluation.passed
                break
    return verdicts


def digest(instance: dg.DagsterInstance, day: date) -> str:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("posts"), asset_partitions=[day.isoformat()]), limit=1
    ).records
    return records[0].asset_materialization.metadata[INBOX_DIGEST].value


def test_a_range_run_makes_what_per_date_runs_make(sample_inbox, tmp_path):
    per_date_home, batched_home = C2cHome(tmp_path / "one").ensure(), C2cHome(tmp_path / "many").ensure()
    with dg.instance_for_test() as per_date, dg.instance_for_test() as batched:
        for day in dates():
            outcome = materialize(per_date_home, ingest_assets(), partition_key=day.isoformat(), instance=per_date, inbox=sample_inbox)
            assert outcome.success, outcome.failure
        runs = ingest_dates(batched_home, sample_inbox, dates(), instance=batched)

        assert runs.failures == {} and runs.retried == []
        assert len(runs.runs) == 1, "four consecutive dates go in one run"
        assert sorted(runs.of("posts")) == [d.isoformat() for d in dates()]
        for day in dates():
            for table in TABLES:
                assert table_rows(batched_home, table, day) == table_rows(per_date_home, table, day), (table, day)
            assert check_verdicts(batched, day) == dict.fromkeys(CHECKS, True)
            assert digest(batched, day) == digest(per_date, day)
            # Each date's metadata is its own, not the run's total.
            summary = runs.of("posts")[day.isoformat()]["summary"]
            assert summary["dumps"] and all(d["dump"].endswith(day.isoformat()) for d in summary["dumps"])
        assert batched.get_materialized_partitions(dg.AssetKey("posts")) == {d.isoformat() for d in dates()}
        assert query(batched_home, "SELECT count(*), count(DISTINCT post_id) FROM posts") == \
            query(per_date_home, "SELECT count(*), count(DISTINCT post_id) FROM posts")
        assert query(batched_home, "SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 1") == \
            query(per_date_home, "SELECT reason, count(*) FROM quarantine GROUP BY 1 ORDER BY 1")


def test_a_bad_date_fails_alone_and_its_neighbours_are_ingested(sample_inbox, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(sample_inbox, inbox, symlinks=True)
    broken = inbox / "craigslist" / dates()[1].isoformat() / "posts.jsonl"
    broken.unlink()
    (broken.parent / "posts.jsonl.gz").write_bytes(gzip.compress(b'{"pid": "1"}\n')[:-8])  # cut short
    home = C2cHome(tmp_path / "home").ensure()
    with dg.instance_for_test() as instance:
        runs = ingest_dates(home, inbox, dates(), instance=instance)
        bad = dates()[1].isoformat()
        assert set(runs.failures) == {bad}
        assert f"craigslist/{bad}" in runs.failures[bad]
        assert runs.retried == [d.isoformat() for d in dates()]
        assert instance.get_materialized_partitions(dg.AssetKey("posts")) == {d.isoformat() for d in dates()} - {bad}


def test_one_date_check_failing_in_a_range_names_its_date(sample_inbox, tmp_path, monkeypatch):
    from c2c_assets.defs.ingest import checks

    bad = dates()[2]
    original = checks.line_accounts

    def lose_a_line(home, inbox, day):
        accounts = original(home, inbox, day)
        if day == bad:
            first = accounts[0]
            accounts[0] = type(first)(first.dump, first.lines + 1, first.accepted, first.quarantined)
        return accounts

    monkeypatch.setattr(checks, "line_accounts", lose_a_line)
    home = C2cHome(tmp_path / "home").ensure()
    with dg.instance_for_test() as instance:
        outcome = materialize(home, ingest_assets(), instance=instance, inbox=sample_inbox,
                              partition_range=(dates()[0].isoformat(), dates()[-1].isoformat()))
        assert not outcome.success
        assert outcome.failure.startswith(f"check lines_accounted_for failed on {bad.isoformat()}")
        assert outcome.failed_partition_checks == {bad.isoformat(): ["lines_accounted_for"]}
        assert check_verdicts(instance, bad)["lines_accounted_for"] is False
        assert check_verdicts(instance, dates()[0])["lines_accounted_for"] is True


def test_the_ui_backfills_ingest_in_chunks():
    policy = ingest_dumps.backfill_policy
    assert policy is not None and policy.max_partitions_per_run and policy.max_partitions_per_run > 1


def test_consecutive_dates_are_chunked_and_gaps_split_them():
    d = [date(2024, 1, 1) + timedelta(days=i) for i in (0, 1, 2, 3, 4, 7, 8, 20)]
    assert contiguous_chunks(d, 3) == [d[0:3], d[3:5], d[5:7], d[7:8]]
    assert contiguous_chunks(list(reversed(d)) + d[:2], 100) == [d[0:5], d[5:7], d[7:8]]
    assert contiguous_chunks([], 5) == []
    with pytest.raises(ValueError):
        contiguous_chunks(d, 0)
