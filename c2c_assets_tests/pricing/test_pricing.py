"""Price comparables, estimates and category prediction end to end: a generated sample ingested, embedded
(clip-tiny, random weights: the numbers say nothing about quality, the plumbing is what is checked) and run
through real Dagster materializations, the ``c2c price`` command, and the reports."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from typer.testing import CliRunner

from c2c_assets.cli import app
from c2c_assets.defs.analysis.assets import analyse_encoder, cluster_report, encoder_comparison
from c2c_assets.defs.pricing.assets import predicted_categories, price_comparables
from c2c_assets.embeddings.store import current_side
from c2c_assets.home import C2cHome
from c2c_assets.pricing.categories import listing_key
from c2c_assets.prices import is_usable
from c2c_assets.runner import materialize
from c2c_assets.sample import generate_sample
from c2c_assets.sample.prices import wording_factor
from c2c_assets.warehouse import query
from c2c_assets_tests.fixtures import build_index, embed, ingest

ENCODER = "clip-tiny"
DAYS = ("2024-03-01", "2024-03-02")
runner = CliRunner()


@pytest.fixture(scope="module")
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture(scope="module")
def priced(tmp_path_factory, instance):
    """Day 1 priced, then day 2 arrives and everything is priced again, categories predicted, indexed."""
    root = tmp_path_factory.mktemp("pricing")
    inbox = root / "inbox"
    generate_sample(inbox, n_posts=60, n_days=2, seed=5, bad_inputs=False, image_size=(64, 48))
    home = C2cHome(root / "home").ensure()
    ingest(home, inbox, instance, DAYS[0])
    embed(home, instance, ENCODER, DAYS[0])
    first = materialize(home, [price_comparables], partition_key=ENCODER, instance=instance, inbox=inbox)
    assert first.success, first.failure
    day_one = {row[0] for row in query(home, "SELECT post_id FROM price_comparables")}
    ingest(home, inbox, instance, DAYS[1])
    embed(home, instance, ENCODER, DAYS[1])
    outcome = materialize(home, [price_comparables, predicted_categories], partition_key=ENCODER, instance=instance, inbox=inbox)
    assert outcome.success, outcome.failure
    build_index(home, instance, ENCODER)
    return home, inbox, outcome.metadata, day_one


def _price(home: C2cHome, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["price", *args, "--home", str(home.root)])
    return result.exit_code, result.output


def test_sample_prices_follow_the_wording_and_placeholders_are_labelled(tmp_path):
    inbox = tmp_path / "inbox"
    generate_sample(inbox, n_posts=600, n_days=1, seed=2, bad_inputs=False, image_size=(32, 32))
    categories = {r["post_id"]: r["category"] for r in csv.DictReader(open(inbox / "labels.csv"))}
    rows = list(csv.DictReader(open(inbox / "labels_prices.csv")))
    assert {r["post_id"] for r in rows} == set(categories)
    placeholders = [r for r in rows if r["placeholder"] == "1"]
    assert placeholders and all(not is_usable(float(r["listed_price"])) for r in placeholders)
    genuine = [float(r["listed_price"]) for r in rows if r["placeholder"] == "0" and r["listed_price"]]
    assert all(is_usable(p) for p in genuine)  # the rule keeps every real price of the sample
    # Within a category the words move the price: a set of four tyres asks more than a spare.
    assert wording_factor("tires", "Set of 4 tires 265/70R17") > 2 * wording_factor("tires", "Spare tire 265/70R17 full size")
    by_category: dict[str, list[float]] = {}
    for r in rows:
        by_category.setdefault(categories[r["post_id"]], []).append(float(r["true_price"]))
    assert np.median(by_category["transmission"]) > 5 * np.median(by_category["mirrors"])


def test_every_post_gets_comparables_and_a_new_day_is_priced(priced):
    home, _inbox, metadata, day_one = priced
    rows = query(home, "SELECT post_id, price_usd, usable, median, p10, p90, n, mean_similarity, flag, distance FROM price_comparables")
    posts = dict(query(home, "SELECT post_id, price_usd FROM posts"))
    ids, _ = current_side(home, ENCODER, "vector")
    assert sorted(r[0] for r in rows) == sorted(ids.column("post_id").to_pylist())
    assert day_one < {r[0] for r in rows}  # day 2's posts were added; day 1's are still there
    assert metadata["price_comparables"]["dagster/row_count"] == len(rows)
    for post_id, price, usable, median, p10, p90, n, similarity, flag, distance in rows:
        assert price == posts[post_id] and usable == is_usable(price)
        assert 3 <= n <= 10 and p10 <= median <= p90 and -1 <= similarity <= 1
        if not usable:  # no price, or a placeholder: still comparables (what it is worth), never a flag
            assert flag is None and distance is None
        elif price < p10:
            assert flag == "underpriced" and distance > 0
        elif price > p90:
            assert flag == "overpriced" and distance > 0
        else:
            assert flag == "within" and distance == 0
    assert any(r[1] is None for r in rows), "the sample should have a post with no price"


def test_comparables_are_the_nearest_usable_posts_but_never_the_post_itself(priced):
    home, *_ = priced
    ids, vectors = current_side(home, ENCODER, "vector")
    post_ids = ids.column("post_id").to_pylist()
    prices = dict(query(home, "SELECT post_id, price_usd FROM posts"))
    usable = np.asarray([is_usable(prices[p]) for p in post_ids])
    view = {r[0]: r[1:] for r in query(home, "SELECT post_id, median, n FROM price_comparables")}
    for row in (0, 7, len(post_ids) - 1):
        similarity = vectors @ vectors[row]
        candidates = [i for i in np.argsort(-similarity, kind="stable") if usable[i] and i != row][:10]
        expected = float(np.median([prices[post_ids[i]] for i in candidates]))
        assert view[post_ids[row]] == pytest.approx((expected, 10))


def test_a_repost_group_is_never_its_own_comparable():
    from c2c_assets.pricing.comparables import PricedVectors, compute
    from c2c_assets.pricing.settings import PricingSettings

    rng = np.random.default_rng(0)
    base = rng.standard_normal((2, 8)).astype(np.float32)
    # Rows 0-2: one listing posted three times (near-identical vectors, $100); rows 3-8: other posts ($300).
    vectors = np.concatenate([base[0] + 0.01 * rng.standard_normal((3, 8)), base[0] + 0.5 * rng.standard_normal((6, 8))]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    data = PricedVectors([f"p{i}" for i in range(9)], np.asarray([100.0] * 3 + [300.0] * 6), vectors, 9)
    settings = PricingSettings(k=3, min_comparables=3)
    alone = compute(data, settings)
    assert alone.median[0] == 100.0  # its own two reposts ($100 each) are among its 3 nearest
    grouped = compute(data, settings, groups={"p0": "g", "p1": "g", "p2": "g"})
    assert grouped.median[0] == 300.0 and grouped.n[0] == 3  # without them: three other posts, still k


def test_price_like_a_post_answers_the_interface_and_agrees_with_the_asset(priced):
    home, *_ = priced
    post_id, median = query(home, "SELECT post_id, median FROM price_comparables WHERE usable ORDER BY post_id LIMIT 1")[0]
    code, output = _price(home, "--like", post_id, "-e", ENCODER, "--json")
    assert code == 0, output
    answer = json.loads(output)
    assert set(answer) == {"estimate", "p10", "p90", "n", "comparables", "reason"}
    assert answer["estimate"] == pytest.approx(median) and answer["reason"] is None and answer["n"] == 10
    assert answer["p10"] <= answer["estimate"] <= answer["p90"]
    similarities = [c["similarity"] for c in answer["comparables"]]
    assert similarities == sorted(similarities, reverse=True)
    for comparable in answer["comparables"]:
        assert set(comparable) == {"post_id", "title", "price_usd", "source", "scrape_date", "similarity"}
        assert comparable["post_id"] != post_id and is_usable(comparable["price_usd"])
        assert comparable["scrape_date"] in DAYS


def test_price_text_query_with_html_and_table(priced, tmp_path):
    home, *_ = priced
    page = tmp_path / "price.html"
    code, output = _price(home, "265/70R17 tires", "-e", ENCODER, "--html", str(page))
    assert code == 0, output
    assert "estimate $" in output and "comparables" in output
    html = page.read_text()
    assert "Estimate" in html and html.count('class="hit"') == 10 and "data:image/jpeg;base64," in html
    photo = home.stored_image(query(home, "SELECT thumb_path FROM post_thumbnails LIMIT 1")[0][0])
    code, output = _price(home, "--image", str(photo), "-e", ENCODER, "--json")
    assert code == 0 and json.loads(output)["n"] == 10, output
    code, output = _price(home, "265/70R17 tires", "-e", ENCODER, "--json", "--min-comparables", "11")
    answer = json.loads(output)
    assert code == 0 and answer["estimate"] is None and answer["n"] == 10 and "at least 11" in answer["reason"]


def test_expected_conditions_are_one_error_line(priced, tmp_path):
    home, *_ = priced
    for args, says in (
        (["tires", "-e", "nope"], "unknown encoder"),
        (["tires", "-e", "vit-tiny"], "cannot answer text queries"),  # a photo-only encoder has no text side
        (["--like", "craigslist:0", "-e", ENCODER], "unknown post"),
        (["--like", "x", "-e", "default-tiny"], "no post index"),  # no index built for it
    ):
        code, output = _price(home, *args)
        assert code == 1 and output.startswith("error:") and says in output and "Traceback" not in output, output
    code, output = _price(C2cHome(tmp_path / "empty"), "tires")
    assert code == 1 and "no ingested posts" in output


def test_a_query_with_no_usable_prices_has_no_estimate_and_says_why(tmp_path, examples_inbox):
    inbox = shutil.copytree(examples_inbox, tmp_path / "inbox")
    for dump in inbox.glob("*/*/posts.jsonl"):
        records = [json.loads(line) for line in dump.read_text().splitlines() if line.strip()]
        dump.write_text("".join(json.dumps({**r, "price": "$1"}) + "\n" for r in records))
    home = C2cHome(tmp_path / "home").ensure()
    with dg.instance_for_test() as instance:
        ingest(home, inbox, instance)
        embed(home, instance, ENCODER)
        outcome = materialize(home, [price_comparables], partition_key=ENCODER, instance=instance, inbox=inbox)
        assert outcome.success, outcome.failure
        build_index(home, instance, ENCODER)
    assert query(home, "SELECT count(*), count(median), max(n), count(flag) FROM price_comparables") == [(10, 0, 0, 0)]
    assert outcome.metadata["price_comparables"]["n_usable"] == 0
    code, output = _price(home, "wheels", "-e", ENCODER, "--json")
    assert code == 0, output
    assert json.loads(output) == {"estimate": None, "p10": None, "p90": None, "n": 0, "comparables": [],
                                  "reason": "no comparable post with a usable price (an estimate needs at least 3)"}


def test_categories_are_predicted_for_every_post_with_grouped_splits(priced):
    home, inbox, metadata, _ = priced
    rows = query(home, "SELECT p.post_id, c.category, c.confidence, c.known, c.split, p.title, p.description, p.price_usd "
                       "FROM predicted_categories c JOIN posts p USING (post_id)")
    assert len(rows) == query(home, "SELECT count(*) FROM posts")[0][0]
    labels = {r["post_id"]: r["category"] for r in csv.DictReader(open(inbox / "labels.csv"))}
    assert all(known == labels[post_id] for post_id, _, _, known, *_ in rows)
    assert all(0 < confidence <= 1 and category in set(labels.values()) for _, category, confidence, *_ in rows)
    sides: dict[str, set[str]] = {}
    for _, _, _, _, split, title, description, price in rows:
        sides.setdefault(listing_key(title, description, price), set()).add("test" if split == "test" else "fit")
    assert all(len(found) == 1 for found in sides.values()), "a listing group straddles train and test"
    meta = metadata["predicted_categories"]
    assert 0 <= meta["accuracy"] <= 1 and 0 <= meta["macro_f1"] <= 1 and meta["model"] in ("logistic C=10", "knn k=10")
    test_rows = [r for r in rows if r[4] == "test"]
    assert len(test_rows) == query(home, "SELECT n_test FROM category_metrics")[0][0] > 0


def test_reports_show_prices_flags_and_the_pricing_columns(priced, instance):
    home, inbox, *_ = priced
    config = {"analyse_encoder": {"k": 3, "width": 8}}
    outcome = materialize(home, [analyse_encoder, cluster_report], partition_key=ENCODER, instance=instance, inbox=inbox, config=config)
    assert outcome.success, outcome.failure
    html = (home.reports / ENCODER / "clusters.html").read_text()
    assert html.count("<svg") == 3 and "flagged under/over" in html and "10th-90th percentile" in html
    assert "Prices: median $" in outcome.metadata["cluster_report"]["preview"]
    outcome = materialize(home, [encoder_comparison], instance=instance, inbox=inbox, config={"encoder_comparison": {"k": 3}})
    assert outcome.success, outcome.failure
    table = outcome.metadata["encoder_comparison"]["comparison"]
    assert "price\\_error ↓" in table and "category\\_accuracy ↑" in table
    page = (home.reports / "comparison.html").read_text()
    assert "price_error" in page and "category_macro_f1" in page
