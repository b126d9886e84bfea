"""The ensemble: fit Models A and B, choose their weight on validation, evaluate, predict, checkpoint.

``alpha * A + (1 - alpha) * B``, renormalized, with ``alpha`` the grid value (0, 0.1, ..., 1) with the
best mean cosine on the validation split. Evaluation is the mean cosine to the true text embedding
over the test split's pairs (one per photo), for A, B, the ensemble and a baseline: the zero-shot CLIP
image embedding for ``paper``; for ``offline``, whose towers do not share a space, the mean training
text embedding ("predict the average post").

Importing this module is cheap; torch loads on first use.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from c2c_assets.encoders.base import EncoderError, PostInput, RuntimeSettings, l2_normalize, mean_of_images
from c2c_assets.image_to_text.backbones import CONFIGURATIONS, Backbone, build_backbone
from c2c_assets.image_to_text.config import ALPHA_GRID, MethodConfig, preset
from c2c_assets.image_to_text.data import Pair, Split, build_pairs, needs_predicted_text, split_by_post
from c2c_assets.image_to_text.model_b import KnnTextModel
from c2c_assets.storage import Location, location, write_atomic

if TYPE_CHECKING:
    from c2c_assets.image_to_text.model_a import TextPredictor, TrainHistory

__all__ = [
    "ALPHA_GRID", "CONFIGURATIONS", "EvalRow", "EvalTable", "ImageToTextModels", "KnnTextModel", "MethodConfig", "Pair",
    "Split", "build_pairs", "choose_alpha", "combine", "evaluate", "fit", "load_checkpoint", "needs_predicted_text",
    "predict_for_posts", "predict_text_embeddings", "preset", "run", "save_checkpoint", "split_by_post",
]

CHECKPOINT_FORMAT = 1


def combine(pred_a: np.ndarray, pred_b: np.ndarray, alpha: float) -> np.ndarray:
    """The ensemble: ``alpha * A + (1 - alpha) * B`` of unit predictions, renormalized."""
    return l2_normalize(alpha * l2_normalize(pred_a) + (1 - alpha) * l2_normalize(pred_b))


def _mean_cosine(predicted: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean(np.sum(l2_normalize(predicted) * l2_normalize(targets), axis=1)))


def choose_alpha(
    pred_a: np.ndarray, pred_b: np.ndarray, targets: np.ndarray, grid: Sequence[float] = ALPHA_GRID
) -> tuple[float, dict[float, float]]:
    """The grid value whose ensemble has the best mean cosine to ``targets`` (ties: the first), and every score."""
    scores = {float(alpha): _mean_cosine(combine(pred_a, pred_b, alpha), targets) for alpha in grid}
    return max(scores, key=lambda alpha: scores[alpha]), scores  # max keeps the first of equal scores


@dataclass
class ImageToTextModels:
    """The fitted ensemble: the fine-tuned Model A, Model B over the training posts, and ``alpha``."""

    config: MethodConfig
    backbone: Backbone
    model_a: TextPredictor
    model_b: KnnTextModel
    alpha: float
    mean_train_text: np.ndarray  # the "average post" baseline
    runtime: RuntimeSettings
    alpha_scores: dict[float, float] = field(default_factory=dict)  # validation mean cosine per alpha
    history: TrainHistory | None = None  # None once loaded from a checkpoint

    @property
    def text_dim(self) -> int:
        return self.model_b.text_dim

    def frozen_features(self, photos: Sequence[Path]) -> np.ndarray:
        """The pretrained tower's unit features (Model B's keys; CLIP's image embedding for ``paper``)."""
        from c2c_assets.image_to_text.model_a import predict_photos

        return predict_photos(self.backbone.tower, self.backbone.preprocess, photos, self.runtime, self.backbone.device)

    def predict_a(self, photos: Sequence[Path]) -> np.ndarray:
        from c2c_assets.image_to_text.model_a import predict_photos

        return predict_photos(self.model_a, self.backbone.preprocess, photos, self.runtime, self.backbone.device)

    def predict_b(self, photos: Sequence[Path], features: np.ndarray | None = None) -> np.ndarray:
        return self.model_b.predict(self.frozen_features(photos) if features is None else features)

    def predict(self, photos: Sequence[Path]) -> np.ndarray:
        """The ensemble's text embedding per photo: (N, text_dim) unit vectors."""
        return combine(self.predict_a(photos), self.predict_b(photos), self.alpha)


