"""Checkpoints in the upstream release layouts, with random weights, at full or reduced size.

Each writer builds the architecture with the upstream library's own constructor (timm, open_clip, Meta's
``imagebind_model``, transformers' MPT, open_flamingo's factory) and saves it the way the release is
distributed: the same file format, tensor names, nesting and dtype (fp32). Random weights cost the same
FLOPs and have the same names as the real ones, so loading these files through an encoder's public
config proves the loader against the real files without them (``bench/full_size_bench.py`` at full size,
``c2c_assets_tests/encoders/test_release_layouts.py`` at reduced size).

``write_release(root)`` lays out a whole ``C2C_WEIGHTS_DIR``: the hub folders as the releases name them,
plus the names the encoders look for by default (symlinks into those folders):

    vit_base_patch16_224.augreg2_in21k_ft_in1k/model.safetensors      timm's hub file (1000-class head included)
    vit_base_patch16_224.safetensors -> the above                      `vit` default
    vit_base_patch32_clip_224.openai/open_clip_pytorch_model.bin       open_clip ViT-B-32, `openai` tag (QuickGELU)
    open_clip_ViT-B-32.bin -> the above                                `clip` default for model ViT-B-32
    vit_large_patch14_clip_224.openai/open_clip_pytorch_model.bin      open_clip ViT-L-14, `openai` tag
    vit_large_patch14_clip_224.openai/open_clip_model.safetensors      the same tensors (`openflamingo` default)
    open_clip_ViT-L-14.bin -> the .bin above                           `clip` default for model ViT-L-14
    imagebind_huge.pth                                                 Meta's file: a plain fp32 state dict
    mpt-1b-redpajama-200b/{config.json,pytorch_model.bin,tokenizer.json,tokenizer_config.json}  the LM folder
    OpenFlamingo-3B-vitl-mpt1b/checkpoint.pt                           perceiver + gated cross-attention (+ wte)

Two things differ from the real files, both outside what the encoders load by name:
- the MPT-1B folder holds transformers' built-in MPT (``model_type: mpt``, d_model 2048, 24 layers, 16 heads,
  ALiBi, vocab 50432), not MosaicGPT's remote code (``mosaic_gpt``), which is on the hub only. Both keep the
  decoder blocks at ``transformer.blocks`` and the embedding at ``transformer.wte``, which is all that
  open_flamingo and ``checkpoint.pt`` refer to; block-internal names differ (``ln_1``/``mlp.mlp_up`` there,
  ``norm_1``/``ffn.up_proj`` here) and only the LM's own ``from_pretrained`` reads them.
- the tokenizer is a byte-level BPE trained here on English text found on this machine (the package
  metadata of the installed distributions) to GPT-NeoX-20B's size (50,277 entries with
  ``<|endoftext|>`` and ``<|padding|>``), not GPT-NeoX-20B's own merges; token counts per post are of the
  same order, not identical.

Memory: nothing here holds more than one model at a time; OpenFlamingo's factory runs in bf16 (about
6.5 GB instead of 13) and only the trained tensors are cast to fp32 for ``checkpoint.pt``.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

VIT_MODEL = "vit_base_patch16_224"
VIT_HUB = "vit_base_patch16_224.augreg2_in21k_ft_in1k"
CLIP_HUB = {"ViT-B-32": "vit_base_patch32_clip_224.openai", "ViT-L-14": "vit_large_patch14_clip_224.openai"}
LM_FOLDER = "mpt-1b-redpajama-200b"
FLAMINGO_FOLDER = "OpenFlamingo-3B-vitl-mpt1b"
# anas-awadalla/mpt-1b-redpajama-200b's config.json, in transformers' MPT terms.
MPT_1B: dict[str, Any] = {
    "d_model": 2048, "n_heads": 16, "n_layers": 24, "expansion_ratio": 4, "max_seq_len": 2048,
    "vocab_size": 50432, "no_bias": True, "attn_config": {"alibi": True}, "tie_word_embeddings": True,
}
NEOX_VOCAB = 50277  # len(GPT-NeoX-20B's tokenizer): 50254 merges' tokens + specials
SPECIAL_TOKENS = ("<|endoftext|>", "<|padding|>")


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def default_dtype(dtype: Any) -> Iterator[None]:
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def _fp32(state: dict[str, Any]) -> dict[str, Any]:
    return {key: tensor.detach().float().contiguous() for key, tensor in state.items()}


def _free() -> None:
    gc.collect()


# ---------------------------------------------------------------------------------------------- timm ViT


def save_timm_vit(path: Path, model_name: str = VIT_MODEL, seed: int = 0, **arch: Any) -> Path:
    """timm's hub ``model.safetensors``: the model with its classifier head, fp32, timm's names."""
    import timm
    from safetensors.torch import save_file

    with seeded(seed):
        model = timm.create_model(model_name, pretrained=False, **arch)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(_fp32(model.state_dict()), str(path), metadata={"format": "pt"})
    del model
    _free()
    return path


# ------------------------------------------------------------------------------------------------ open_clip


def save_open_clip(paths: list[Path], model_name: str, quick_gelu: bool = True, seed: int = 0) -> list[Path]:
    """open_clip's hub files (``open_clip_pytorch_model.bin`` and/or ``open_clip_model.safetensors``): the
    whole CLIP's state dict as open_clip names it, fp32; ``quick_gelu`` as the ``openai`` tag builds it
    (activations have no tensors, so the files do not change with it)."""
    import open_clip
    import torch
    from safetensors.torch import save_file

    with seeded(seed):
        model = open_clip.create_model(model_name, pretrained=None, force_quick_gelu=quick_gelu)
    state = _fp32(model.state_dict())
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".safetensors":
            save_file(state, str(path), metadata={"format": "pt"})
        else:
            torch.save(state, path)
    del model, state
    _free()
    return paths


# ------------------------------------------------------------------------------------------------ ImageBind


def save_imagebind(path: Path, seed: int = 0, **sizes: Any) -> Path:
    """Meta's ``imagebind_huge.pth``: ``torch.save(model.state_dict())``, fp32. ``sizes``: keyword sizes
    of ``ImageBindModel`` for a reduced model (same names); none: ``imagebind_huge``."""
    import torch

    from c2c_assets.encoders.imagebind import _models

    models = _models()
    with seeded(seed):
        model = models.ImageBindModel(**sizes) if sizes else models.imagebind_huge(pretrained=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    del model
    _free()
    return path


# ------------------------------------------------------------------------------------------------ MPT-1B


def english_corpus(limit_bytes: int = 24 << 20) -> list[str]:
    """English prose found on this machine, in a fixed order: the metadata (README text) of the installed
    Python distributions. A tokenizer corpus with no download."""
    import importlib.metadata

    texts: list[str] = []
    total = 0
    dists = sorted(importlib.metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower())
    for dist in dists:
        text = dist.read_text("METADATA") or ""
        if text:
            texts.append(text)
            total += len(text)
            if total >= limit_bytes:
                break
    return texts


def save_tokenizer(folder: Path, vocab_size: int = NEOX_VOCAB) -> Path:
    """A GPT-NeoX-style byte-level BPE tokenizer (``<|endoftext|>`` as bos/eos/unk, no pad token, as
    GPT-NeoX-20B's), trained on ``english_corpus()`` to ``vocab_size`` entries, saved as
    ``tokenizer.json`` + ``tokenizer_config.json`` + ``special_tokens_map.json``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    corpus = english_corpus(24 << 20 if vocab_size > 5000 else 1 << 20)
    tokenizer.train_from_iterator(corpus, trainer=trainer)
    eos = SPECIAL_TOKENS[0]
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token=eos, eos_token=eos, unk_token=eos)
    fast.save_pretrained(folder)
    return folder


