"""Hybrid search end to end: the examples plus listings with Spanish, part numbers and sizes, ingested
(with post_attributes), embedded (clip-tiny), indexed (faiss_index and lexical_index) through real Dagster
runs; modes, ranks, exact matches, synonyms, filters, odd queries, staleness, the CLI and the server."""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import duckdb
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from c2c_assets.cli import app
from c2c_assets.home import C2cHome
from c2c_assets.search.cache import Candidate
from c2c_assets.search.filters import FilterError, Filters
from c2c_assets.search.hybrid import RRF_K, fuse
from c2c_assets.search.lexical import LexicalHit
from c2c_assets.search.settings import FEEDBACK_DEPTH
from c2c_assets.search.lexical import current_lexical_build
from c2c_assets.search.server import create_app
from c2c_assets.search.service import Searcher, SearchError, search, search_result
from c2c_assets_tests.fixtures import DAY, build_index, build_lexical_index, copy_inbox, embed, extract_attributes, ingest

ENCODER = "clip-tiny"
LISTINGS = [
    ("7712345701", "Headlight switch 84002-0E010", "OEM part 84002-0E010, fits 2016 Tacoma. Works."),
    ("7712345702", "Switch assembly", "Looks like 84002-0E020 but not the same one. Headlight switch, works."),
    ("7712345703", "Transmisión automática", "Transmision para Chevy Silverado 2014, funciona bien."),
    ("7712345704", "Rebuilt 4L60E", "Rebuilt transmission out of a 2005 Tahoe, 30 day warranty."),
    ("7712345705", "Everything must go", "Misc stuff, call/text 254-555-0182"),
    ("7712345706", "Two 12in JL subwoofers", "They bump hard. Box included."),
    ("7712345707", "Civic wheels 17x7", "Stock rims off my 2016 Honda Civic, 5x114.3, no curb rash."),
    ("7712345708", "Accord rims", "Fits 2008 Honda Accord, 17x8 5x4.5 with center caps."),
    ("7712345709", "Llantas 265/70/17 casi nuevas", "Cuatro llantas, 80% de vida."),
]


def write_listings(inbox, listings=LISTINGS):
    dump = inbox / "craigslist" / DAY / "posts.jsonl"
    with dump.open("a") as out:
        for pid, title, body in listings:
            out.write(json.dumps({"pid": pid, "url": f"https://waco.craigslist.org/pts/d/x/{pid}.html", "title": title,
                                  "price": "$100", "datetime": "2024-02-25T10:00:00-0600", "body": body, "images": []}) + "\n")


def make_home(folder, instance):
    home = C2cHome(folder / "home").ensure()
    inbox = copy_inbox(folder / "inbox")
    write_listings(inbox)
    ingest(home, inbox, instance)
    extract_attributes(home, instance)
    embed(home, instance, ENCODER)
    build_index(home, instance, ENCODER)
    return home, inbox, build_lexical_index(home, instance)


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory):
    import dagster as dg

    with dg.instance_for_test() as instance:
        home, inbox, lexical = make_home(tmp_path_factory.mktemp("hybrid"), instance)
        yield SimpleNamespace(home=home, inbox=inbox, instance=instance, lexical=lexical, searcher=Searcher(home))


def ids(hits):
    return [h.post_id for h in hits]


def test_lexical_index_asset_covers_every_current_post(hybrid):
    assert hybrid.lexical["dagster/row_count"] == 19 and hybrid.lexical["terms"] > 100
    assert (current_lexical_build(hybrid.home) / "build.json").exists()


def test_text_queries_are_hybrid_with_both_ranks(hybrid):
    searcher = Searcher(hybrid.home)
    hits = searcher.search(ENCODER, 5, text="rines de 20")
    assert searcher.last_mode == "hybrid" and all(h.mode == "hybrid" for h in hits)
    assert any(h.lexical_rank is not None and h.vector_rank is not None for h in hits)
    assert all(h.lexical_rank is None or h.lexical_rank >= 1 for h in hits)
    photo = searcher.search(ENCODER, 3, like="craigslist:7712345601")
    assert searcher.last_mode == "semantic" and all(h.lexical_rank is None and h.vector_rank for h in photo)
    with pytest.raises(SearchError, match="needs a text query"):
        searcher.search(ENCODER, 3, mode="lexical", like="craigslist:7712345601")


@pytest.mark.parametrize("mode", ["hybrid", "lexical"])
@pytest.mark.parametrize(("query", "posts"), [("84002-0E010", {"craigslist:7712345701"}), ("840020e010", {"craigslist:7712345701"}),
                                              ("265/70R17", {"craigslist:7712345602", "craigslist:7712345709"}),
                                              ("5x114.3", {"craigslist:7712345707", "craigslist:7712345708"})])
