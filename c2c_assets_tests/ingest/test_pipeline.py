import gzip
import json
from collections import Counter
from datetime import date

import duckdb
import pyarrow.parquet as pq
import pytest

from c2c_assets.ingest import pipeline
from c2c_assets.ingest.dumps import MAX_LINE_BYTES, DumpError
from c2c_assets.ingest.invariants import duplicate_post_ids, image_row_mismatches, line_accounts
from c2c_assets.ingest.pipeline import IngestSettings, ingest_date
from c2c_assets.lake import partition_file
from c2c_assets_tests.fixtures import bomb_png, jpeg_bytes, write

DAY = date(2024, 3, 1)


def good(pid, title="Brake rotors", images=(), **extra):
    return json.dumps({"pid": str(pid), "title": title, "body": "QR Code Link to This Post\n\nnice", "price": "$40", "images": list(images), **extra})


def make_dump(inbox, source, lines, day=DAY, gz=False, images=None):
    folder = inbox / source / day.isoformat()
    for name, data in (images or {}).items():
        write(folder / "images" / name, data)
    payload = b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
    folder.mkdir(parents=True, exist_ok=True)
    if gz:
        (folder / "posts.jsonl.gz").write_bytes(gzip.compress(payload))
    else:
        (folder / "posts.jsonl").write_bytes(payload)
    return folder


def table(home, asset, day=DAY):
    return pq.read_table(partition_file(home.lake, asset, {"date": day.isoformat()})).to_pylist()


@pytest.fixture
def messy_inbox(tmp_path):
    inbox = tmp_path / "inbox"
    lines = [
        "\ufeff" + good(1, images=["images/a.jpg", "images/missing.jpg", "/etc/passwd", "../x.jpg", "images/bomb.png", "images/text.jpg"]),
        "",
        "   ",
        '{"pid": "2", "title": "trunc',
        "[1, 2, 3]",
        '"just a string"',
        json.dumps({"title": "no id"}),
        json.dumps({"pid": "x9", "title": "bad id"}),
        json.dumps({"pid": "3", "title": 42}),
        json.dumps({"pid": "4", "title": "", "body": "  ", "images": []}),
        "[" * 100_000 + "]" * 100_000,
        good(5, description_pad="x" * (MAX_LINE_BYTES + 10)),
        good(6, title="first version"),
        b'{"pid": "7", "title": "caf\xe9 \xff seats", "body": "ok"}',
        good(6, title="second version", images=["images/a.jpg"]),
        json.dumps({"pid": "8", "title": "surrogate \ud800 here"}),
    ]
    make_dump(inbox, "craigslist", lines, images={"a.jpg": jpeg_bytes(), "bomb.png": bomb_png(), "text.jpg": b"hello"})
    offerup = [json.dumps({"listingId": "o1", "title": "Rims", "price": "120.00", "postDate": 1709300000000, "photos": [{"uuid": "u", "localPath": "images/b.jpg"}]})]
    make_dump(inbox, "offerup", offerup, gz=True, images={"b.jpg": jpeg_bytes(color=(0, 0, 200))})
    return inbox


def test_every_line_lands_in_exactly_one_place(messy_inbox, home):
    summary = ingest_date(messy_inbox, home, DAY, IngestSettings(chunk_lines=3))
    craigslist = next(d for d in summary.dumps if d.dump == "craigslist/2024-03-01")
    assert craigslist.lines == 14  # blank and whitespace-only lines are not lines
    assert craigslist.quarantined == Counter(
        malformed_json=2, not_an_object=2, missing_id=1, invalid_id=1, wrong_type=1, empty_post=1,
        line_too_long=1, duplicate_listing=1,
    )
    assert craigslist.accepted == 4
    posts = {row["post_id"]: row for row in table(home, "posts")}
    assert set(posts) == {"craigslist:1", "craigslist:6", "craigslist:7", "craigslist:8", "offerup:o1"}
    assert posts["craigslist:6"]["title"] == "second version"  # the latest line of a listing wins
    assert "invalid_utf8" in posts["craigslist:7"]["flags"] and "\ufffd" in posts["craigslist:7"]["title"]
    assert "lone_surrogates" in posts["craigslist:8"]["flags"]
    quarantine = table(home, "quarantine")
    superseded = next(r for r in quarantine if r["reason"] == "duplicate_listing")
    assert superseded["line_number"] == 13 and "first version" in superseded["raw"]
    assert superseded["detail"].startswith("superseded by line 15")
    too_long = next(r for r in quarantine if r["reason"] == "line_too_long")
    assert too_long["raw_bytes"] > MAX_LINE_BYTES and len(too_long["raw"]) <= 2000
    for account in line_accounts(home, messy_inbox, DAY):
        assert account.balanced, account
    assert not duplicate_post_ids(home, DAY)
    assert not image_row_mismatches(home, DAY)


def test_image_rows_keep_order_and_reasons(messy_inbox, home):
    ingest_date(messy_inbox, home, DAY)
    rows = sorted((r for r in table(home, "post_images") if r["post_id"] == "craigslist:1"), key=lambda r: r["position"])
    assert [(r["position"], r["status"], r["reason"]) for r in rows] == [
        (0, "ok", None), (1, "rejected", "missing_file"), (2, "rejected", "unsafe_path"),
        (3, "rejected", "unsafe_path"), (4, "rejected", "too_many_pixels"), (5, "rejected", "not_an_image"),
    ]
    ok = rows[0]
    assert (home.root / ok["path"]).exists() and (home.root / ok["thumb_path"]).exists()
    assert (ok["width"], ok["height"]) == (64, 48) and len(ok["sha256"]) == 64
    post = next(r for r in table(home, "posts") if r["post_id"] == "craigslist:1")
    assert post["n_images"] == 6 and post["n_images_ok"] == 1


