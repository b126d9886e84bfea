"""Every family loads checkpoints in its upstream release layout, with the real tensor names, at reduced size.

Each test builds the architecture with the upstream constructor the real weights come from (timm,
open_clip with the ``openai`` tag's QuickGELU, Meta's ``ImageBindModel``, transformers' MPT and
open_flamingo's factory), smaller (fewer layers, narrower; the same names), saves it as the release is
distributed (``c2c_assets.encoders.release``), loads it through the encoder's public config and checks
that every tensor of the file is the model's, and that a wrong prefix or a missing tensor is refused with
a message naming the file and the first missing key. ``bench/full_size_bench.py`` does the same at full size.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from c2c_assets.encoders import EncoderConfig, RuntimeSettings, create_encoder, release
from c2c_assets.encoders.base import CheckpointMismatch, Encoder, PostInput
from c2c_assets_tests.fixtures import EXAMPLE_INBOX

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
PHOTOS = sorted(EXAMPLE_INBOX.glob("*/2024-03-01/images/*"))[:3]
CPU = RuntimeSettings(device="cpu", batch_size=4, num_workers=0)

# open_clip configs with the real models' names and structure, smaller (patched in under the real names).
SMALL_CLIP: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 224, "layers": 2, "width": 64, "patch_size": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
SMALL_MPT: dict[str, Any] = {"d_model": 32, "n_heads": 2, "n_layers": 2, "max_seq_len": 512, "vocab_size": 640}


def tensors(path: Path) -> dict[str, Any]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, weights_only=True)


def assert_all_loaded(state: dict[str, Any], model: Any, prefix: str = "", skip: tuple[str, ...] = ()) -> None:
    """Every tensor of ``state`` is in ``model`` under ``prefix`` + its name, with the same values."""
    loaded = model.state_dict()
    names = [key for key in state if not key.startswith(skip)]
    assert names
    absent = [key for key in names if prefix + key not in loaded]
    assert not absent, absent[:3]
    for key in names:
        torch.testing.assert_close(loaded[prefix + key].float(), state[key].float(), rtol=0, atol=0, msg=key)


def refused(path: Path, state: dict[str, Any], load: Any, first_missing: str) -> None:
    """Saving ``state`` at ``path`` and loading it fails with a message naming the file and ``first_missing``."""
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    with pytest.raises(CheckpointMismatch) as error:
        loaded = load()
        if isinstance(loaded, Encoder):
            fresh(loaded)  # the model is built on first use
    message = str(error.value)
    assert str(path) in message and f"first missing: {first_missing!r}" in message, message


def drop(state: dict[str, Any], key: str) -> dict[str, Any]:
    assert key in state
    return {name: value for name, value in state.items() if name != key}


def prefixed(state: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {prefix + name: value for name, value in state.items()}


def fresh(encoder: Encoder) -> Any:
    return encoder._loaded[0]  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------- vit


def test_vit_loads_timms_hub_file_and_refuses_wrong_ones(tmp_path: Path) -> None:
    from c2c_assets.encoders import vit

    path = release.save_timm_vit(tmp_path / "model.safetensors", seed=3, **vit.TINY)
    state = tensors(path)
    assert "head.weight" in state and state["cls_token"].dtype == torch.float32  # the hub file has its head

    def load() -> Encoder:
        return create_encoder(EncoderConfig("v", "vit", {"tiny": True, "weights": str(path)}), CPU)

    encoder = load()
    assert_all_loaded(state, fresh(encoder), skip=("head.",))  # the classifier is dropped: CLS features
    assert encoder.embed_images(PHOTOS).shape == (len(PHOTOS), vit.TINY["embed_dim"])

    first = next(iter(fresh(encoder).state_dict()))
    refused(path, prefixed(state, "model."), load, first)
    refused(path, drop(state, "blocks.1.mlp.fc2.bias"), load, "blocks.1.mlp.fc2.bias")
    from safetensors.torch import save_file

    save_file({**state, "blocks.9.attn.qkv.weight": state["blocks.0.attn.qkv.weight"].clone()}, str(path))
    with pytest.raises(CheckpointMismatch, match=r"1 of its tensors are not in the model \(first: 'blocks.9.attn.qkv.weight'\)"):
        fresh(load())


# ---------------------------------------------------------------------------------------------- clip


def test_clip_loads_open_clips_openai_file_by_the_weights_dir_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import open_clip

    monkeypatch.setitem(open_clip.factory._MODEL_CONFIGS, "ViT-B-32", SMALL_CLIP)
    monkeypatch.setenv("C2C_WEIGHTS_DIR", str(tmp_path))
    folder = tmp_path / release.CLIP_HUB["ViT-B-32"]
    (path,) = release.save_open_clip([folder / "open_clip_pytorch_model.bin"], "ViT-B-32", seed=2)
    (tmp_path / "open_clip_ViT-B-32.bin").symlink_to(path)
    state = tensors(path)

    def load() -> Encoder:
        return create_encoder(EncoderConfig("c", "clip", {"model": "ViT-B-32", "tag": "openai"}), CPU)

    encoder = load()
    model = fresh(encoder)
    assert_all_loaded(state, model)
    assert type(model.visual.transformer.resblocks[0].mlp.gelu).__name__ == "QuickGELU"  # the openai tag's
    assert encoder.embed_images(PHOTOS).shape == (len(PHOTOS), 32)
    assert encoder.embed_texts(["alternator " * 100]).shape == (1, 32)  # cut to the 77-token context

    first = next(iter(model.state_dict()))
    link = tmp_path / "open_clip_ViT-B-32.bin"
    link.unlink()
    refused(link, prefixed(state, "clip."), load, first)
    refused(link, drop(state, "visual.transformer.resblocks.1.attn.in_proj_weight"), load,
            "visual.transformer.resblocks.1.attn.in_proj_weight")
    torch.save(prefixed(state, "module."), link)  # DDP's prefix is undone, as open_clip does it
    assert_all_loaded(state, fresh(load()))


# ---------------------------------------------------------------------------------------------- imagebind


def test_imagebind_loads_metas_pth_and_refuses_wrong_ones(tmp_path: Path) -> None:
    from c2c_assets.encoders import imagebind

    path = release.save_imagebind(tmp_path / "imagebind_huge.pth", seed=4, **imagebind.TINY)
    state = tensors(path)

    def load() -> Encoder:
        return create_encoder(EncoderConfig("i", "imagebind", {"tiny": True, "weights": str(path)}), CPU)

    encoder = load()
    model = fresh(encoder)
    assert_all_loaded(state, model)
    assert set(model.state_dict()) == set(state)
    assert encoder.embed_images(PHOTOS).shape == (len(PHOTOS), 32)
    assert encoder.embed_texts(["brake pads"]).shape == (1, 32)

    first = next(iter(model.state_dict()))
    refused(path, prefixed(state, "model."), load, first)
    key = "modality_heads.vision.2.weight" if "modality_heads.vision.2.weight" in state else max(state)
    refused(path, drop(state, key), load, key)


# ---------------------------------------------------------------------------------------------- openflamingo


@pytest.fixture
def flamingo_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A C2C_WEIGHTS_DIR with OpenFlamingo-3B's three parts under their default names, reduced: the CLIP
    tower (as ``ViT-L-14-quickgelu``), an MPT folder named as the release's and ``checkpoint.pt``."""
    import open_clip

    monkeypatch.setitem(open_clip.factory._MODEL_CONFIGS, "ViT-L-14-quickgelu", {**SMALL_CLIP, "quick_gelu": True})
    monkeypatch.setenv("C2C_WEIGHTS_DIR", str(tmp_path))
    release.save_open_clip([tmp_path / release.CLIP_HUB["ViT-L-14"] / "open_clip_model.safetensors"], "ViT-L-14-quickgelu")
    lang = release.save_mpt_folder(tmp_path / release.LM_FOLDER, **SMALL_MPT)
    release.save_flamingo_checkpoint(tmp_path / release.FLAMINGO_FOLDER / "checkpoint.pt", "ViT-L-14-quickgelu", lang, seed=5)
    return tmp_path


