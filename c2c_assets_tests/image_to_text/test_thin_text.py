"""Predicted text for thin-text posts: a trained checkpoint feeds the fused post vectors and text search.

Real Dagster runs on a generated sample in which a few posts with photos lost their words; tiny
towers on CPU (the default-tiny encoder and the tiny offline configuration share their weights).
"""

import json
from datetime import date

import dagster as dg
import numpy as np
import pytest

from c2c_assets.defs.embeddings.assets import post_embeddings
from c2c_assets.defs.image_to_text.assets import image_to_text
from c2c_assets.defs.ingest.assets import ingest_dumps
from c2c_assets.defs.resources import C2cResource
from c2c_assets.defs.search.assets import faiss_index
from c2c_assets.embeddings.embed import posts_of_date
from c2c_assets.embeddings.store import embedding_file
from c2c_assets.encoders import EncoderConfig, create_encoder, save_config
from c2c_assets.encoders.default import fuse_concat
from c2c_assets.image_to_text.thin_text import checkpoint_path, find_predictor
from c2c_assets.sample import generate_sample
from c2c_assets.search.service import Filters, search
from c2c_assets.storage import read_table
from c2c_assets.warehouse import query

pytestmark = pytest.mark.slow  # trains the image-to-text ensemble

DAY = "2024-03-01"
ENCODER = "default-tiny"
THIN = 4


def _strip_text(inbox) -> list[str]:
    """Blank the text of the first THIN Craigslist posts with photos; their post ids."""
    dump = inbox / "craigslist" / DAY / "posts.jsonl"
    lines = [json.loads(line) for line in dump.read_text().splitlines() if line.strip()]
    thin = []
    for record in lines:
        if record.get("images") and len(thin) < THIN:
            record["title"], record["body"] = "Part", ""
            thin.append(f"craigslist:{record['pid']}")
    dump.write_text("".join(json.dumps(record) + "\n" for record in lines))
    return thin


@pytest.fixture
def trained(home, tmp_path, instance):
    inbox = tmp_path / "inbox"
    generate_sample(inbox, n_posts=60, n_days=1, seed=5, bad_inputs=False)
    thin = _strip_text(inbox)
    resources = {"c2c": C2cResource(home=str(home.root), inbox=str(inbox))}
    assert dg.materialize([ingest_dumps], partition_key=DAY, instance=instance, resources=resources).success
    train(home, instance)
    instance.add_dynamic_partitions("encoders", [ENCODER])
    return instance, thin


def train(home, instance, epochs=2):
    result = dg.materialize(
        [image_to_text], partition_key="offline", instance=instance, resources={"c2c": C2cResource(home=str(home.root))},
        run_config={"ops": {"image_to_text": {"config": {"tiny": True, "epochs": epochs, "device": "cpu"}}}},
    )
    assert result.success