def test_an_exact_part_number_or_size_ranks_its_posts_first(hybrid, mode, query, posts):
    hits = hybrid.searcher.search(ENCODER, 5, mode=mode, text=query)
    assert set(ids(hits[: len(posts)])) == posts, [(h.post_id, h.title) for h in hits]


def test_both_spellings_of_a_size_come_first(hybrid):
    hits = search(hybrid.home, ENCODER, 5, text="265/70r17")
    assert set(ids(hits[:2])) == {"craigslist:7712345602", "craigslist:7712345709"}  # 265/70R17 and 265/70/17
    bolts = search(hybrid.home, ENCODER, 5, text="5x114.3 wheels")
    assert set(ids(bolts[:2])) == {"craigslist:7712345707", "craigslist:7712345708"}  # 5x114.3 and 5x4.5


@pytest.mark.parametrize(("query", "english"), [("llantas", "craigslist:7712345602"), ("bocinas", "craigslist:7712345706"),
                                                ("faros", "craigslist:7712345601"), ("rines", "offerup:a1b2c3d4e5f6"),
                                                ("transmisión", "craigslist:7712345704"), ("calaveras", "offerup:a1b2c3d4e5f7")])
def test_a_spanish_word_finds_the_english_post(hybrid, query, english):
    assert english in ids(hybrid.searcher.search(ENCODER, 3, mode="lexical", text=query))
    # The fusion with the lexical side alone: clip-tiny's vectors are random, so its feedback ranking (more vector
    # evidence, search.feedback) is noise that can outvote one lexical match; with real towers it measured no loss.
    assert english in ids(hybrid.searcher.search(ENCODER, 5, text=query, feedback=0))


def test_filters_still_apply_in_hybrid_mode(hybrid):
    home = hybrid.home
    assert {h.source for h in search(home, ENCODER, 10, Filters(source="offerup"), text="rines")} == {"offerup"}
    cheap = search(home, ENCODER, 10, Filters(max_price=50), text="llantas 265/70R17")
    assert cheap and all(h.price_usd is not None and h.price_usd <= 50 for h in cheap)
    civic = search(home, ENCODER, 10, Filters(fits="2016 Civic"), text="wheels")
    assert "craigslist:7712345707" in ids(civic) and all("honda civic" in h.attributes["models"] for h in civic)
    assert "craigslist:7712345708" not in ids(civic)  # an Accord
    bolt = search(home, ENCODER, 10, Filters(size="5x4.5"), text="rims")
    assert set(ids(bolt)) == {"craigslist:7712345707", "craigslist:7712345708"}
    tires = search(home, ENCODER, 10, Filters(size="265/70R17"), mode="lexical", text="tires")
    assert set(ids(tires)) == {"craigslist:7712345602", "craigslist:7712345709"}
    with pytest.raises(FilterError, match="--size"):
        Filters(size="big ones")


def test_hits_carry_their_attributes(hybrid):
    [hit] = search(hybrid.home, ENCODER, 1, mode="lexical", text="84002-0E010")
    assert hit.attributes["part_numbers"] == ["84002-0e010"] and hit.attributes["models"] == ["toyota tacoma"]
    assert hit.as_dict()["attributes"]["year_min"] == 2016


def test_empty_stop_words_and_unknown_scripts(hybrid):
    home = hybrid.home
    for mode in ("hybrid", "lexical", "semantic"):
        with pytest.raises(SearchError, match="empty"):
            search(home, ENCODER, 3, mode=mode, text="  ")
    stop = search_result(home, ENCODER, 3, text="the of and para los")
    assert stop.mode == "semantic" and "stop words" in stop.note and len(stop.hits) == 3
    assert search_result(home, ENCODER, 3, mode="lexical", text="the of and").hits == []
    for text in ("коробка передач", "変速機"):
        result = search_result(home, ENCODER, 3, text=text)
        assert result.mode == "hybrid" and len(result.hits) == 3 and all(h.lexical_rank is None for h in result.hits)
        lexical = search_result(home, ENCODER, 3, mode="lexical", text=text)
        assert lexical.hits == [] and lexical.note