def test_content_hash_follows_text_and_photos_not_price(tmp_path, home):
    inbox = tmp_path / "inbox"
    make_dump(inbox, "craigslist", [good(1, images=["images/a.jpg"]), good(2, images=["images/b.jpg"])],
              images={"a.jpg": jpeg_bytes(), "b.jpg": jpeg_bytes(color=(0, 255, 0))})
    make_dump(inbox, "craigslist", [good(1, images=["images/a.jpg"], price="$99"), good(2, images=["images/b.jpg"])],
              day=date(2024, 3, 2), images={"a.jpg": jpeg_bytes(), "b.jpg": jpeg_bytes(color=(255, 0, 255))})
    ingest_date(inbox, home, DAY)
    ingest_date(inbox, home, date(2024, 3, 2))
    first = {r["post_id"]: r["content_hash"] for r in table(home, "posts")}
    second = {r["post_id"]: r["content_hash"] for r in table(home, "posts", date(2024, 3, 2))}
    assert first["craigslist:1"] == second["craigslist:1"]  # only the price changed
    assert first["craigslist:2"] != second["craigslist:2"]  # the photo changed


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty dump"),
        (b"\n  \n\n", "empty dump"),
    ],
)
def test_empty_dump_fails_its_partition(tmp_path, home, payload, message):
    folder = tmp_path / "inbox" / "offerup" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "posts.jsonl").write_bytes(payload)
    with pytest.raises(DumpError, match=message):
        ingest_date(tmp_path / "inbox", home, DAY)


def test_corrupt_gzip_fails_clearly_and_keeps_the_previous_partition(tmp_path, home):
    inbox = tmp_path / "inbox"
    folder = make_dump(inbox, "offerup", [json.dumps({"listingId": "o1", "title": "Rims"})], gz=True)
    ingest_date(inbox, home, DAY)
    before = partition_file(home.lake, "posts", {"date": DAY.isoformat()}).read_bytes()
    good_gzip = gzip.compress(b"".join(json.dumps({"listingId": f"o{i}", "title": "x" * 50}).encode() + b"\n" for i in range(500)))
    (folder / "posts.jsonl.gz").write_bytes(good_gzip[: len(good_gzip) // 2])
    with pytest.raises(DumpError, match="corrupt gzip in offerup/2024-03-01"):
        ingest_date(inbox, home, DAY)
    assert partition_file(home.lake, "posts", {"date": DAY.isoformat()}).read_bytes() == before
    assert not [p for p in home.lake.rglob("*") if p.name.endswith(".tmp")]


def test_no_dump_for_the_date(tmp_path, home):
    with pytest.raises(DumpError, match="no dump for 2024-03-01"):
        ingest_date(tmp_path / "inbox", home, DAY)


def test_crash_mid_run_leaves_the_old_partition_and_no_litter(tmp_path, home, monkeypatch):
    inbox = tmp_path / "inbox"
    make_dump(inbox, "craigslist", [good(i) for i in range(1, 50)])
    ingest_date(inbox, home, DAY)
    before = {a: partition_file(home.lake, a, {"date": DAY.isoformat()}).read_bytes() for a in ("posts", "quarantine", "post_images")}
    make_dump(inbox, "craigslist", [good(i, title="changed") for i in range(1, 50)])
    calls = {"n": 0}
    real = pipeline._DateIngest._write_posts

    def crash_on_second_chunk(self, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return real(self, *args)

    monkeypatch.setattr(pipeline._DateIngest, "_write_posts", crash_on_second_chunk)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest_date(inbox, home, DAY, IngestSettings(chunk_lines=10))
    after = {a: partition_file(home.lake, a, {"date": DAY.isoformat()}).read_bytes() for a in before}
    assert after == before
    assert not [p for p in home.lake.rglob("*") if p.name.endswith(".tmp")]


def test_rerun_replaces_never_duplicates(tmp_path, home):
    inbox = tmp_path / "inbox"
    make_dump(inbox, "craigslist", [good(i) for i in range(1, 20)])
    for _ in range(3):
        ingest_date(inbox, home, DAY)
    count = duckdb.connect().execute(f"SELECT count(*) FROM '{home.lake}/posts/*/*.parquet'").fetchone()[0]
    assert count == 19


def test_photos_beyond_the_per_post_limit_keep_a_rejected_row_each(tmp_path, home):
    from c2c_assets.ingest.pipeline import MAX_IMAGES_PER_POST

    inbox = tmp_path / "inbox"
    refs = ["images/a.jpg"] * (MAX_IMAGES_PER_POST + 3)
    make_dump(inbox, "craigslist", [good(1, images=refs)], images={"a.jpg": jpeg_bytes()})
    ingest_date(inbox, home, DAY)
    rows = sorted(table(home, "post_images"), key=lambda r: r["position"])
    assert len(rows) == MAX_IMAGES_PER_POST + 3
    assert {r["status"] for r in rows[:MAX_IMAGES_PER_POST]} == {"ok"}
    assert [r["reason"] for r in rows[MAX_IMAGES_PER_POST:]] == ["too_many_images"] * 3
    assert not image_row_mismatches(home, DAY)
