"""The two configurations' image towers and text embedders, built by the encoder modules (no copies).

- ``paper``: the CLIP vision tower from open_clip (``encoders.clip``), targets are CLIP text embeddings.
  The tower's output is CLIP's image embedding, in the same space as the text embeddings: the
  zero-shot baseline is the image embedding itself.
- ``offline``: the EfficientNet-Lite0 torch tower of the default encoder (``encoders.default``), its
  1280-d pooled features, with targets from the default encoder's text side
  (multilingual-e5-small passages since issue 15; 384-d). The spaces differ: no zero-shot.

``tiny`` variants use the encoders' own tiny random towers (CLIP: 32-d, 32-px photos; EfficientNet-Lite:
32-d, 64-px photos; text 32-d and 16-d), seeded, for tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from c2c_assets.encoders.base import EncoderError, RuntimeSettings, resolve_device
from c2c_assets.image_to_text.data import Preprocess
from c2c_assets.storage import open_image

if TYPE_CHECKING:
    import torch


@dataclass
class Backbone:
    """What a configuration provides: a pretrained image tower (frozen here; Model A fine-tunes a copy),
    its photo preprocessing, and the text embedder whose vectors are the targets."""

    configuration: str
    tower: torch.nn.Module  # on ``device``; normalized pixels -> (N, feature_dim) features
    preprocess: Preprocess
    feature_dim: int
    text_dim: int
    embed_texts: Callable[[Sequence[str]], np.ndarray]  # texts -> (N, text_dim) unit vectors
    shared_space: bool  # tower features and text embeddings are one space (CLIP): zero-shot is possible
    weights_identity: str  # identifies the pretrained weights (or the tiny seed); checked when loading
    device: torch.device


@dataclass(frozen=True)
class Configuration:
    name: str
    description: str
    build: Callable[[dict[str, Any], RuntimeSettings, Path | None], Backbone]
    baseline: str  # what the evaluation's baseline row measures
    encoder_family: str  # the encoder family whose text embeddings are the targets (and get predictions)


def _frozen(tower: torch.nn.Module) -> torch.nn.Module:
    tower.eval()
    tower.requires_grad_(False)
    return tower


def _clip_pixels(transform: Callable[[Any], torch.Tensor], path: Path) -> torch.Tensor:

    try:
        with open_image(path) as image:
            return transform(image.convert("RGB"))
    except (OSError, ValueError) as exc:
        raise EncoderError(f"cannot read photo {path}: {exc}") from exc


def _efficientnet_pixels(size: int, path: Path) -> torch.Tensor:
    import torch

    from c2c_assets.encoders.default import load_pixels, model_input

    return torch.from_numpy(model_input([load_pixels(path, size)])[0])


def build_paper(options: dict[str, Any], runtime: RuntimeSettings, home: Path | None = None) -> Backbone:
    from c2c_assets.encoders.clip import ClipEncoder

    encoder = ClipEncoder("image-to-text-paper", options, runtime, home)
    # ``_loaded`` is private to the clip module, but it is the one place that resolves the weights file,
    # the pretrained tag's preprocessing and QuickGELU; calling it keeps the towers identical to the encoder's.
    model, transform, _, device = encoder._loaded
    return Backbone(
        configuration="paper",
        tower=_frozen(model.visual),  # encode_image(x) is visual(x): the image embedding, unnormalized
        preprocess=partial(_clip_pixels, transform),
        feature_dim=encoder.width,
        text_dim=encoder.width,
        embed_texts=encoder.embed_texts,
        shared_space=True,
        weights_identity=encoder.weights_identity(),
        device=device,
    )


def build_offline(options: dict[str, Any], runtime: RuntimeSettings, home: Path | None = None) -> Backbone:
    from c2c_assets.encoders.default import DefaultEncoder

    # The text tower runs in ONNX Runtime, which picks CUDA itself when its build has it ("auto"); an
    # explicit cuda device is for the torch photo tower and must not fail on a CPU-only onnxruntime.
    encoder = DefaultEncoder("image-to-text-offline", options, runtime.model_copy(update={"device": "auto"}), home)
    device = resolve_device(runtime.device)
    return Backbone(
        configuration="offline",
        tower=_frozen(encoder.towers.image_module()).to(device),
        preprocess=partial(_efficientnet_pixels, encoder.towers.image_size),
        feature_dim=encoder.towers.image_dim,
        text_dim=encoder.towers.text_dim,
        embed_texts=encoder.embed_passages,  # post texts, the side the predictions replace (e5: passage prefix)
        shared_space=False,
        weights_identity=encoder.weights_identity(),
        device=device,
    )


CONFIGURATIONS: dict[str, Configuration] = {
    c.name: c
    for c in [
        Configuration(
            "paper",
            "CLIP vision tower (open_clip) -> CLIP text embeddings, as in the paper",
            build_paper,
            "zero-shot: the CLIP image embedding itself (image and text towers share a space)",
            "clip",
        ),
        Configuration(
            "offline",
            "EfficientNet-Lite0 tower (default encoder) -> its text side's embeddings (multilingual-e5-small), offline weights",
            build_offline,
            "no zero-shot possible (separate spaces): the mean training text embedding, i.e. predict the average post",
            "default",
        ),
    ]
}


def build_backbone(configuration: str, options: dict[str, Any], runtime: RuntimeSettings, home: Path | None = None) -> Backbone:
    """The configuration's towers; ``home`` (a C2C home's root) holds their model caches (the default tower's ONNX export)."""
    if configuration not in CONFIGURATIONS:
        raise EncoderError(f"unknown image-to-text configuration {configuration!r}; known: {sorted(CONFIGURATIONS)}")
    return CONFIGURATIONS[configuration].build(dict(options), runtime, home)