def save_mpt_folder(folder: Path, seed: int = 0, vocab_size: int = NEOX_VOCAB, **config: Any) -> Path:
    """The LM folder as ``anas-awadalla/mpt-1b-redpajama-200b`` lays it out: ``config.json``,
    ``pytorch_model.bin`` (fp32, a torch file, the tied output projection left out) and the tokenizer files.
    ``config``: overrides of ``MPT_1B`` for a reduced model (same names)."""
    import torch
    from transformers import MptConfig, MptForCausalLM

    folder.mkdir(parents=True, exist_ok=True)
    save_tokenizer(folder, vocab_size)
    settings = {**MPT_1B, **config}
    mpt_config = MptConfig(**settings)
    with seeded(seed):
        model = MptForCausalLM(mpt_config)
    model.config.save_pretrained(folder)
    state = {key: value for key, value in model.state_dict().items() if key != "lm_head.weight"}
    torch.save(_fp32(state), folder / "pytorch_model.bin")
    del model, state
    _free()
    return folder


# ------------------------------------------------------------------------------------------------ OpenFlamingo


def save_flamingo_checkpoint(
    path: Path, clip_model: str, lang_folder: Path, cross_attn_every_n_layers: int = 1, seed: int = 0,
    build_dtype: str = "bfloat16",
) -> Path:
    """The release's ``checkpoint.pt``: what open_flamingo's ``filter_state_dict_to_trainable`` keeps of a
    model built by its own factory: the perceiver, the gated cross-attention layers under their decoder
    blocks (``lang_encoder.transformer.blocks.N.gated_cross_attn_layer.*``) and the LM's input embedding,
    fp32. The vision weights play no part in it, so the factory builds CLIP without them."""
    import torch
    from open_flamingo import create_model_and_transforms

    from c2c_assets.encoders.openflamingo import trained_keys

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with seeded(seed), default_dtype(getattr(torch, build_dtype)), contextlib.redirect_stdout(io.StringIO()):
        model, _, _ = create_model_and_transforms(
            clip_model, None, str(lang_folder), str(lang_folder),
            cross_attn_every_n_layers=cross_attn_every_n_layers, use_local_files=True,
        )
    keys, embedding = trained_keys(model)
    full = model.state_dict()
    state = _fp32({key: full[key] for key in [*keys, *([embedding] if embedding else [])]})
    del model, full
    _free()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    del state
    _free()
    return path


