"""Putting the method to use: a predicted text embedding for posts whose own text says nothing.

A post whose title and description together are shorter than ``min_chars`` ("needs_predicted_text")
but which has photos gets, in place of the embedding of its few words, the ensemble's prediction
from its photos, and its row is flagged ``text_predicted``. That text vector then feeds the
encoder's fused post vector (the encoder's own fusion rule, ``Encoder.fuse_parts``) and the text
side of the search index, so such posts cluster and are found like the rest.

A checkpoint applies to an encoder when its targets are that encoder's text embeddings: the same
family (``offline`` -> ``default``, ``paper`` -> ``clip``) built from the same weights (the
checkpoint's ``weights_identity`` equals the encoder's). Rows predicted with a checkpoint carry a
fingerprint that includes the checkpoint's content hash, so retraining re-embeds exactly them. The
checkpoint is read once: what is hashed is what predicts, even if a training run replaces the file
meanwhile. Checkpoints live in the lake, so every machine that shares it predicts alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from c2c_assets.encoders.base import Encoder, PostInput, RuntimeSettings
from c2c_assets.home import C2cHome
from c2c_assets.image_to_text.backbones import CONFIGURATIONS
from c2c_assets.image_to_text.data import needs_predicted_text
from c2c_assets.image_to_text.method import ImageToTextModels, load_checkpoint, predict_text_embeddings, read_checkpoint
from c2c_assets.storage import Location

DEFAULT_MIN_CHARS = 20


def checkpoint_path(home: C2cHome, configuration: str) -> Location:
    """``lake/image_to_text_models/configuration=<c>/checkpoint.pt``: the asset's data, beside the Parquet."""
    return home.lake / "image_to_text_models" / f"configuration={configuration}" / "checkpoint.pt"


@dataclass
class ThinTextPredictor:
    """Predicted text embeddings for thin-text posts, from one trained checkpoint (loaded on first use)."""

    configuration: str
    checkpoint: Location
    checkpoint_hash: str  # of the bytes ``payload`` was read from
    payload: dict[str, Any] = field(repr=False)  # read_checkpoint's, loaded into models on first use
    min_chars: int = DEFAULT_MIN_CHARS
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    home: Path | None = None  # the C2C home's root whose model caches the towers use
    _models: ImageToTextModels | None = field(default=None, repr=False)

    def wants(self, post: PostInput) -> bool:
        return bool(post.image_paths) and needs_predicted_text(post.title, post.description, self.min_chars)

    def fingerprint(self, encoder_fingerprint: str) -> str:
        """The fingerprint of a row whose text vector this predictor made."""
        payload = f"{encoder_fingerprint}:{self.configuration}:{self.checkpoint_hash}:{self.min_chars}"
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def predict(self, posts: Sequence[PostInput]) -> np.ndarray:
        """(N, text_dim) unit vectors, one per post (each must have photos)."""

        if self._models is None:
            self._models = load_checkpoint(self.payload, self.runtime, self.home)
        return predict_text_embeddings(self._models, [post.image_paths for post in posts])


def find_predictor(
    home: C2cHome, encoder: Encoder, runtime: RuntimeSettings | None = None, min_chars: int = DEFAULT_MIN_CHARS
) -> ThinTextPredictor | None:
    """The trained checkpoint whose predictions live in ``encoder``'s text space, or None."""
    if not encoder.fuses_parts:
        return None
    for name, configuration in CONFIGURATIONS.items():
        path = checkpoint_path(home, name)
        if configuration.encoder_family != encoder.family or not path.exists():
            continue

        data = path.read_bytes()
        payload = read_checkpoint(data)
        if payload.get("weights_identity") == encoder.weights_identity():
            digest = hashlib.sha256(data).hexdigest()[:16]
            return ThinTextPredictor(name, path, digest, payload, min_chars, runtime or encoder.runtime, home.root)
    return None
