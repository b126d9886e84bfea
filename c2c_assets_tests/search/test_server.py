"""``c2c serve``: a real uvicorn server on 127.0.0.1 (a free port) over a real clip-tiny home; its answers
are ``search()``'s, a newly published build is picked up without a restart, and bounded concurrent load
gets no errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from c2c_assets.home import C2cHome
from c2c_assets.search import index as idx
from c2c_assets.search.server import bind, create_app, server, url_of
from c2c_assets.search.service import Filters, Searcher, search
from c2c_assets_tests.fixtures import DAY, EXAMPLE_INBOX, build_index, copy_inbox, embed, ingest

ENCODER = "clip-tiny"
PHOTO = EXAMPLE_INBOX / "offerup" / DAY / "images" / "a1b2c3d4e5f6_0.png"


@contextmanager
def serving(home: C2cHome, encoders=(ENCODER,), **options) -> Iterator[httpx.Client]:
    """The app under uvicorn in a thread, on a free loopback port; a client for it."""
    sock = bind("127.0.0.1", 0)
    uvicorn_server = server(create_app(home, list(encoders), **options))
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=url_of(sock), timeout=30, trust_env=False) as client:
            yield client
    finally:
        uvicorn_server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The examples ingested, embedded (clip-tiny) and indexed, and a server over them (read-only tests)."""
    import dagster as dg

    folder = tmp_path_factory.mktemp("served")
    home = C2cHome(folder / "home").ensure()
    inbox = copy_inbox(folder / "inbox")
    with dg.instance_for_test() as instance:
        ingest(home, inbox, instance)
        embed(home, instance, ENCODER)
        build_index(home, instance, ENCODER)
        with serving(home) as client:
            yield SimpleNamespace(home=home, client=client)


def expected(home, k=10, filters=None, **query):
    return [hit.as_dict() for hit in search(home, ENCODER, k, filters, **query)]


def test_health_and_encoders(served):
    health = served.client.get("/health").json()
    assert health["status"] == "ok"
    sides = health["encoders"][ENCODER]
    assert set(sides) == {"post", "text", "image"} and sides["image"]["n"] == 10
    assert sides["image"]["build"] == idx.current_build(served.home, ENCODER, "image").name
    [listed] = served.client.get("/encoders").json()
    assert listed["name"] == ENCODER and listed["family"] == "clip" and listed["default"] is True


def test_text_query_is_what_search_answers(served):
    response = served.client.get("/search", params={"q": "rims", "k": 5})
    assert response.status_code == 200, response.text
    assert response.json() == expected(served.home, 5, text="rims")
    assert served.client.get("/search", params={"q": "rims", "k": 5, "encoder": ENCODER}).json() == response.json()
    posted = served.client.post("/search", json={"text": "rims", "k": 5})
    assert posted.json() == response.json()


def test_filters(served):
    client, home = served.client, served.home
    offerup = client.get("/search", params={"q": "rims", "source": "offerup"}).json()
    assert offerup and {h["source"] for h in offerup} == {"offerup"}
    assert offerup == expected(home, filters=Filters(source="offerup"), text="rims")
    cheap = client.get("/search", params={"q": "rims", "max_price": 100}).json()
    assert cheap and all(h["price_usd"] is not None and h["price_usd"] <= 100 for h in cheap)
    assert client.post("/search", json={"text": "rims", "min_price": 200}).json() == expected(home, filters=Filters(min_price=200), text="rims")
    assert client.get("/search", params={"q": "rims", "since": "2030-01-01"}).json() == []
    assert client.get("/search", params={"q": "rims", "since": "2024-03-01"}).json() == expected(home, filters=Filters(since=date(2024, 3, 1)), text="rims")
    assert client.get("/search", params={"q": "rims", "source": "offerup' OR '1'='1"}).json() == []


def test_like(served):
    hits = served.client.get("/search", params={"like": "offerup:a1b2c3d4e5f6", "k": 5}).json()
    assert len(hits) == 5 and "offerup:a1b2c3d4e5f6" not in {h["post_id"] for h in hits}
    assert hits == expected(served.home, 5, like="offerup:a1b2c3d4e5f6")
    assert served.client.post("/search", json={"like": "offerup:a1b2c3d4e5f6", "k": 5}).json() == hits


def test_image_upload_multipart_and_raw(served):
    client = served.client
    want = expected(served.home, 4, image=PHOTO)
    multipart = client.post("/search/image", params={"k": 4}, files={"file": ("photo.png", PHOTO.read_bytes(), "image/png")})
    assert multipart.status_code == 200, multipart.text
    assert multipart.json() == want
    raw = client.post("/search/image", params={"k": 4}, content=PHOTO.read_bytes(), headers={"content-type": "image/png"})
    assert raw.json() == want
    filtered = client.post("/search/image", params={"source": "craigslist"}, files={"file": ("p.png", PHOTO.read_bytes())}).json()
    assert filtered and {h["source"] for h in filtered} == {"craigslist"}


