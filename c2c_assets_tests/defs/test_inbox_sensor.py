import json
import os
import shutil

import dagster as dg

from c2c_assets.defs.ingest.sensors import inbox_sensor
from c2c_assets.defs.resources import C2cResource
from c2c_assets_tests.fixtures import copy_inbox, ingest


def evaluate(inbox, home, cursor=None, instance=None):
    context = dg.build_sensor_context(
        instance=instance or dg.DagsterInstance.ephemeral(),
        cursor=cursor,
        resources={"c2c": C2cResource(home=str(home.root), inbox=str(inbox))},
    )
    return inbox_sensor(context)


def test_new_changed_and_unchanged_dumps(home, examples_inbox, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(examples_inbox, inbox)
    first = evaluate(inbox, home)
    assert [r.partition_key for r in first.run_requests] == ["2024-03-01"]  # two dumps, one date, one run
    assert set(json.loads(first.cursor)) == {"craigslist/2024-03-01", "offerup/2024-03-01"}

    unchanged = evaluate(inbox, home, first.cursor)
    assert unchanged.run_requests == [] and unchanged.skip_reason

    incomplete = inbox / "offerup" / "2024-03-02"
    (incomplete / "images").mkdir(parents=True)  # scrapers write posts.jsonl last: not a dump yet
    assert evaluate(inbox, home, first.cursor).run_requests == []

    (incomplete / "posts.jsonl.gz").write_bytes(b"")
    new = evaluate(inbox, home, first.cursor)
    assert [r.partition_key for r in new.run_requests] == ["2024-03-02"]

    posts = inbox / "craigslist/2024-03-01/posts.jsonl"
    posts.write_text(posts.read_text() + "\n")
    stat = posts.stat()
    os.utime(posts, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    changed = evaluate(inbox, home, new.cursor)
    assert [r.partition_key for r in changed.run_requests] == ["2024-03-01"]
    assert changed.run_requests[0].run_key != first.run_requests[0].run_key


def test_a_date_the_cli_already_ingested_is_not_requested_again(home, tmp_path, instance):
    """`c2c ingest` materializes outside the sensor, whose cursor is then empty: the partition's recorded
    inbox digest tells the sensor those dumps are done; a changed dump is requested again."""
    inbox = copy_inbox(tmp_path / "inbox")
    ingest(home, inbox, instance)
    fresh = evaluate(inbox, home, instance=instance)
    assert fresh.run_requests == [] and fresh.skip_reason
    assert set(json.loads(fresh.cursor)) == {"craigslist/2024-03-01", "offerup/2024-03-01"}

    posts = inbox / "offerup/2024-03-01/posts.jsonl"
    posts.write_text(posts.read_text() + "\n")
    stat = posts.stat()
    os.utime(posts, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert [r.partition_key for r in evaluate(inbox, home, instance=instance).run_requests] == ["2024-03-01"]
    ingest(home, inbox, instance)  # ingested again with the changed dump: nothing left to do
    assert evaluate(inbox, home, instance=instance).run_requests == []


def test_consecutive_new_dates_are_one_run_over_their_range(home, tmp_path, instance):
    from c2c_assets.batches import ingest_assets
    from c2c_assets.runner import materialize

    inbox = tmp_path / "inbox"
    for day in ("2024-03-01", "2024-03-02", "2024-03-03", "2024-03-07"):
        (inbox / "craigslist" / day).mkdir(parents=True)
        (inbox / "craigslist" / day / "posts.jsonl").write_text(f'{{"pid": "77{day[-1]}", "title": "rims {day}"}}\n')
    requests = evaluate(inbox, home, instance=instance).run_requests
    assert len(requests) == 2
    ranged, single = sorted(requests, key=lambda r: r.partition_key is not None)
    assert ranged.partition_key is None
    assert (ranged.partition_key_range.start, ranged.partition_key_range.end) == ("2024-03-01", "2024-03-03")
    assert single.partition_key == "2024-03-07"
    # The requested range is what the daemon's run does: one run, each date materialized and checked.
    outcome = materialize(home, ingest_assets(), instance=instance, inbox=inbox,
                          tags=dict(ranged.tags))
    assert outcome.success and sorted(outcome.partitions) == ["2024-03-01", "2024-03-02", "2024-03-03"]
    assert [r.partition_key for r in evaluate(inbox, home, instance=instance).run_requests] == ["2024-03-07"]


def test_dates_outside_the_partitions_and_unknown_folders_are_ignored(home, tmp_path):
    inbox = tmp_path / "inbox"
    for folder in ("craigslist/1999-01-01", "craigslist/not-a-date", "ebay/2024-03-01"):
        (inbox / folder).mkdir(parents=True)
        (inbox / folder / "posts.jsonl").write_text('{"pid": "1", "title": "x"}\n')
    assert evaluate(inbox, home).run_requests == []


def test_definitions_load_and_list_the_platform():
    from c2c_assets.definitions import defs

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {"raw_posts", "posts", "quarantine", "post_images"} <= keys
    for key in ("posts", "quarantine", "post_images"):
        node = graph.get(dg.AssetKey(key))
        assert node.group_name == "ingest" and node.description and node.owners
        assert node.partitions_def is not None
    assert definitions.resolve_job_def("ingest_job") is not None
    assert definitions.resolve_sensor_def("inbox_sensor").default_status == dg.DefaultSensorStatus.RUNNING