def fit(
    split: Split, config: MethodConfig, runtime: RuntimeSettings | None = None, log: Callable[[str], None] = lambda _: None,
    home: Path | None = None,
) -> ImageToTextModels:
    """Train Model A, index Model B on the training posts, and choose ``alpha`` on validation."""
    from c2c_assets.image_to_text.model_a import predict_photos, train_model_a

    runtime = runtime or RuntimeSettings()
    backbone = build_backbone(config.configuration, config.backbone_options(), runtime, home)
    targets = np.stack([pair.target for pair in split.train])
    if targets.shape[1] != backbone.text_dim:
        raise ValueError(
            f"targets are {targets.shape[1]}-d but the {config.configuration} configuration's text embeddings are "
            f"{backbone.text_dim}-d: embed the texts with its text tower (backbone.embed_texts)"
        )
    model_a, history = train_model_a(backbone, split.train, split.val, config, runtime, log)
    features = predict_photos(backbone.tower, backbone.preprocess, [p.photo for p in split.train], runtime, backbone.device)
    model_b = KnnTextModel(config.k, config.temperature).fit(features, targets, [p.post_id for p in split.train])
    models = ImageToTextModels(
        config, backbone, model_a, model_b, alpha=1.0, mean_train_text=l2_normalize(targets.mean(axis=0)),
        runtime=runtime, history=history,
    )
    val_photos = [pair.photo for pair in split.val]
    models.alpha, models.alpha_scores = choose_alpha(
        models.predict_a(val_photos), models.predict_b(val_photos), np.stack([p.target for p in split.val]), config.alpha_grid
    )
    return models


@dataclass(frozen=True)
class EvalRow:
    name: str  # model_a | model_b | ensemble | baseline
    mean_cosine: float
    description: str


@dataclass(frozen=True)
class EvalTable:
    configuration: str
    n_pairs: int
    alpha: float
    rows: tuple[EvalRow, ...]

    def __getitem__(self, name: str) -> float:
        return next(row.mean_cosine for row in self.rows if row.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {"configuration": self.configuration, "n_pairs": self.n_pairs, "alpha": self.alpha,
                "rows": [{"name": r.name, "mean_cosine": r.mean_cosine, "description": r.description} for r in self.rows]}

    def __str__(self) -> str:
        lines = [f"{self.configuration}: mean cosine on {self.n_pairs} test pairs (alpha={self.alpha:g})"]
        lines += [f"  {row.name:<9} {row.mean_cosine:7.4f}  {row.description}" for row in self.rows]
        return "\n".join(lines)


def evaluate(models: ImageToTextModels, test: Sequence[Pair]) -> EvalTable:
    """Mean cosine similarity to the true text embedding over ``test`` (one term per pair, i.e. photo)."""
    if not test:
        raise ValueError("no test pairs to evaluate on")
    photos, targets = [pair.photo for pair in test], np.stack([pair.target for pair in test])
    features = models.frozen_features(photos)  # once for Model B and the zero-shot baseline
    pred_a, pred_b = models.predict_a(photos), models.predict_b(photos, features)
    if models.backbone.shared_space:
        baseline = features
    else:
        baseline = np.broadcast_to(models.mean_train_text, targets.shape)
    description = CONFIGURATIONS[models.config.configuration].baseline
    rows = (
        EvalRow("model_a", _mean_cosine(pred_a, targets), "fine-tuned tower + FC/LayerNorm head"),
        EvalRow("model_b", _mean_cosine(pred_b, targets), f"KNN over training posts (k={models.model_b.k})"),
        EvalRow("ensemble", _mean_cosine(combine(pred_a, pred_b, models.alpha), targets), f"alpha={models.alpha:g} chosen on validation"),
        EvalRow("baseline", _mean_cosine(baseline, targets), description),
    )
    return EvalTable(models.config.configuration, len(test), models.alpha, rows)


def run(
    pairs: Sequence[Pair], config: MethodConfig, runtime: RuntimeSettings | None = None, log: Callable[[str], None] = lambda _: None,
    home: Path | None = None,
) -> tuple[ImageToTextModels, EvalTable]:
    """Split by post (seeded by ``config.seed``), fit, and evaluate on the test split; ``home`` (a C2C home's
    root) holds the towers' model caches."""
    split = split_by_post(pairs, config.seed)
    log(f"split by post: {len(split.train)} train, {len(split.val)} validation, {len(split.test)} test pairs")
    models = fit(split, config, runtime, log, home)
    return models, evaluate(models, split.test)


def predict_text_embeddings(models: ImageToTextModels, photo_paths_per_post: Sequence[Sequence[Path | str]]) -> np.ndarray:
    """Per post, the ensemble's text embedding: the normalized mean of its photos' predictions,
    (N, text_dim); a NaN row for a post without photos."""
    photos = [location(path) for paths in photo_paths_per_post for path in paths]
    per_photo = models.predict(photos) if photos else np.zeros((0, models.text_dim), dtype=np.float32)
    return mean_of_images(per_photo, [len(paths) for paths in photo_paths_per_post])


def predict_for_posts(models: ImageToTextModels, posts: Iterable[PostInput], min_chars: int = 20) -> dict[str, np.ndarray]:
    """Predicted text embeddings for the posts that need one (``needs_predicted_text``) and have photos."""
    wanted = [post for post in posts if post.image_paths and needs_predicted_text(post.title, post.description, min_chars)]
    if not wanted:
        return {}
    vectors = predict_text_embeddings(models, [post.image_paths for post in wanted])
    return {post.post_id: vector for post, vector in zip(wanted, vectors, strict=True)}


def save_checkpoint(models: ImageToTextModels, path: Location | str) -> Location:
    """One ``torch.save`` file: Model A's ``state_dict``, Model B's index data, ``alpha``, and the config as
    JSON. Published whole (``storage.write_atomic``), so a reader never sees half a checkpoint, wherever it
    lives. The frozen tower is not stored: it is rebuilt from the config and checked against ``weights_identity``."""
    import torch

    path = location(path)
    knn = models.model_b.state()
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config": models.config.to_json(),
        "weights_identity": models.backbone.weights_identity,
        "alpha": float(models.alpha),
        "alpha_scores": json.dumps({str(a): s for a, s in models.alpha_scores.items()}),
        "mean_train_text": torch.from_numpy(np.ascontiguousarray(models.mean_train_text)),
        "model_a": {name: value.detach().cpu() for name, value in models.model_a.state_dict().items()},
        "model_b": {**knn, **{key: torch.from_numpy(np.ascontiguousarray(knn[key])) for key in ("keys", "post_of_key", "texts")}},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, buffer.getvalue())
    return path