@pytest.mark.parametrize(
    ("method", "path", "request_options", "status", "message"),
    [
        ("GET", "/search", {"params": {"q": "   "}}, 400, "the text query is empty"),
        ("GET", "/search", {}, 400, "give exactly one query"),
        ("GET", "/search", {"params": {"q": "rims", "like": "offerup:a1b2c3d4e5f6"}}, 400, "give exactly one query"),
        ("GET", "/search", {"params": {"like": "craigslist:0"}}, 400, "unknown post"),
        ("GET", "/search", {"params": {"q": "rims", "k": 0}}, 400, "k: "),
        ("GET", "/search", {"params": {"q": "rims", "k": 100000}}, 400, "k: "),
        ("GET", "/search", {"params": {"q": "rims", "k": "ten"}}, 400, "k: "),
        ("GET", "/search", {"params": {"q": "rims", "since": "March"}}, 400, "since: "),
        ("GET", "/search", {"params": {"q": "rims", "encoder": "nope"}}, 404, "encoder 'nope' is not served here; served: clip-tiny"),
        ("POST", "/search", {"json": {"text": "rims", "bogus": 1}}, 400, "bogus"),
        ("POST", "/search", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "JSON"),
        ("POST", "/search/image", {"content": b"not an image"}, 400, "cannot read image"),
        ("POST", "/search/image", {"content": b""}, 400, "the upload is empty"),
        ("POST", "/search/image", {"files": {"photo": ("p.png", b"x")}}, 400, "multipart field `file`"),
        ("POST", "/search/audio", {"content": b"RIFF...."}, 400, "cannot answer audio"),
        ("GET", "/nowhere", {}, 404, "Not Found"),
    ],
)
def test_bad_requests_get_a_clear_message_and_no_traceback(served, method, path, request_options, status, message):
    response = served.client.request(method, path, **request_options)
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and message in body["error"], body
    assert "Traceback" not in response.text


def test_uploads_over_the_limit_are_refused(served):
    with serving(served.home, max_upload_bytes=1000) as client:
        big = b"\x00" * 5000
        assert client.post("/search/image", content=big).status_code == 413
        refused = client.post("/search/image", files={"file": ("p.png", big)})
        assert refused.status_code == 413 and "over" in refused.json()["error"]
        assert client.post("/search/image", files={"file": ("p.png", PHOTO.read_bytes()[:900])}).status_code == 400  # under: read, not an image


def test_an_internal_error_is_a_500_without_a_traceback(served, monkeypatch):
    searcher = Searcher(served.home)
    monkeypatch.setattr(searcher, "search", lambda *a, **k: 1 / 0)
    with serving(served.home, searcher=searcher) as client:
        response = client.get("/search", params={"q": "rims"})
    assert response.status_code == 500 and response.json() == {"error": "internal error (ZeroDivisionError); see the server's log"}


def test_bounded_concurrent_load_has_no_errors(served):
    """4 clients x 25 requests, text / like / filtered, all answered, all equal to the single-query answers."""
    queries = [{"q": "rims"}, {"q": "tail lights", "k": 3}, {"like": "offerup:a1b2c3d4e5f6"}, {"q": "rims", "source": "craigslist"}]
    want = [served.client.get("/search", params=q).json() for q in queries]

    def client_run(worker: int) -> list[tuple[int, bool]]:
        with httpx.Client(base_url=str(served.client.base_url), timeout=30, trust_env=False) as client:
            out = []
            for i in range(25):
                n = (worker + i) % len(queries)
                response = client.get("/search", params=queries[n])
                out.append((response.status_code, response.status_code == 200 and response.json() == want[n]))
            return out

    with ThreadPoolExecutor(4) as pool:
        results = [r for rs in pool.map(client_run, range(4)) for r in rs]
    assert len(results) == 100 and all(status == 200 and same for status, same in results), results


def test_searcher_reuses_loaded_indexes_and_encoders(served):
    searcher = Searcher(served.home)
    first = searcher.search(ENCODER, 3, text="rims")
    index, encoder = searcher.index(ENCODER, "image"), searcher.encoder(ENCODER)
    assert searcher.search(ENCODER, 3, text="rims") == first == search(served.home, ENCODER, 3, text="rims")
    assert searcher.index(ENCODER, "image") is index and searcher.encoder(ENCODER) is encoder


