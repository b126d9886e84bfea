"""Real Dagster runs of the ingest assets and their checks."""

import json
import shutil
from datetime import date

import dagster as dg
import pytest

from c2c_assets.defs.ingest import checks
from c2c_assets.defs.ingest.assets import ingest_dumps
from c2c_assets.defs.resources import C2cResource
from c2c_assets.warehouse import query

CHECKS = [checks.lines_accounted_for, checks.post_id_unique, checks.one_row_per_image_reference]


def run(home, inbox, key="2024-03-01", **resource):
    return dg.materialize(
        [ingest_dumps, *CHECKS],
        partition_key=key,
        resources={"c2c": C2cResource(home=str(home.root), inbox=str(inbox), **resource)},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_materialize_the_shared_examples(home, examples_inbox):
    result = run(home, examples_inbox)
    assert result.success
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "lines_accounted_for": True, "post_id_unique": True, "one_row_per_image_reference": True,
    }
    materialized = {e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()}
    assert set(materialized) == {"posts", "quarantine", "post_images"}
    assert materialized["posts"]["dagster/row_count"].value == 10
    assert materialized["quarantine"]["dagster/row_count"].value == 0
    assert materialized["post_images"]["dagster/row_count"].value == 16
    assert "data:image/jpeg;base64," in materialized["post_images"]["thumbnails"].value
    # The warehouse views that later tools rely on.
    assert query(home, "SELECT source, count(*) FROM posts GROUP BY 1 ORDER BY 1") == [("craigslist", 5), ("offerup", 5)]
    assert query(home, "SELECT count(*) FROM quarantine") == [(0,)]
    assert query(home, "SELECT count(*), count(DISTINCT sha256) FROM post_images WHERE status = 'ok'") == [(16, 16)]
    row = query(
        home,
        "SELECT post_id, scrape_date, title, description, price_usd, n_images, content_hash FROM posts WHERE post_id = ?",
        ["craigslist:7712345602"],
    )[0]
    assert row[:6] == ("craigslist:7712345602", date(2024, 3, 1), "4 Michelin tires 265/70R17",
                       "Set of 4, about 70% tread left. No plugs & no patches.", 1200.0, 2)
    assert len(row[6]) == 64
    columns = {r[0] for r in query(home, "SELECT column_name FROM (DESCRIBE post_images)")}
    assert {"post_id", "position", "status", "reason", "sha256", "path"} <= columns


def test_latest_scrape_wins_across_dates_in_the_view(home, examples_inbox, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(examples_inbox, inbox)
    later = inbox / "craigslist" / "2024-03-02"
    later.mkdir()
    line = json.loads((inbox / "craigslist/2024-03-01/posts.jsonl").read_text().splitlines()[0])
    line["price"] = "$99"
    (later / "posts.jsonl").write_text(json.dumps(line) + "\n")
    assert run(home, inbox).success and run(home, inbox, "2024-03-02").success
    assert query(home, "SELECT count(*) FROM posts_all WHERE post_id = 'craigslist:7712345601'") == [(2,)]
    assert query(home, "SELECT price_usd, scrape_date FROM posts WHERE post_id = 'craigslist:7712345601'") == [(99.0, date(2024, 3, 2))]
    assert query(home, "SELECT count(*) FROM posts") == [(10,)]
    # The view shows the photos of the current scrape only (its photo was not re-delivered).
    assert query(home, "SELECT status, reason FROM post_images WHERE post_id = 'craigslist:7712345601'") == [
        ("rejected", "missing_file")
    ]


def test_a_bad_partition_fails_clearly_and_others_still_run(home, examples_inbox, tmp_path):
    inbox = tmp_path / "inbox"
    shutil.copytree(examples_inbox, inbox)
    broken = inbox / "offerup" / "2024-03-02"
    broken.mkdir()
    (broken / "posts.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    bad = run(home, inbox, "2024-03-02")
    assert not bad.success
    failure = next(e for e in bad.all_events if e.is_step_failure)
    assert "corrupt gzip in offerup/2024-03-02" in str(failure.step_failure_data.error)
    assert run(home, inbox).success


def test_checks_catch_an_ingest_that_loses_a_line(home, examples_inbox, monkeypatch):
    from c2c_assets.ingest import pipeline

    real = pipeline.read_lines
    monkeypatch.setattr(pipeline, "read_lines", lambda dump: list(real(dump))[:-1])  # a bug that drops a line
    result = run(home, examples_inbox)
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["lines_accounted_for"].passed
    assert "MISMATCH" in evaluations["lines_accounted_for"].metadata["dumps"].value
    assert evaluations["post_id_unique"].passed


def test_url_photos_go_through_the_fetcher(home, tmp_path, image_server):
    inbox = tmp_path / "inbox"
    folder = inbox / "offerup" / "2024-03-01"
    folder.mkdir(parents=True)
    photos = [{"uuid": "a", "url": f"{image_server}/ok.jpg"}, {"uuid": "b", "url": f"{image_server}/missing.jpg"}]
    (folder / "posts.jsonl").write_text(json.dumps({"listingId": "u1", "title": "Mirror", "photos": photos}) + "\n")
    assert run(home, inbox).success  # by default scraped URLs may not reach loopback
    assert query(home, "SELECT reason FROM post_images ORDER BY position") == [("blocked_address",), ("blocked_address",)]
    assert run(home, inbox, allow_private_networks=True, fetch_timeout_s=2.0).success
    assert query(home, "SELECT status, reason FROM post_images ORDER BY position") == [("ok", None), ("rejected", "http_error")]


@pytest.fixture
def image_server():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from c2c_assets_tests.fixtures import jpeg_bytes

    body = jpeg_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.path == "/ok.jpg":
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_error(404)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