def test_openflamingo_loads_the_release_layout_through_its_default_config(flamingo_release: Path) -> None:
    root = flamingo_release
    checkpoint = tensors(root / release.FLAMINGO_FOLDER / "checkpoint.pt")
    # What the release holds: the perceiver, the gated cross-attention under the decoder blocks, the embedding.
    assert {key.split(".")[0] for key in checkpoint} == {"perceiver", "lang_encoder"}
    assert all(k.startswith("perceiver.") or ".gated_cross_attn_layer." in k or k.endswith("wte.weight") for k in checkpoint)
    assert not any("vision_encoder" in k or "old_decoder_blocks" in k or "gated_cross_attn_layers" in k for k in checkpoint)
    assert {tensor.dtype for tensor in checkpoint.values()} == {torch.float32}

    encoder = create_encoder("openflamingo", CPU)  # the built-in config, every path by its default name
    model = fresh(encoder)
    assert_all_loaded(checkpoint, model)
    clip = tensors(root / release.CLIP_HUB["ViT-L-14"] / "open_clip_model.safetensors")
    assert_all_loaded({k[len("visual."):]: v for k, v in clip.items() if k.startswith("visual.")}, model, "vision_encoder.")
    lm = tensors(root / release.LM_FOLDER / "pytorch_model.bin")
    # open_flamingo wraps each decoder block (FlamingoLayer): block N's own tensors move under `decoder_layer`.
    wrapped = {re.sub(r"^(transformer\.blocks\.\d+)\.", r"\1.decoder_layer.", k): v for k, v in lm.items()}
    assert_all_loaded(wrapped, model, "lang_encoder.", skip=("transformer.wte.",))  # wte: resized, then the checkpoint's
    assert encoder.width == SMALL_MPT["d_model"]
    vectors = encoder.embed_posts([PostInput("p", "Brake pads", "ceramic, front axle", tuple(PHOTOS))]).vectors
    assert vectors.shape == (1, SMALL_MPT["d_model"]) and np.isfinite(vectors).all()


def test_openflamingo_refuses_a_checkpoint_with_a_prefix_or_a_missing_tensor(flamingo_release: Path) -> None:
    path = flamingo_release / release.FLAMINGO_FOLDER / "checkpoint.pt"
    state = tensors(path)
    first = next(iter(state))

    def load() -> Any:
        return fresh(create_encoder("openflamingo", CPU))

    refused(path, prefixed(state, "module."), load, first)
    key = next(k for k in state if k.startswith("perceiver.layers.0."))
    refused(path, drop(state, key), load, key)
    # The input embedding may be absent (then the LM folder's is used); anything the model lacks may not.
    torch.save(drop(state, "lang_encoder.transformer.wte.weight"), path)
    load()
    torch.save({**state, "perceiver.layers.9.0.norm_media.weight": state[first]}, path)
    with pytest.raises(CheckpointMismatch, match="not in the model"):
        load()


def test_openflamingo_refuses_vision_weights_with_a_missing_tensor(flamingo_release: Path) -> None:
    path = flamingo_release / release.CLIP_HUB["ViT-L-14"] / "open_clip_model.safetensors"
    state = tensors(path)
    refused(path, drop(state, "visual.proj"), lambda: fresh(create_encoder("openflamingo", CPU)), "visual.proj")
