"""Encoder fingerprints are pinned: a refactor of how options are read must not re-embed existing partitions.

The values were computed with the code before options became pydantic models. Weights are fakes with
fixed bytes (their fingerprints are deterministic), and the ``default`` family's tower identities are
fixed, so the pins depend on the options, the family and its version only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from c2c_assets.encoders import BUILTIN, EncoderConfig, create_encoder
from c2c_assets.encoders import default as default_family
from c2c_assets.encoders.base import IMAGE, TEXT

PINS = {
    "clip": "362d5d8d915afb09",
    "clip-tiny": "365009ec4253588a",
    # Issue 15: the default family's text side became multilingual-e5-small; the configs that leave
    # text_model unset re-embed (they were 90eb8dbf056e556b, 050cb7b54fb7a927, 1ab658762069c874, ec3a1d9c758b67cd).
    "default": "799d8323bc485ab3",
    "default-first-photo": "7da1600dea57fd54",
    "default-minilm": "68947140310a134d",  # text_model all-MiniLM-L6-v2: the earlier text side, by name
    "default-multilingual": "22fdaac37d380e04",  # issue 15: text_model multilingual-e5-small (unchanged)
    "default-image-only": "924f2d5eb3be4f5e",
    "default-text-only": "ce87c3990525bdb7",
    "default-tiny": "62ac02fd3aea4a2b",
    "imagebind": "bfdd7d9eac1c1233",
    "imagebind-image-only": "23514250a9a23d8f",
    "imagebind-tiny": "452abf9e27c9c51a",
    "openflamingo": "3ede512294c7b06f",
    "openflamingo-first": "a4cf1051c02de73b",
    "openflamingo-no-prefix": "3610f3ed0432b2cd",
    "openflamingo-per-image-mean": "72c87131ce43e005",
    "openflamingo-tiny": "d09f74c2ee131a70",
    "vit": "ed36010ff48b1102",
    "vit-tiny": "c8d9444d05b16f41",
}
# Options as a user would register them (``c2c encoders add``); ``photos: all`` is the default and
# leaves the fingerprint of the config without it.
CUSTOM: dict[str, tuple[str, dict[str, Any]]] = {
    "default-tiny-quarter": ("default", {"tiny": True, "image_weight": 0.25, "seed": 3}),
    "default-tiny-int-weight": ("default", {"tiny": True, "image_weight": 1}),
    "default-tiny-all-photos": ("default", {"tiny": True, "photos": "all"}),
    "vit-tiny-first": ("vit", {"tiny": True, "photos": "first", "seed": 2}),
    "clip-tiny-weighted": ("clip", {"tiny": True, "image_weight": 0.8}),
    "flamingo-tiny-mean": ("openflamingo", {"tiny": True, "strategy": "per_image_mean", "prefix": False, "max_tokens": 64}),
}
CUSTOM_PINS = {
    "default-tiny-quarter": "039d16ceb6f8d471",
    "default-tiny-int-weight": "a1e8f3efc130b9ea",
    "default-tiny-all-photos": "62ac02fd3aea4a2b",
    "vit-tiny-first": "540beefbafef2be2",
    "clip-tiny-weighted": "5e717926dec209f2",
    "flamingo-tiny-mean": "7ce80ea905e62b80",
}


@pytest.fixture
def fake_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every real config's weights as small files with fixed bytes, and fixed ``default`` tower identities."""
    files = [
        "vit_base_patch16_224.safetensors",
        "open_clip_ViT-B-32.bin",
        "imagebind_huge.pth",
        "mpt-1b-redpajama-200b/config.json",
        "OpenFlamingo-3B-vitl-mpt1b/checkpoint.pt",
        "vit_large_patch14_clip_224.openai/open_clip_model.safetensors",
    ]
    for name in files:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"fake weights {name}".encode())
    monkeypatch.setenv("C2C_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("C2C_HOME", str(tmp_path / "home"))
    fixed = {IMAGE: "image-identity", TEXT: "text-identity"}
    monkeypatch.setattr(default_family.Towers, "identities", property(lambda self: fixed))


def fingerprints(configs: dict[str, EncoderConfig]) -> dict[str, str]:
    return {name: create_encoder(config).fingerprint() for name, config in sorted(configs.items())}


@pytest.mark.usefixtures("fake_weights")
def test_builtin_fingerprints_are_pinned() -> None:
    assert fingerprints(BUILTIN) == PINS


@pytest.mark.usefixtures("fake_weights")
def test_custom_config_fingerprints_are_pinned() -> None:
    configs = {name: EncoderConfig(name, family, options) for name, (family, options) in CUSTOM.items()}
    assert fingerprints(configs) == CUSTOM_PINS