@pytest.mark.slow
def test_a_rebuilt_index_is_picked_up_without_a_restart(home, tmp_path, instance):
    inbox = copy_inbox(tmp_path / "inbox")
    ingest(home, inbox, instance)
    embed(home, instance, ENCODER)
    build_index(home, instance, ENCODER)
    with serving(home) as client:
        before = client.get("/health").json()["encoders"][ENCODER]
        assert len(client.get("/search", params={"q": "rims", "k": 50}).json()) == 10
        # A new post arrives: ingested and embedded, but until the index is rebuilt the server answers from the old build.
        posts = inbox / "offerup" / DAY / "posts.jsonl"
        new = json.loads(posts.read_text().splitlines()[0])
        new.update(listingId="b0b0b0b0b0b0", title="brand new 22 inch rims")
        posts.write_text(posts.read_text() + json.dumps(new) + "\n")
        ingest(home, inbox, instance)
        embed(home, instance, ENCODER)
        assert len(client.get("/search", params={"q": "rims", "k": 50}).json()) == 10
        build_index(home, instance, ENCODER)
        hits = client.get("/search", params={"q": "rims", "k": 50}).json()
        assert len(hits) == 11 and "offerup:b0b0b0b0b0b0" in {h["post_id"] for h in hits}
        assert hits == [h.as_dict() for h in search(home, ENCODER, 50, text="rims")]
        after = client.get("/health").json()["encoders"][ENCODER]
        assert after["image"]["n"] == 11 and after["image"]["build"] != before["image"]["build"]
        assert client.get("/search", params={"like": "offerup:b0b0b0b0b0b0", "k": 3}).status_code == 200
        # A post changes and another vanishes, the index is NOT rebuilt: the kept posts are re-read, neither comes back.
        lines = posts.read_text().splitlines()
        changed = json.loads(lines[0])
        changed["title"] = "now a different post"
        posts.write_text("\n".join([json.dumps(changed), *lines[2:]]) + "\n")
        ingest(home, inbox, instance)
        hits = client.get("/search", params={"q": "rims", "k": 50}).json()
        assert {"offerup:a1b2c3d4e5f6", "offerup:a1b2c3d4e5f7"}.isdisjoint(h["post_id"] for h in hits) and len(hits) == 9
        assert hits == [h.as_dict() for h in search(home, ENCODER, 50, text="rims")]


@pytest.mark.slow
def test_c2c_serve_prints_its_url_and_serves(served):
    """The installed command in its own process: one line with the URL on stdout, then answers; loopback by default."""
    c2c = Path(sys.executable).parent / "c2c"
    env = {**os.environ, "COLUMNS": "200"}
    process = subprocess.Popen([str(c2c), "serve", "-e", ENCODER, "--port", "0", "--home", str(served.home.root)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        assert line.startswith(f"serving {ENCODER} on http://127.0.0.1:"), (line, process.stderr.read() if process.poll() is not None else "")
        url = line.split(" on ", 1)[1].split()[0]
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as client:
            assert client.get("/health").json()["status"] == "ok"
            assert client.get("/search", params={"q": "rims", "k": 3}).json() == expected(served.home, 3, text="rims")
    finally:
        process.terminate()
        process.wait(20)
    assert process.returncode is not None


def test_filters_in_memory_agree_with_their_sql():
    """``Filters.matches`` (the server's kept posts) and ``Filters.sql`` (DuckDB) choose the same rows, NULL and NaN included."""
    import duckdb

    rows = [("offerup", 100.0, date(2024, 3, 1)), ("craigslist", None, date(2024, 2, 1)), (None, float("nan"), None),
            ("offerup", 200.0, date(2024, 3, 2)), ("craigslist", 99.99, date(2024, 3, 1)), ("offerup", -1.0, date(2030, 1, 1))]
    db = duckdb.connect()
    db.execute("CREATE TABLE p (i INTEGER, source VARCHAR, price_usd DOUBLE, scrape_date DATE)")
    db.executemany("INSERT INTO p VALUES (?, ?, ?, ?)", [(i, *row) for i, row in enumerate(rows)])
    cases = [Filters(), Filters(source="offerup"), Filters(min_price=100), Filters(max_price=100), Filters(min_price=100, max_price=200),
             Filters(since=date(2024, 3, 1)), Filters(source="craigslist", max_price=150, since=date(2024, 1, 1)), Filters(min_price=1e9)]
    for filters in cases:
        where, params = filters.sql()
        in_sql = {i for (i,) in db.execute(f"SELECT i FROM p WHERE true{where}", params).fetchall()}
        in_memory = {i for i, row in enumerate(rows) if filters.matches(*row)}
        assert in_memory == in_sql, filters