# ------------------------------------------------------------------------------------------------ all of it


ARCHITECTURES = ("vit", "clip-b32", "clip-l14", "imagebind", "openflamingo")
# Encoder configs (family, options) that load the files of ``write_release`` through C2C_WEIGHTS_DIR.
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "vit": ("vit", {}),
    "clip-b32": ("clip", {"model": "ViT-B-32", "tag": "openai"}),
    "clip-l14": ("clip", {"model": "ViT-L-14", "tag": "openai"}),
    "imagebind": ("imagebind", {"image_weight": 0.5}),
    "openflamingo": ("openflamingo", {"strategy": "interleaved", "prefix": True}),
}


def _link(link: Path, target: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(target.relative_to(link.parent))


def write_release(root: Path, architectures: tuple[str, ...] = ARCHITECTURES, log: Any = print) -> Path:
    """Lay out full-size random checkpoints of ``architectures`` under ``root`` (see the module docstring);
    files already there are kept (delete the folder to rebuild). Returns ``root``, a ``C2C_WEIGHTS_DIR``."""
    import time

    root.mkdir(parents=True, exist_ok=True)

    def step(name: str, target: Path, write: Any) -> None:
        if target.exists():
            return
        start = time.perf_counter()
        write()
        log(f"  wrote {name}: {target.relative_to(root)} in {time.perf_counter() - start:.0f} s")

    if "vit" in architectures:
        file = root / VIT_HUB / "model.safetensors"
        step("timm ViT-B/16", file, lambda: save_timm_vit(file))
        _link(root / f"{VIT_MODEL}.safetensors", file)
    for arch, model in (("clip-b32", "ViT-B-32"), ("clip-l14", "ViT-L-14")):
        need_l14 = model == "ViT-L-14" and "openflamingo" in architectures
        if arch not in architectures and not need_l14:
            continue
        folder = root / CLIP_HUB[model]
        files = [folder / "open_clip_pytorch_model.bin"] + ([folder / "open_clip_model.safetensors"] if model == "ViT-L-14" else [])
        step(f"open_clip {model} (openai)", files[-1], lambda files=files, model=model: save_open_clip(files, model))
        _link(root / f"open_clip_{model}.bin", files[0])
    if "imagebind" in architectures:
        file = root / "imagebind_huge.pth"
        step("imagebind_huge", file, lambda: save_imagebind(file))
    if "openflamingo" in architectures:
        lang = root / LM_FOLDER
        step("MPT-1B folder", lang / "pytorch_model.bin", lambda: save_mpt_folder(lang))
        file = root / FLAMINGO_FOLDER / "checkpoint.pt"
        step("OpenFlamingo-3B checkpoint.pt", file, lambda: save_flamingo_checkpoint(file, "ViT-L-14-quickgelu", lang))
    return root
