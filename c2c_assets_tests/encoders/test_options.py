"""Encoder options are pydantic models per family; query sides and ``photos: first`` live on the classes;
model caches follow the home the caller gives."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from c2c_assets.encoders import (
    FAMILIES,
    QUERY_KINDS,
    EncoderConfig,
    EncoderError,
    EncoderOptions,
    PostInput,
    RuntimeSettings,
    create_encoder,
    encoder_class,
    encoder_configs,
    options_model,
    query_side,
    save_config,
    validate_options,
)
from c2c_assets.encoders import default as default_family
from c2c_assets.encoders.base import IMAGE, TEXT
from c2c_assets_tests.fixtures import EXAMPLE_INBOX

CPU = RuntimeSettings(device="cpu", batch_size=4)
PHOTOS = sorted(EXAMPLE_INBOX.glob("*/2024-03-01/images/*"))


def check(family: str, options: dict[str, Any]) -> str:
    with pytest.raises(EncoderError) as raised:
        validate_options(EncoderConfig("x", family, options))
    return str(raised.value)


def test_every_family_has_a_strict_options_model() -> None:
    for family in FAMILIES:
        model = options_model(family)
        assert issubclass(model, EncoderOptions) and encoder_class(family).family == family
        assert model.model_config["extra"] == "forbid" and model.model_config["frozen"]
        assert "photos" in model.model_fields and model().photos == "all"


@pytest.mark.parametrize(
    ("family", "options", "message"),
    [
        ("openflamingo", {"strategy": "mean"},
         "encoder 'x' (openflamingo): option strategy: input should be 'first', 'interleaved' or 'per_image_mean', got 'mean'"),
        ("vit", {"foo": 1}, "encoder 'x' (vit): unknown option 'foo'; options: model, photos, seed, tiny, weights"),
        ("default", {"tiny": True, "image_weight": 1.5},
         "encoder 'x' (default): option image_weight: input should be a number in [0, 1], got 1.5"),
        ("clip", {"image_weight": "half"}, "encoder 'x' (clip): option image_weight: input should be a number in [0, 1], got 'half'"),
        ("imagebind", {"image_weight": True}, "encoder 'x' (imagebind): option image_weight: input should be a number in [0, 1], got True"),
        ("default", {"photos": "some"}, "encoder 'x' (default): option photos: input should be 'all' or 'first', got 'some'"),
        ("default", {"tiny": "yes"}, "encoder 'x' (default): option tiny: input should be true or false, got 'yes'"),
        ("openflamingo", {"max_tokens": 0}, "encoder 'x' (openflamingo): option max_tokens: input should be an integer >= 1, got 0"),
        ("vit", {"seed": "1"}, "encoder 'x' (vit): option seed: input should be a valid integer, got '1'"),
    ],
)
def test_a_bad_option_is_one_clear_line(family: str, options: dict[str, Any], message: str) -> None:
    assert check(family, options) == message


def test_rules_across_options() -> None:
    assert check("clip", {"tiny": True, "model": "ViT-B-32"}) == "encoder 'x' (clip): `tiny` and `model` exclude each other"
    assert "seed only applies to tiny towers" in check("default", {"seed": 1})
    assert "take no weights" in check("default", {"tiny": True, "text_weights": "/x"})
    assert "`tiny` excludes the real-model options" in check("openflamingo", {"tiny": True, "checkpoint": "x.pt"})


def test_the_same_errors_at_creation() -> None:
    with pytest.raises(EncoderError, match=r"^encoder 'mine' \(openflamingo\): option strategy: input should be"):
        create_encoder(EncoderConfig("mine", "openflamingo", {"tiny": True, "strategy": "mean"}))


def test_options_keep_what_was_given_and_the_model_holds_the_values() -> None:
    given = {"tiny": True, "image_weight": 1, "seed": 3}
    encoder = create_encoder(EncoderConfig("x", "clip", given), CPU)
    assert encoder.options == given and type(encoder.options["image_weight"]) is int  # hashed as given
    assert encoder.opts.image_weight == 1.0 and encoder.opts.seed == 3 and encoder.image_weight == 1.0
    assert create_encoder(EncoderConfig("x", "vit", {"tiny": True, "photos": "all"})).options == {"tiny": True}
    assert create_encoder(EncoderConfig("x", "vit", {"tiny": True, "photos": "first"})).options == {"tiny": True, "photos": "first"}
    with_path = create_encoder(EncoderConfig("x", "imagebind", {"tiny": True, "weights": Path(__file__)}))
    assert with_path.opts.weights == __file__  # a Path given from Python is taken as its string


def test_query_sides_are_the_classes() -> None:
    expected = {
        "default": {"text": "text", "image": "image", "like": "post"},
        "clip": {"text": "image", "image": "image", "like": "post"},
        "imagebind": {"text": "image", "image": "image", "audio": "image", "like": "post"},
        "vit": {"image": "post", "like": "post"},
        "openflamingo": {"text": "post", "like": "post"},
    }
    for family, sides in expected.items():
        assert dict(encoder_class(family).query_sides) == sides
        for kind in QUERY_KINDS:
            if kind in sides:
                assert query_side(family, kind) == sides[kind]
            else:
                with pytest.raises(EncoderError, match=f"^{family} encoders cannot answer {kind} queries$"):
                    query_side(family, kind)
    assert query_side(encoder_configs()["clip-tiny"], "text") == "image"
    assert query_side(create_encoder("vit-tiny"), "like") == "post"
    with pytest.raises(EncoderError, match="unknown encoder family"):
        query_side("nope", "text")


def test_query_side_loads_no_model_and_imports_no_torch() -> None:
    code = (
        "import sys\n"
        "from c2c_assets.encoders import FAMILIES, QUERY_KINDS, EncoderError, options_model, query_side\n"
        "for family in FAMILIES:\n"
        "    options_model(family)\n"
        "    for kind in QUERY_KINDS:\n"
        "        try:\n"
        "            query_side(family, kind)\n"
        "        except EncoderError:\n"
        "            pass\n"
        "print(sorted(m for m in ('torch', 'timm', 'open_clip', 'open_flamingo', 'sentence_transformers') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_prepare_posts_applies_photos_first() -> None:
    posts = [PostInput("p", "lamp", "", (Path("a.jpg"), Path("b.jpg"))), PostInput("q", "tyre", "")]
    first = create_encoder(EncoderConfig("x", "vit", {"tiny": True, "photos": "first"}))
    assert [post.image_paths for post in first.prepare_posts(posts)] == [(Path("a.jpg"),), ()]
    assert [post.post_id for post in first.prepare_posts(posts)] == ["p", "q"]
    every = create_encoder("vit-tiny")
    assert every.prepare_posts(posts) == posts and every.prepare_posts(posts) is not posts


def test_save_config_validates_the_options(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="option image_weight: input should be a number in"):
        save_config(EncoderConfig("clip-heavy", "clip", {"tiny": True, "image_weight": 2}), tmp_path)
    with pytest.raises(EncoderError, match="unknown option 'strategy'"):
        save_config(EncoderConfig("vit-mean", "vit", {"strategy": "first"}), tmp_path)
    assert not (tmp_path / "encoders.json").exists()
    # Weights are not looked for when saving: a real config can be registered before its file is there.
    save_config(EncoderConfig("clip-l14", "clip", {"model": "ViT-L-14", "image_weight": 0.7}), tmp_path)
    saved = json.loads((tmp_path / "encoders.json").read_text())
    assert saved["clip-l14"]["options"] == {"model": "ViT-L-14", "image_weight": 0.7}


def test_onnx_exports_go_to_the_given_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_home, first, second = tmp_path / "env", tmp_path / "first", tmp_path / "second"
    monkeypatch.setenv("C2C_HOME", str(env_home))
    post = PostInput("p", "rear bumper", "", (PHOTOS[0],))
    vectors = []
    for home in (first, second):
        encoder = create_encoder("default-tiny", CPU, home=home)
        assert isinstance(encoder, default_family.DefaultEncoder)
        assert encoder.models_dir() == home.resolve() / "models"
        vectors.append(encoder.embed_posts([post]).vectors)
        exported = sorted(path.name for path in (home / "models").iterdir())
        assert exported == sorted(encoder.towers.onnx_path(tower).name for tower in (IMAGE, TEXT))
    assert not env_home.exists()  # C2C_HOME is not where a given home's caches go
    assert (vectors[0] == vectors[1]).all()
    # Without a home, and only then, the cache is C2cHome.from_env()'s.
    fallback = create_encoder("default-tiny", CPU)
    assert fallback.towers.onnx_path(IMAGE).parent == env_home.resolve() / "models"