def read_checkpoint(source: Location | str | bytes) -> dict[str, Any]:
    """A checkpoint's payload (tensors and plain values only: ``weights_only``), from a file or its bytes."""
    import torch

    if not isinstance(source, bytes):
        source = location(source).read_bytes()
    payload = torch.load(io.BytesIO(source), map_location="cpu", weights_only=True)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise EncoderError(f"not an image-to-text checkpoint of format {CHECKPOINT_FORMAT}")
    return payload


def load_checkpoint(
    source: Location | str | bytes | dict[str, Any], runtime: RuntimeSettings | None = None, home: Path | None = None
) -> ImageToTextModels:
    """The fitted ensemble from a checkpoint file, its bytes, or the payload ``read_checkpoint`` made of them."""
    from c2c_assets.image_to_text.model_a import new_predictor

    runtime = runtime or RuntimeSettings()
    payload = source if isinstance(source, dict) else read_checkpoint(source)
    path = "checkpoint" if isinstance(source, bytes | dict) else source  # for messages
    config = MethodConfig.from_json(payload["config"])
    backbone = build_backbone(config.configuration, config.backbone_options(), runtime, home)
    if backbone.weights_identity != payload["weights_identity"]:
        raise EncoderError(
            f"{path}: trained on tower weights {payload['weights_identity']!r}, but the config now builds "
            f"{backbone.weights_identity!r}; Model B's keys would not match"
        )
    knn = payload["model_b"]
    model_b = KnnTextModel.from_state({**knn, **{key: knn[key].numpy() for key in ("keys", "post_of_key", "texts")}})
    model_a = new_predictor(backbone, config.hidden_dim, model_b.text_dim)
    model_a.load_state_dict(payload["model_a"])
    model_a.eval()
    return ImageToTextModels(
        config, backbone, model_a, model_b, alpha=float(payload["alpha"]),
        mean_train_text=payload["mean_train_text"].numpy(), runtime=runtime,
        alpha_scores={float(a): s for a, s in json.loads(payload["alpha_scores"]).items()},
    )
