"""The ``vit`` and ``clip`` encoder families, on tiny random configs (CPU, no weights, no network)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from c2c_assets.encoders import EncoderConfig, EncoderError, RuntimeSettings, create_encoder
from c2c_assets.encoders.base import Encoder, PostInput, WeightsNotFound, l2_normalize
from c2c_assets_tests.fixtures import EXAMPLE_INBOX

os.environ["HF_HUB_OFFLINE"] = "1"  # before timm/open_clip import huggingface_hub, which reads it once
PHOTOS = sorted(EXAMPLE_INBOX.glob("*/2024-03-01/images/*"))
CPU = RuntimeSettings(device="cpu", batch_size=8)


def encoder(family: str, runtime: RuntimeSettings = CPU, **options: Any) -> Encoder:
    return create_encoder(EncoderConfig(f"{family}-test", family, {"tiny": True, **options}), runtime)


def post(post_id: str, photos: list[Path], title: str = "", description: str = "") -> PostInput:
    return PostInput(post_id, title, description, tuple(photos))


@pytest.fixture(scope="module")
def vit() -> Encoder:
    return encoder("vit")


@pytest.fixture(scope="module")
def clip() -> Encoder:
    return encoder("clip")


def test_photos_are_there() -> None:
    assert len(PHOTOS) >= 8, f"expected example photos under {EXAMPLE_INBOX}/*/2024-03-01/images"


@pytest.mark.parametrize(("family", "width"), [("vit", 64), ("clip", 32)])
def test_photo_vectors_are_unit_float32(family: str, width: int, request: pytest.FixtureRequest) -> None:
    enc: Encoder = request.getfixturevalue(family)
    vectors = enc.embed_images(PHOTOS)
    assert enc.width == width
    assert vectors.shape == (len(PHOTOS), width) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert enc.embed_images([]).shape == (0, width)


def test_clip_text_vectors_are_unit_and_long_texts_are_truncated(clip: Encoder) -> None:
    vectors = clip.embed_texts(["alternator for a 2004 civic", "brake pads " * 200])
    assert vectors.shape == (2, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("family", ["vit", "clip"])
def test_same_seed_same_vectors(family: str, request: pytest.FixtureRequest) -> None:
    first = request.getfixturevalue(family).embed_images(PHOTOS[:3])
    np.testing.assert_array_equal(encoder(family).embed_images(PHOTOS[:3]), first)
    assert not np.allclose(encoder(family, seed=1).embed_images(PHOTOS[:3]), first)


@pytest.mark.parametrize("family", ["vit", "clip"])
def test_post_vector_is_normalized_mean_of_photo_vectors(family: str, request: pytest.FixtureRequest) -> None:
    enc: Encoder = request.getfixturevalue(family)
    a, b, c = PHOTOS[:3]
    out = enc.embed_posts([post("two", [a, b]), post("one", [c])])
    expected = l2_normalize(enc.embed_images([a])[0] + enc.embed_images([b])[0])  # each already unit
    np.testing.assert_allclose(out.vectors[0], expected, atol=1e-5)
    np.testing.assert_allclose(out.vectors[1], enc.embed_images([c])[0], atol=1e-5)
    np.testing.assert_allclose(out.parts["image"], out.vectors, atol=1e-6)


def test_vit_photo_less_post_gets_a_nan_row(vit: Encoder) -> None:
    out = vit.embed_posts([post("photo", PHOTOS[:1], "Alternator"), post("text only", [], "Alternator", "fits civic")])
    assert np.isfinite(out.vectors[0]).all() and np.isnan(out.vectors[1]).all()
    assert np.isnan(out.parts["image"][1]).all()
    assert np.isnan(vit.embed_posts([post("none", [])]).vectors).all()


def test_clip_fuses_text_and_photos_and_keeps_single_sides(clip: Encoder) -> None:
    text = "Alternator. Used, fits 2004 civic"
    posts = [
        post("both", PHOTOS[:2], "Alternator", "Used, fits 2004 civic"),
        post("text only", [], "Alternator", "Used, fits 2004 civic"),
        post("photos only", PHOTOS[:2]),
        post("nothing", []),
    ]
    out = clip.embed_posts(posts)
    text_vector = clip.embed_texts([text])[0]
    image_vector = l2_normalize(clip.embed_images(PHOTOS[:2]).mean(axis=0))
    assert posts[0].text == text
    np.testing.assert_allclose(out.vectors[0], l2_normalize(0.5 * image_vector + 0.5 * text_vector), atol=1e-5)
    np.testing.assert_allclose(out.vectors[1], text_vector, atol=1e-5)
    np.testing.assert_allclose(out.vectors[2], image_vector, atol=1e-5)
    assert np.isnan(out.vectors[3]).all()
    assert np.isnan(out.parts["image"]).any(axis=1).tolist() == [False, True, False, True]
    assert np.isnan(out.parts["text"]).any(axis=1).tolist() == [False, False, True, True]
    image_heavy = encoder("clip", image_weight=0.9).embed_posts(posts[:1]).vectors[0]
    np.testing.assert_allclose(image_heavy, l2_normalize(0.9 * image_vector + 0.1 * text_vector), atol=1e-5)


def test_fingerprint_follows_options_not_runtime(tmp_path: Path) -> None:
    fake = tmp_path / "weights.bin"
    fake.write_bytes(b"not read by fingerprint")
    assert encoder("vit").fingerprint() != encoder("vit", model="vit_small_patch16_224").fingerprint()
    assert encoder("clip").fingerprint() != encoder("clip", image_weight=0.7).fingerprint()
    assert encoder("clip").fingerprint() != encoder("clip", seed=1).fingerprint()
    real = [
        create_encoder(EncoderConfig("c", "clip", {"model": m, "weights": str(fake)}))
        for m in ("ViT-B-32", "RN50")
    ]
    assert real[0].fingerprint() != real[1].fingerprint()
    other = RuntimeSettings(device="auto", batch_size=1, precision="fp32", num_workers=0)
    for family in ("vit", "clip"):
        assert encoder(family, CPU).fingerprint() == encoder(family, other).fingerprint()


@pytest.mark.parametrize("family", ["vit", "clip"])
def test_batch_size_does_not_change_results(family: str) -> None:
    one, eight = (encoder(family, RuntimeSettings(device="cpu", batch_size=size)) for size in (1, 8))
    np.testing.assert_allclose(one.embed_images(PHOTOS), eight.embed_images(PHOTOS), atol=1e-5)
    if family == "clip":
        texts = ["alternator", "brake pads for a civic", "used tyres 205/55 R16", "headlight"]
        np.testing.assert_allclose(one.embed_texts(texts), eight.embed_texts(texts), atol=1e-5)


@pytest.mark.parametrize(
    ("name", "default_file"), [("vit", "vit_base_patch16_224.safetensors"), ("clip", "open_clip_ViT-B-32.bin")]
)
def test_missing_real_weights_name_the_path(
    name: str, default_file: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C2C_WEIGHTS_DIR", str(tmp_path))
    with pytest.raises(WeightsNotFound) as caught:
        create_encoder(name, CPU)
    assert str(tmp_path / default_file) in str(caught.value)
    assert ("augreg2_in21k_ft_in1k" if name == "vit" else "laion2b_s34b_b79k") in str(caught.value)
    explicit = tmp_path / "elsewhere.bin"
    with pytest.raises(WeightsNotFound, match=str(explicit)):
        encoder(name, weights=str(explicit))


def test_vit_loads_a_timm_checkpoint_from_a_file(vit: Encoder, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "tiny-vit.safetensors"
    save_file(vit._loaded[0].state_dict(), str(path))  # type: ignore[attr-defined]
    loaded = encoder("vit", seed=7, weights=str(path))
    np.testing.assert_array_equal(loaded.embed_images(PHOTOS[:4]), vit.embed_images(PHOTOS[:4]))
    assert loaded.weights_identity() != vit.weights_identity() and not loaded.weights_identity().startswith("random")


def test_vit_rejects_a_checkpoint_of_another_format(vit: Encoder, tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "renamed.safetensors"
    save_file({f"vit.{k}": v for k, v in vit._loaded[0].state_dict().items()}, str(path))  # type: ignore[attr-defined]
    with pytest.raises(EncoderError, match="missing"):
        encoder("vit", weights=str(path)).embed_images(PHOTOS[:1])


def test_clip_loads_an_open_clip_checkpoint_from_a_file(clip: Encoder, tmp_path: Path) -> None:
    import torch

    path = tmp_path / "tiny-clip.bin"
    torch.save(clip._loaded[0].state_dict(), path)  # type: ignore[attr-defined]
    loaded = encoder("clip", seed=7, weights=str(path))
    np.testing.assert_array_equal(loaded.embed_images(PHOTOS[:4]), clip.embed_images(PHOTOS[:4]))
    np.testing.assert_array_equal(loaded.embed_texts(["alternator"]), clip.embed_texts(["alternator"]))


def test_bad_options_are_clear_errors() -> None:
    with pytest.raises(EncoderError, match="unknown option "):
        encoder("vit", image_weight=0.5)
    with pytest.raises(EncoderError, match="image_weight"):
        encoder("clip", image_weight=1.5)
    with pytest.raises(EncoderError, match="exclude"):
        encoder("clip", model="ViT-B-32")
    with pytest.raises(EncoderError, match="Hugging Face"):
        create_encoder(EncoderConfig("c", "clip", {"model": "ViT-B-16-SigLIP", "weights": __file__}))
    with pytest.raises(EncoderError, match="unknown pretrained tag"):
        create_encoder(EncoderConfig("c", "clip", {"tag": "nope", "weights": __file__}))
