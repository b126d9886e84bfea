"""Search means something: real default-encoder embeddings of a generated sample, a real index."""

import csv
from collections import Counter

import dagster as dg
import pytest

from c2c_assets.defs.ingest.assets import ingest_dumps
from c2c_assets.defs.resources import C2cResource
from c2c_assets.sample import generate_sample
from c2c_assets.search.service import Filters, search
from c2c_assets_tests.fixtures import build_index, embed

pytestmark = pytest.mark.slow  # the real default encoder over a generated sample


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory):
    from c2c_assets.home import C2cHome

    root = tmp_path_factory.mktemp("semantic")
    home = C2cHome(root / "home").ensure()
    inbox = root / "inbox"
    summary = generate_sample(inbox, n_posts=140, n_days=1, seed=11, bad_inputs=False)
    with open(summary.labels_path) as handle:
        labels = {row["post_id"]: row["category"] for row in csv.DictReader(handle)}
    with dg.instance_for_test() as instance:
        dg.materialize([ingest_dumps], partition_key="2024-03-01", instance=instance,
                       resources={"c2c": C2cResource(home=str(home.root), inbox=str(inbox))})
        embed(home, instance, "default")
        build_index(home, instance, "default")
    return home, labels


@pytest.mark.parametrize(("query", "category"), [("headlight assembly", "headlights"), ("set of tires", "tires"), ("subwoofer amp", "audio")])
def test_a_category_query_returns_mostly_that_category(sample_index, query, category):
    home, labels = sample_index
    hits = search(home, "default", k=5, text=query)
    found = Counter(labels.get(hit.post_id) for hit in hits)
    assert found[category] >= 3, (query, found)


def test_a_photo_query_finds_posts_of_the_same_category(sample_index):
    home, labels = sample_index
    from c2c_assets.warehouse import query

    rows = query(home, "SELECT i.post_id, i.path FROM post_images i WHERE i.status = 'ok' ORDER BY i.post_id, i.position")
    post_id, path = next((pid, p) for pid, p in rows if labels.get(pid) == "wheels")
    hits = search(home, "default", k=5, image=home.root / path)
    assert Counter(labels.get(h.post_id) for h in hits)["wheels"] >= 3


def test_filters_hold_on_real_results(sample_index):
    home, _ = sample_index
    hits = search(home, "default", k=10, filters=Filters(source="craigslist", max_price=300), text="brake rotors")
    assert hits and all(h.source == "craigslist" and h.price_usd is not None and h.price_usd <= 300 for h in hits)
