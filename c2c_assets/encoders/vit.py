"""Family ``vit``: a timm Vision Transformer, photos only (the single-modality baseline of arXiv 2502.05756).

A photo's vector is the final-layer CLS token (``global_pool="token"``, no classifier head), 768-d for
``vit_base_patch16_224``, L2-normalized. A post's vector is the normalized mean of its normalized photo
vectors.

Posts without photos: an image-only encoder has nothing to embed, so their rows in ``vectors`` (and in
``parts["image"]``) are NaN. Nothing is invented for them (a placeholder vector would pollute clusters);
the embedding asset skips those rows and records the posts as not embeddable by this encoder.

Options:
- ``model``: timm model name (default ``vit_base_patch16_224``); must be a ViT with a class token.
- ``weights``: a local timm-format checkpoint (``.safetensors`` or a torch file); default
  ``C2C_WEIGHTS_DIR/<model>.safetensors``. Nothing is downloaded at run time.
- ``tiny``: a 2-layer, 64-d, 32-px architecture for tests; random and seeded unless ``weights`` is given.
- ``seed``: the seed of the tiny random init (default 0).
- ``photos``: ``all`` or ``first`` (every family's; see ``EncoderOptions``).

The options are the pydantic model ``Options``, validated once when the encoder is created.

Preprocessing comes from timm's data config of the model (resize, center crop, mean/std), offline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from c2c_assets.encoders.base import (
    IMAGE,
    Encoder,
    EncoderOptions,
    PathOption,
    PostInput,
    PostVectors,
    RuntimeSettings,
    check_checkpoint_keys,
    checkpoint_keys,
    file_fingerprint,
    image_batches,
    inference,
    l2_normalize,
    mean_of_images,
    require_file,
    resolve_device,
)

FAMILY = "vit"
DEFAULT_MODEL = "vit_base_patch16_224"
TINY: dict[str, Any] = {"depth": 2, "embed_dim": 64, "num_heads": 2, "img_size": 32, "patch_size": 8}


class Options(EncoderOptions):
    """The ``vit`` family's options (see the module docstring)."""

    model: str = DEFAULT_MODEL  # any timm ViT with a class token
    weights: PathOption | None = None
    tiny: bool = False
    seed: int = 0


def _origin(model_name: str) -> str:
    if model_name == DEFAULT_MODEL:
        return (
            "The weights are timm's `vit_base_patch16_224` (augreg in21k ft in1k): download `model.safetensors` from "
            "the Hugging Face hub repo `timm/vit_base_patch16_224.augreg2_in21k_ft_in1k` on a machine with internet."
        )
    return (
        f"The weights are timm's `{model_name}`: download its `model.safetensors` from the Hugging Face hub "
        f"(a `timm/{model_name}...` repo) on a machine with internet."
    )


class VitEncoder(Encoder):
    family = FAMILY
    modalities = frozenset({IMAGE})
    Options = Options
    # Photos only: a photo query searches the post vectors (means of photo vectors).
    query_sides = MappingProxyType({IMAGE: "post", "like": "post"})
    opts: Options

    def __init__(
        self, name: str, options: dict[str, Any], runtime: RuntimeSettings | None = None, home: Path | None = None
    ) -> None:
        super().__init__(name, options, runtime, home)
        self.model_name = self.opts.model
        self.tiny = self.opts.tiny
        self.seed = self.opts.seed
        self.architecture: dict[str, Any] = dict(TINY) if self.tiny else {}
        # Only a tiny model may run on random weights; real ones need their file, checked up front.
        self.weights_path: Path | None = None
        if self.opts.weights or not self.tiny:
            self.weights_path = require_file(
                self.opts.weights,
                f"{self.model_name}.safetensors",
                f"encoder {name!r} ({FAMILY}, timm {self.model_name})",
                _origin(self.model_name),
            )

    def weights_identity(self) -> str:
        if self.weights_path is not None:
            return file_fingerprint(self.weights_path)
        return f"random:{self.seed}:{json.dumps({'model': self.model_name, **self.architecture}, sort_keys=True)}"

    def _create(self, **kwargs: Any) -> Any:
        import timm

        return timm.create_model(self.model_name, num_classes=0, global_pool="token", **self.architecture, **kwargs)

    @cached_property
    def width(self) -> int:
        import torch

        with torch.device("meta"):  # the architecture alone: no weights read, no memory spent
            return int(self._create(pretrained=False).num_features)

    @cached_property
    def _loaded(self) -> tuple[Any, Any, Any]:
        """(model in eval mode on the device, photo transform, device), built on first use."""
        import torch
        from timm.data import create_transform, resolve_model_data_config

        overlay: dict[str, Any] = {}
        if self.tiny:
            # timm keeps the base model's 224-px data config; the tiny model takes its own size.
            overlay["input_size"] = (3, TINY["img_size"], TINY["img_size"])
        if self.weights_path is not None:
            # Checked before timm loads it: timm loads non-strictly once the classifier is dropped, so a
            # checkpoint of another format (e.g. Hugging Face transformers' ViT, or names under a prefix)
            # would silently leave a random model. The file may carry the classifier that we drop.
            with torch.device("meta"):
                expected = list(self._create(pretrained=False).state_dict())
            check_checkpoint_keys(
                self.weights_path, f"timm {self.model_name}", expected, checkpoint_keys(self.weights_path),
                ignore_unexpected=lambda key: key.split(".")[0] == "head",
            )
            overlay["file"] = str(self.weights_path)
            model = self._create(pretrained=True, pretrained_cfg_overlay=overlay)
        else:
            with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
                torch.manual_seed(self.seed)
                model = self._create(pretrained=False, pretrained_cfg_overlay=overlay)
        device = resolve_device(self.runtime.device)
        transform = create_transform(**resolve_model_data_config(model), is_training=False)
        return model.eval().to(device), transform, device

    def embed_images(self, paths: Sequence[Path | str]) -> np.ndarray:
        if not paths:
            return np.zeros((0, self.width), dtype=np.float32)
        model, transform, device = self._loaded
        chunks = []
        with inference(device, self.runtime.precision):
            for batch in image_batches(paths, transform, self.runtime, device):
                chunks.append(model(batch).float().cpu().numpy())
        return l2_normalize(np.concatenate(chunks))

    def embed_posts(self, posts: Sequence[PostInput]) -> PostVectors:
        image = mean_of_images(
            self.embed_images([path for post in posts for path in post.image_paths]),
            [len(post.image_paths) for post in posts],
        )
        return PostVectors(vectors=image.copy(), parts={IMAGE: image})


ENCODER = VitEncoder


def create(name: str, options: dict[str, Any], runtime: RuntimeSettings, home: Path | None = None) -> Encoder:
    return VitEncoder(name, options, runtime, home)
