"""The image-to-text ensemble on tiny random towers and synthetic photos (CPU, seconds).

Synthetic data with learnable structure: each post is one of three classes (a red circle, a green
square, a blue triangle at random places and sizes on a random grey), its photos are drawings of that
class, and its "text embedding" is the class's fixed unit vector plus noise.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before anything imports huggingface_hub, which reads it once

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from c2c_assets.encoders.base import EncoderError, PostInput, RuntimeSettings, l2_normalize
from c2c_assets.image_to_text import method
from c2c_assets.image_to_text.backbones import build_backbone
from c2c_assets.image_to_text.config import MethodConfig, preset
from c2c_assets.image_to_text.data import Pair, build_pairs, needs_predicted_text, split_by_post
from c2c_assets.image_to_text.model_a import make_optimizer, new_predictor
from c2c_assets.image_to_text.model_b import KnnTextModel

CPU = RuntimeSettings(device="cpu", batch_size=16)
COLOURS = [(220, 40, 40), (40, 180, 60), (50, 70, 220)]
TEXT_DIM = {"paper": 32, "offline": 16}  # the tiny configurations' text widths
FRACTIONS = (0.6, 0.2, 0.2)  # bigger validation and test splits than the default: steadier numbers


def draw(path: Path, shape: int, rng: np.random.Generator) -> Path:
    image = Image.new("RGB", (64, 64), tuple(int(v) for v in rng.integers(90, 160, 3)))
    canvas = ImageDraw.Draw(image)
    r = int(rng.integers(12, 22))
    cx, cy = (int(v) for v in rng.integers(r, 64 - r, 2))
    fill = tuple(int(np.clip(v + rng.integers(-20, 20), 0, 255)) for v in COLOURS[shape])
    box = (cx - r, cy - r, cx + r, cy + r)
    if shape == 0:
        canvas.ellipse(box, fill=fill)
    elif shape == 1:
        canvas.rectangle(box, fill=fill)
    else:
        canvas.polygon([(box[0], box[3]), (box[2], box[3]), (cx, box[1])], fill=fill)
    image.save(path)
    return path


def synthetic_pairs(folder: Path, dim: int, posts: int = 36, photos: int = 2, seed: int = 0) -> list[Pair]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.standard_normal((3, dim)))
    pairs = []
    for post in range(posts):
        shape = post % 3
        target = l2_normalize(centres[shape] + 0.4 * l2_normalize(rng.standard_normal(dim)))
        for photo in range(photos):
            pairs.append(Pair(f"post{post:02d}", draw(folder / f"{post}-{photo}.png", shape, rng), target))
    return pairs


def random_baseline(targets: np.ndarray, seed: int = 1) -> float:
    guesses = l2_normalize(np.random.default_rng(seed).standard_normal(targets.shape))
    return float(np.mean(np.sum(guesses * targets, axis=1)))


@pytest.fixture(scope="module")
def paper_split(tmp_path_factory: pytest.TempPathFactory) -> method.Split:
    return split_by_post(synthetic_pairs(tmp_path_factory.mktemp("paper"), TEXT_DIM["paper"]), 0, FRACTIONS)


@pytest.fixture(scope="module")
def paper_models(paper_split: method.Split) -> method.ImageToTextModels:
    return method.fit(paper_split, preset("paper", tiny=True), CPU)


# --- data ---------------------------------------------------------------------------------------------


def test_split_keeps_posts_together_and_is_deterministic(tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    pairs = [Pair(f"post{post}", photo, np.ones(4)) for post in range(40) for _ in range(post % 4 + 1)]
    split = split_by_post(pairs, seed=7)
    posts = [{pair.post_id for pair in part} for part in split]
    assert not (posts[0] & posts[1]) and not (posts[0] & posts[2]) and not (posts[1] & posts[2])
    assert sum(len(part) for part in split) == len(pairs)
    assert [len(p) for p in posts] == [32, 4, 4]
    again = split_by_post(list(reversed(pairs)), seed=7)  # input order does not matter
    assert [{p.post_id for p in part} for part in again] == posts
    assert [{p.post_id for p in part} for part in split_by_post(pairs, seed=8)] != posts
    small = split_by_post(pairs[:6], seed=0)  # 3 posts: rounding would leave val and test empty
    assert all(small)


def test_pair_targets_are_unit_float32(tmp_path: Path) -> None:
    pair = Pair("a", str(tmp_path / "x.png"), np.array([3.0, 4.0]))
    assert pair.target.dtype == np.float32 and np.allclose(pair.target, [0.6, 0.8]) and isinstance(pair.photo, Path)
    with pytest.raises(ValueError):
        Pair("a", tmp_path, np.zeros(3))


def test_needs_predicted_text() -> None:
    assert needs_predicted_text("", "")
    assert needs_predicted_text(None, None)
    assert needs_predicted_text("Bumper", "   \n  ")
    assert needs_predicted_text("Golf 4 mirror", "", min_chars=20)
    assert not needs_predicted_text("Front bumper", "Golf 4, 1998, silver", min_chars=20)
    assert not needs_predicted_text("abc", "", min_chars=3)


def test_build_pairs_one_per_photo_or_first(tmp_path: Path) -> None:
    seen: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        seen.append(list(texts))
        return np.stack([np.eye(4)[len(text) % 4] * 2 for text in texts])

    posts = [
        ("a", "Front bumper, Golf 4, silver", [tmp_path / "a1.jpg", tmp_path / "a2.jpg"]),
        ("b", "ok", [tmp_path / "b1.jpg"]),  # too short: a post to predict for, not a target
        ("c", "Headlight left, Passat B5 2001", []),  # no photo
        ("d", "Alloy wheels 16 inch, 5x112", [tmp_path / "d1.jpg"]),
    ]
    pairs = build_pairs(posts, embed)
    assert seen == [["Front bumper, Golf 4, silver", "Alloy wheels 16 inch, 5x112"]]  # one call, kept texts only
    assert [(p.post_id, p.photo.name) for p in pairs] == [("a", "a1.jpg"), ("a", "a2.jpg"), ("d", "d1.jpg")]
    assert np.allclose(np.linalg.norm(np.stack([p.target for p in pairs]), axis=1), 1)
    assert [(p.post_id, p.photo.name) for p in build_pairs(posts, embed, photos="first")] == [("a", "a1.jpg"), ("d", "d1.jpg")]


# --- Model A ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("configuration", ["paper", "offline"])
def test_learning_rate_groups(configuration: str) -> None:
    config = preset(configuration, tiny=True, lr_tower=1e-5, lr_head=1e-3)
    backbone = build_backbone(configuration, config.backbone_options(), CPU)
    model = new_predictor(backbone, config.hidden_dim, TEXT_DIM[configuration])
    groups = make_optimizer(model, config).param_groups
    assert [(g["name"], g["lr"]) for g in groups] == [("tower", 1e-5), ("head", 1e-3)]
    tower, head = ({id(p) for p in g["params"]} for g in groups)
    assert tower == {id(p) for p in model.tower.parameters()} and tower
    assert head == {id(p) for p in model.head.parameters()}
    assert not tower & head
    assert tower | head == {id(p) for p in model.parameters()}  # none left out
    assert len(tower) + len(head) == len(list(model.parameters()))
    # The head is FC1 -> Norm1 -> GELU -> FC2 -> Norm2; Model A fine-tunes a copy, the backbone stays frozen.
    assert [type(m).__name__ for m in model.head.children()] == ["Linear", "LayerNorm", "GELU", "Linear", "LayerNorm"]
    assert not any(p.requires_grad for p in backbone.tower.parameters())
    assert not {id(p) for p in backbone.tower.parameters()} & tower


def test_trained_model_a_beats_its_initial_weights(paper_models: method.ImageToTextModels) -> None:
    history = paper_models.history
    assert history is not None and history.best_epoch > 0
    assert history.best_val_cosine > history.initial_val_cosine + 0.2
    assert history.best_val_cosine == max(history.val_cosine)


def test_best_weights_are_restored(paper_models: method.ImageToTextModels, paper_split: method.Split) -> None:
    targets = np.stack([p.target for p in paper_split.val])
    cosine = float(np.mean(np.sum(paper_models.predict_a([p.photo for p in paper_split.val]) * targets, axis=1)))
    assert paper_models.history is not None
    assert cosine == pytest.approx(paper_models.history.best_val_cosine, abs=1e-5)


def test_training_is_deterministic(paper_models: method.ImageToTextModels, paper_split: method.Split) -> None:
    again = method.fit(paper_split, paper_models.config, CPU)
    first, second = paper_models.model_a.state_dict(), again.model_a.state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)
    assert again.history == paper_models.history and again.alpha_scores == paper_models.alpha_scores
    assert again.alpha == paper_models.alpha
    other = method.fit(paper_split, replace(paper_models.config, seed=1, epochs=1), CPU)
    assert not torch.equal(other.model_a.state_dict()["head.fc1.weight"], first["head.fc1.weight"])


# --- Model B, the ensemble, evaluation ----------------------------------------------------------------


def test_model_b_with_k1_returns_the_training_photos_own_text(
    paper_models: method.ImageToTextModels, paper_split: method.Split
) -> None:
    train = paper_split.train
    knn = KnnTextModel.from_state({**paper_models.model_b.state(), "k": 1})  # the fitted index, one neighbour
    predicted = knn.predict(paper_models.frozen_features([p.photo for p in train]))
    np.testing.assert_allclose(predicted, np.stack([p.target for p in train]), atol=1e-6)


def test_model_b_counts_a_post_once_and_weights_by_similarity() -> None:
    keys = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0]])  # two photos of post a, one of post b
    texts = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    knn = KnnTextModel(k=2, temperature=0.1).fit(keys, texts, ["a", "a", "b"])
    posts, sims = knn.neighbours(np.array([[1.0, 0.2]]))
    assert [knn.post_ids[p] for p in posts[0]] == ["a", "b"]  # a once, at its best photo, then b
    weights = np.exp(sims[0] / 0.1) / np.exp(sims[0] / 0.1).sum()
    expected = l2_normalize(weights[0] * texts[0] + weights[1] * texts[2])
    np.testing.assert_allclose(knn.predict(np.array([[1.0, 0.2]]))[0], expected, atol=1e-6)


def test_choose_alpha_picks_the_best_on_validation() -> None:
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.standard_normal((8, 8)))[0]
    a, b = basis[:, :4].T, basis[:, 4:].T  # each A row orthogonal to each B row
    targets = l2_normalize(0.3 * a + 0.7 * b)
    alpha, scores = method.choose_alpha(a, b, targets)
    assert alpha == 0.3 and scores[0.3] == pytest.approx(1.0)
    assert list(scores) == [round(0.1 * i, 1) for i in range(11)]
    assert scores[alpha] == max(scores.values())


def test_ensemble_beats_random_and_alpha_was_chosen_on_validation(
    paper_models: method.ImageToTextModels, paper_split: method.Split
) -> None:
    table = method.evaluate(paper_models, paper_split.test)
    targets = np.stack([p.target for p in paper_split.test])
    assert [row.name for row in table.rows] == ["model_a", "model_b", "ensemble", "baseline"]
    assert table["ensemble"] > random_baseline(targets) + 0.4
    assert table["model_a"] > 0.3 and table["model_b"] > 0.3
    assert "zero-shot" in table.rows[3].description
    assert paper_models.alpha_scores[paper_models.alpha] == max(paper_models.alpha_scores.values())
    assert table.as_dict()["alpha"] == paper_models.alpha


def test_offline_configuration_end_to_end(tmp_path: Path) -> None:
    pairs = synthetic_pairs(tmp_path, TEXT_DIM["offline"], posts=30)
    split = split_by_post(pairs, 0, FRACTIONS)
    models = method.fit(split, preset("offline", tiny=True, epochs=3), CPU)
    table = method.evaluate(models, split.test)
    targets = np.stack([p.target for p in split.test])
    assert table["ensemble"] > random_baseline(targets) + 0.3
    assert "average post" in table.rows[3].description
    mean_text = l2_normalize(np.stack([p.target for p in split.train]).mean(axis=0))
    assert table["baseline"] == pytest.approx(float(np.mean(targets @ mean_text)), abs=1e-5)


def test_predict_text_embeddings_per_post(paper_models: method.ImageToTextModels, paper_split: method.Split) -> None:
    photos = [p.photo for p in paper_split.test]
    vectors = method.predict_text_embeddings(paper_models, [photos[:2], [], photos[2:3]])
    assert vectors.shape == (3, TEXT_DIM["paper"])
    assert np.isnan(vectors[1]).all()
    per_photo = paper_models.predict(photos[:3])
    np.testing.assert_allclose(vectors[0], l2_normalize(per_photo[:2].mean(axis=0)), atol=1e-6)
    np.testing.assert_allclose(vectors[2], per_photo[2], atol=1e-6)
    posts = [PostInput("short", "Mirror", "", (photos[0],)), PostInput("long", "Left mirror for a Golf 4", "ok", (photos[0],))]
    assert list(method.predict_for_posts(paper_models, posts)) == ["short"]


def test_checkpoint_round_trip(paper_models: method.ImageToTextModels, paper_split: method.Split, tmp_path: Path) -> None:
    path = method.save_checkpoint(paper_models, tmp_path / "ckpt" / "image-to-text.pt")
    assert [p.name for p in path.parent.iterdir()] == ["image-to-text.pt"]  # no temporary file left behind
    assert torch.load(path, weights_only=True)["config"] == paper_models.config.to_json()
    loaded = method.load_checkpoint(path, CPU)
    assert loaded.config == paper_models.config and loaded.alpha == paper_models.alpha
    photos = [p.photo for p in paper_split.test]
    assert np.array_equal(loaded.predict(photos), paper_models.predict(photos))
    # Decoding in DataLoader workers (batch 4: enough photos to start them) changes nothing.
    workers = method.load_checkpoint(path, RuntimeSettings(device="cpu", batch_size=4, num_workers=2))
    np.testing.assert_allclose(workers.predict(photos), paper_models.predict(photos), atol=1e-6)


def test_config_round_trips_through_json() -> None:
    config = preset("offline", tiny=True, alpha_grid=(0.0, 0.5, 1.0), encoder_options={"image_weight": 0.5})
    assert MethodConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError):
        MethodConfig(k=0)


@pytest.mark.parametrize("configuration", ["paper", "offline"])
def test_training_runs_where_the_device_setting_says(configuration: str) -> None:
    """The encoders' device setting: ``auto`` takes CUDA when there is one, an explicit CUDA device on a
    machine without one is a clear error, not a silent CPU run."""
    auto = build_backbone(configuration, {"tiny": True}, RuntimeSettings(device="auto"))
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert auto.device.type == expected and {p.device.type for p in auto.tower.parameters()} == {expected}
    model = new_predictor(auto, 8, auto.text_dim)
    assert {p.device.type for p in model.parameters()} == {expected}
    if not torch.cuda.is_available():
        with pytest.raises(EncoderError, match="CUDA is not available"):
            build_backbone(configuration, {"tiny": True}, RuntimeSettings(device="cuda"))