def embed(home, instance, **config):
    result = dg.materialize(
        [post_embeddings], partition_key=dg.MultiPartitionKey({"date": DAY, "encoder": ENCODER}), instance=instance,
        resources={"c2c": C2cResource(home=str(home.root))},
        run_config={"ops": {"post_embeddings": {"config": {"device": "cpu", "batch_size": 8, **config}}}},
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def rows(home) -> dict[str, dict]:
    table = read_table(embedding_file(home, date.fromisoformat(DAY), ENCODER))
    return {row["post_id"]: row for row in table.to_pylist()}


def test_thin_text_posts_get_predicted_text_that_feeds_the_post_vector(home, trained):
    instance, thin = trained
    plain_meta = embed(home, instance, predict_thin_text=False)
    assert plain_meta["text_predicted"] == 0 and plain_meta["text_predictor"] == "none"
    plain = rows(home)

    meta = embed(home, instance)
    assert meta["text_predictor"] == "offline" and meta["text_predicted"] == len(thin)
    assert meta["embedded"] == len(thin) and meta["carried_over"] == len(plain) - len(thin)  # only they change
    predicted = rows(home)
    assert set(predicted) == set(plain), (set(plain) - set(predicted), set(predicted) - set(plain), len(plain), len(predicted))
    assert {pid for pid, row in predicted.items() if row["text_predicted"]} == set(thin)

    encoder = create_encoder(ENCODER, home=home.root)
    predictor = find_predictor(home, encoder)
    posts = {item.post.post_id: item.post for item in posts_of_date(home, date.fromisoformat(DAY))}
    expected = predictor.predict([posts[pid] for pid in thin])
    for pid, vector in zip(thin, expected, strict=True):
        row = predicted[pid]
        text, image = np.array([row["text_vector"]]), np.array([row["image_vector"]])
        np.testing.assert_allclose(text[0], vector, atol=1e-5)  # the checkpoint's prediction from the photos
        assert float(text[0] @ np.array(plain[pid]["text_vector"])) < 0.999  # not the embedding of "Part"
        np.testing.assert_allclose(row["vector"], fuse_concat(image, text, encoder.image_weight)[0], atol=1e-5)
        assert row["fingerprint"] != plain[pid]["fingerprint"]
    for pid in set(plain) - set(thin):  # posts with real text are untouched
        assert not predicted[pid]["text_predicted"]
        assert predicted[pid]["vector"] == plain[pid]["vector"] and predicted[pid]["fingerprint"] == plain[pid]["fingerprint"]
    assert query(home, "SELECT post_id FROM embeddings WHERE text_predicted ORDER BY 1") == [(pid,) for pid in sorted(thin)]

    # Unchanged checkpoint: nothing to redo. A retrained one: exactly the predicted rows are redone.
    again = embed(home, instance)
    assert (again["embedded"], again["text_predicted"]) == (0, len(thin))
    train(home, instance, epochs=1)  # other weights for the head, the same tower
    retrained = embed(home, instance)
    assert (retrained["embedded"], retrained["text_predicted"]) == (len(thin), len(thin))
    assert all(rows(home)[pid]["text_vector"] != predicted[pid]["text_vector"] for pid in thin)


def test_text_search_finds_thin_posts_through_their_predicted_text(home, trained):
    instance, thin = trained
    embed(home, instance)
    assert dg.materialize([faiss_index], partition_key=ENCODER, instance=instance, resources={"c2c": C2cResource(home=str(home.root))}).success
    n_posts = query(home, "SELECT count(*) FROM posts")[0][0]
    hits = search(home, ENCODER, k=n_posts, filters=Filters(), text="Part")
    assert len(hits) == n_posts  # text queries go to the text side: the thin posts are there by their predicted text
    assert {hit.post_id for hit in hits if hit.text_predicted} == set(thin)
    assert all(hit.as_dict()["text_predicted"] == (hit.post_id in thin) for hit in hits)


def test_what_was_hashed_is_what_predicts(home, trained):
    """A training run replacing the checkpoint mid-embedding cannot make rows carry the old fingerprint
    with the new model's predictions: the predictor keeps the bytes it hashed."""
    instance, thin = trained
    predictor = find_predictor(home, create_encoder(ENCODER, home=home.root))
    before = predictor.fingerprint("f")
    checkpoint_path(home, "offline").write_bytes(b"replaced by another run")
    posts = {item.post.post_id: item.post for item in posts_of_date(home, date.fromisoformat(DAY))}
    assert predictor.predict([posts[thin[0]]]).shape[0] == 1 and predictor.fingerprint("f") == before


def test_a_checkpoint_only_applies_to_encoders_of_its_text_space(home, trained):
    assert find_predictor(home, create_encoder(ENCODER, home=home.root)) is not None
    assert find_predictor(home, create_encoder("clip-tiny", home=home.root)) is None  # paper's space, not trained
    assert find_predictor(home, create_encoder("vit-tiny", home=home.root)) is None  # no text part to replace
    assert find_predictor(home, create_encoder("default-tiny", home=home.root)).checkpoint == checkpoint_path(home, "offline")
    save_config(EncoderConfig("default-tiny-other", "default", {"tiny": True, "seed": 7}), home.root)
    assert find_predictor(home, create_encoder("default-tiny-other", home=home.root)) is None  # other weights