def test_cli_modes_json_and_filters(hybrid, monkeypatch):
    from c2c_assets.cli import console

    # The console's width was fixed when it was created (COLUMNS then): nine columns need a wide one.
    monkeypatch.setattr(console, "width", 200)
    runner = CliRunner()
    root = str(hybrid.home.root)
    result = runner.invoke(app, ["search", "--home", root, "-e", ENCODER, "-k", "3", "--json", "84002-0E010"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["post_id"] == "craigslist:7712345701" and rows[0]["mode"] == "hybrid" and rows[0]["lexical_rank"] == 1
    assert {"vector_rank", "attributes"} <= set(rows[0])
    table = runner.invoke(app, ["search", "--home", root, "-e", ENCODER, "--mode", "lexical", "--fits", "2016 Civic", "wheels"],
                          env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "lexical" in table.output and "7712345707" in table.output
    # The attributes column may wrap (the console's width is fixed when it is created): its words are all there.
    assert all(word in table.output for word in ("fits", "2016", "honda", "civic"))
    for bad in (["--mode", "fuzzy"], ["--size", "huge"], ["--fits", "nothing"]):
        failed = runner.invoke(app, ["search", "--home", root, "-e", ENCODER, *bad, "rims"])
        assert failed.exit_code != 0 and "Traceback" not in failed.output


def test_server_says_the_mode_and_filters(hybrid):
    with TestClient(create_app(hybrid.home, [ENCODER])) as client:
        response = client.get("/search", params={"q": "84002-0E010", "k": 3})
        assert response.status_code == 200 and response.headers["x-c2c-search-mode"] == "hybrid"
        assert response.json() == [h.as_dict() for h in search(hybrid.home, ENCODER, 3, text="84002-0E010")]
        lexical = client.post("/search", json={"text": "wheels", "mode": "lexical", "fits": "2016 civic"}).json()
        assert [h["post_id"] for h in lexical] == ["craigslist:7712345707"] and lexical[0]["vector_rank"] is None
        assert client.get("/search", params={"q": "the of", "mode": "lexical"}).json() == []
        unknown = client.get("/search", params={"q": "коробка", "mode": "lexical"})  # no candidate at all
        assert unknown.status_code == 200 and unknown.json() == []
        assert client.get("/search", params={"q": "rims", "size": "huge"}).status_code == 400
        assert client.get("/search", params={"q": "rims", "mode": "fuzzy"}).status_code == 400


def test_fusion_counts_the_feedback_ranking_as_vector_evidence():
    lexical = [LexicalHit("exact", "h", 9.0, True), LexicalHit("words", "h", 5.0, False)]
    vector = [Candidate("near", "h", 0.9, False, None, 1), Candidate("both", "h", 0.8, False, None, 2)]
    feedback = [Candidate("both", "h", 0.7), Candidate("photos", "h", 0.6)]
    fused = {c.post_id: c for c in fuse(lexical, vector, 0.5, feedback=feedback)}
    assert list(fused)[0] == "exact"  # a post holding the query's part number still comes first
    assert fused["photos"].feedback_rank == 2 and fused["photos"].vector_rank is None
    assert fused["photos"].score == pytest.approx(0.5 / (RRF_K + 2))
    assert fused["both"].score == pytest.approx(0.5 / (RRF_K + 2) + 0.5 / (RRF_K + 1))
    assert list(fused).index("both") < list(fused).index("near")  # fed back too: ahead of the nearer vector hit
    assert all(c.feedback_rank is None for c in fuse(lexical, vector, 0.5))


def test_feedback_searches_the_post_index_with_the_first_hits_centroid(hybrid):
    """Hybrid text queries feed back the vector side's first FEEDBACK_DEPTH hits: the centroid of their post
    vectors is a third query, on the post index; its ranking is each hit's feedback_rank."""
    import faiss
    import numpy as np

    from c2c_assets.search import index as idx

    searcher, query = Searcher(hybrid.home), "rebuilt transmission"
    side, vector = searcher.query_vector(ENCODER, text=query)
    seeds = [post_id for post_id, _, _ in searcher.index(ENCODER, side).rows(searcher.index(ENCODER, side).search(vector, FEEDBACK_DEPTH)[1][0])]
    post = faiss.read_index(str(idx.current_build(hybrid.home, ENCODER, "post") / "index.faiss"))
    post_ids = [row[0] for row in searcher.index(ENCODER, "post").rows(range(post.ntotal))]
    vectors = post.reconstruct_n(0, post.ntotal)
    centre = vectors[[post_ids.index(s) for s in seeds]].mean(axis=0)
    nearest = post_ids[int(np.argmax(vectors @ (centre / np.linalg.norm(centre))))]
    hits = searcher.search(ENCODER, 19, text=query)
    by_rank = {h.feedback_rank: h.post_id for h in hits if h.feedback_rank is not None}
    assert searcher.last_mode == "hybrid" and by_rank[1] == nearest
    assert all(h.feedback_rank is None for h in searcher.search(ENCODER, 19, text=query, feedback=0))
    plain = searcher.search(ENCODER, 5, text=query, mode="semantic")  # semantic: the plain vector ranking unless asked
    assert all(h.feedback_rank is None for h in plain) and [h.vector_rank for h in plain] == [1, 2, 3, 4, 5]
    asked = searcher.search(ENCODER, 19, text=query, mode="semantic", feedback=3)
    assert any(h.feedback_rank for h in asked) and all(h.lexical_rank is None for h in asked)
    with pytest.raises(SearchError, match="feedback"):
        searcher.search(ENCODER, 3, text=query, feedback=-1)
    runner = CliRunner()
    rows = json.loads(runner.invoke(app, ["search", "--home", str(hybrid.home.root), "-e", ENCODER, "-k", "19", "--json", query]).output)
    assert {r["post_id"]: r["feedback_rank"] for r in rows if r["feedback_rank"]}[nearest] == 1
    off = json.loads(runner.invoke(app, ["search", "--home", str(hybrid.home.root), "-e", ENCODER, "--feedback", "0", "--json", query]).output)
    assert all(r["feedback_rank"] is None for r in off)
    with TestClient(create_app(hybrid.home, [ENCODER])) as client:
        served = client.get("/search", params={"q": query, "k": 19}).json()
        assert {r["post_id"]: r["feedback_rank"] for r in served if r["feedback_rank"]}[nearest] == 1
        assert all(r["feedback_rank"] is None for r in client.post("/search", json={"text": query, "feedback": 0}).json())


def test_a_post_changed_since_the_index_was_built_is_never_returned(tmp_path, instance):
    """Lexical mode (no vectors needed here): the fusion and the join are the ones hybrid uses."""
    home = C2cHome(tmp_path / "home").ensure()
    inbox = copy_inbox(tmp_path / "inbox")
    write_listings(inbox)
    ingest(home, inbox, instance)
    build_lexical_index(home, instance)
    searcher = Searcher(home, keep_posts=True)  # the server's in-memory join, beside search()'s SQL one
    assert ids(search(home, ENCODER, 1, mode="lexical", text="84002-0E010")) == ["craigslist:7712345701"]
    assert ids(searcher.search(ENCODER, 1, mode="lexical", text="84002-0E010")) == ["craigslist:7712345701"]
    dump = inbox / "craigslist" / DAY / "posts.jsonl"
    dump.write_text(dump.read_text().replace("OEM part 84002-0E010", "OEM part, number worn off"))
    ingest(home, inbox, instance)  # the lexical index still holds the old text
    assert "craigslist:7712345701" not in ids(search(home, ENCODER, 10, mode="lexical", text="84002-0E010"))
    assert "craigslist:7712345701" not in ids(searcher.search(ENCODER, 10, mode="lexical", text="84002-0E010"))


def test_attribute_filters_in_memory_agree_with_their_sql():
    """``Filters.matches`` (the server's kept posts) and ``Filters.sql`` choose the same rows for --size and --fits."""
    rows = [
        {"tire_sizes": ["265/70r17"], "wheel_diameter": 17},
        {"bolt_patterns": ["5x114.3"], "wheel_specs": ["17x7"], "wheel_diameter": 17, "makes": ["honda"], "models": ["honda civic"],
         "year_min": 2016, "year_max": 2016},
        {"makes": ["honda"], "models": ["honda civic"]},
        {"makes": ["honda"], "models": ["honda accord"], "year_min": 2008, "year_max": 2012},
        {"makes": ["chevrolet"], "year_min": 2014, "year_max": 2018},
        None,
    ]
    db = duckdb.connect()
    db.execute("CREATE TABLE p (i INTEGER, source VARCHAR, price_usd DOUBLE, scrape_date DATE)")
    db.execute("CREATE TABLE a (i INTEGER, tire_sizes VARCHAR[], wheel_specs VARCHAR[], wheel_diameter INTEGER, bolt_patterns VARCHAR[], "
               "part_numbers VARCHAR[], year_min INTEGER, year_max INTEGER, makes VARCHAR[], models VARCHAR[])")
    columns = ["tire_sizes", "wheel_specs", "wheel_diameter", "bolt_patterns", "part_numbers", "year_min", "year_max", "makes", "models"]
    for i, row in enumerate(rows):
        db.execute("INSERT INTO p VALUES (?, 'offerup', 10.0, ?)", [i, date(2024, 3, 1)])
        if row is not None:
            db.execute(f"INSERT INTO a VALUES (?, {', '.join('?' * len(columns))})", [i, *(row.get(c) for c in columns)])
    cases = [Filters(size="265/70R17"), Filters(size="5x4.5"), Filters(size="17x7"), Filters(size="17"), Filters(fits="2016 Civic"),
             Filters(fits="civic"), Filters(fits="honda"), Filters(fits="2010 honda"), Filters(fits="2016"), Filters(fits="2016 chevy"),
             Filters(size="17", fits="2016 civic", source="offerup")]
    for filters in cases:
        where, params = filters.sql()
        in_sql = {i for (i,) in db.execute(f"SELECT p.i FROM p LEFT JOIN a ON a.i = p.i WHERE true{where}", params).fetchall()}
        in_memory = {i for i, row in enumerate(rows) if filters.matches("offerup", 10.0, date(2024, 3, 1), row)}
        assert in_memory == in_sql, filters
