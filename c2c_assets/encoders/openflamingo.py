"""Family ``openflamingo``: one joint post embedding from OpenFlamingo (arXiv 2503.17408), a frozen CLIP
ViT-L/14 vision encoder and a frozen causal language model joined by gated cross-attention layers.

A post becomes one sequence: an ``<image>`` token per photo it shows the model, then (with ``prefix``)
``"<prefix_text> with <n> photos: "``, then ``PostInput.text``. The photos go through the vision encoder
and the perceiver (``Flamingo._encode_vision_x``), which conditions the cross-attention layers; the
language model then runs over the tokens, and the post vector is the output of its last decoder layer
mean-pooled over the attention mask, L2-normalized; the conditioning is cleared after every batch. The
width is the language model's hidden size.

Why the last decoder layer's output through a forward hook, not ``output_hidden_states``: MPT-1B's remote
code (MosaicGPT) collects its ``hidden_states`` *before* each block, so its last entry misses the last block;
the hook reads the same point for every LM and stops the forward there, skipping the final norm and the
vocabulary projection, which an embedding does not need.

Posts with several photos (option ``strategy``):
- ``first``: only the first photo (one ``<image>``); later photos change nothing.
- ``interleaved``: every photo as an ``<image>`` token before the text, vision input (B, T_img, 1, 3, H, W).
  With ``only_attend_immediate_media`` (OpenFlamingo's default, True) a token cross-attends only to the
  latest ``<image>`` before it, so the text sees only the LAST photo directly; earlier photos reach it only
  through the ``<image>`` tokens' own hidden states, a weak path (see docs/openflamingo-strategies.md).
  False lets every token attend to all earlier photos.
- ``per_image_mean``: one forward per photo (that photo alone with the text), then the normalized mean of
  the normalized pooled vectors.
Posts without photos are embedded from their text alone: no ``<image>`` token, and the cross-attention
layers are conditioned on zero media (they refuse to run unconditioned), which contribute exactly nothing
because the key/value projection has no bias; their gated feed-forward still runs, as in OpenFlamingo for
text before any image. A post with neither photos nor text gets a NaN row (not embeddable).
``embed_texts`` embeds texts as given (no prefix), the same text-only way.

Options:
- ``strategy``: ``first`` | ``interleaved`` (default) | ``per_image_mean``.
- ``prefix`` (default True) and ``prefix_text`` (default ``"This is a post"``): the structured prefix and
  photo count of the paper; ``prefix=False`` leaves the ``<image>`` tokens and the post text.
- ``only_attend_immediate_media`` (default True): see above.
- ``gate_init``: set every cross-attention gate (attention and feed-forward) to this value after loading.
  Untrained gates are 0, so on a random model photos have no effect until it is set; with a checkpoint
  it overrides the trained gates.
- ``max_tokens`` (default 256): the sequence is cut after this many tokens (the ``<image>`` tokens come first).
- Real weights, OpenFlamingo-3B-vitl-mpt1b (nothing is downloaded at run time; defaults under ``C2C_WEIGHTS_DIR``):
  ``checkpoint`` (the release's ``checkpoint.pt``: it holds only the trained perceiver, cross-attention
  and embedding weights; every perceiver and cross-attention tensor must be there and nothing else may be,
  or the file is refused naming the first missing key; default ``OpenFlamingo-3B-vitl-mpt1b/checkpoint.pt``),
  ``lang_encoder_path`` (a local copy of ``anas-awadalla/mpt-1b-redpajama-200b`` with its remote code; keep
  ``mpt-1b-redpajama-200b`` in the folder name, which open_flamingo's factory keys a fix for this model on;
  default ``mpt-1b-redpajama-200b``), ``tokenizer_path`` (default: ``lang_encoder_path``), ``clip_weights``
  (open_clip's ViT-L-14 ``openai`` weights, default ``vit_large_patch14_clip_224.openai/open_clip_model.safetensors``),
  ``clip_model`` (default ``ViT-L-14-quickgelu``: OpenAI's weights need QuickGELU, which open_clip only
  switches on by itself for the ``openai`` tag) and ``cross_attn_every_n_layers`` (default 1).
- ``tiny``: a random, seeded model for tests: a 1-layer 32-wide ViT (224 px, patch 32), a 2-layer 32-wide
  GPT-NeoX and a byte-level tokenizer, written to a temporary folder and loaded like a real one.
- ``seed``: the seed of the random init (default 0).
- ``photos``: ``all`` or ``first`` (every family's; see ``EncoderOptions``); ``photos: first`` trims the
  posts before the strategy sees them.

The options are the pydantic model ``Options``, validated once when the encoder is created.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Self, get_args

import numpy as np
from pydantic import Field, model_validator

from c2c_assets.encoders.base import (
    IMAGE,
    TEXT,
    Encoder,
    EncoderError,
    EncoderOptions,
    PathOption,
    PostInput,
    PostVectors,
    RuntimeSettings,
    check_checkpoint_keys,
    file_fingerprint,
    image_batches,
    inference,
    l2_normalize,
    load_torch_file,
    require_file,
    resolve_device,
)
from c2c_assets.encoders.clip import check_open_clip_file

FAMILY = "openflamingo"
IMAGE_TOKEN = "<image>"
SPECIAL = (IMAGE_TOKEN, "<|endofchunk|>")  # Flamingo's markup: in a post's own text it would fake a photo
REAL_ONLY = (
    "checkpoint", "lang_encoder_path", "tokenizer_path", "clip_weights", "clip_model", "cross_attn_every_n_layers",
)


class Options(EncoderOptions):
    """The ``openflamingo`` family's options (see the module docstring)."""

    strategy: Literal["first", "interleaved", "per_image_mean"] = "interleaved"
    prefix: bool = True
    prefix_text: str = "This is a post"
    only_attend_immediate_media: bool = True
    gate_init: float | None = None
    max_tokens: int = Field(256, ge=1)
    checkpoint: PathOption | None = None
    lang_encoder_path: PathOption | None = None
    tokenizer_path: PathOption | None = None
    clip_weights: PathOption | None = None
    clip_model: str = "ViT-L-14-quickgelu"
    cross_attn_every_n_layers: int = Field(1, ge=1)
    tiny: bool = False
    seed: int = 0

    @model_validator(mode="after")
    def _tiny_has_no_real_options(self) -> Self:
        if self.tiny and self.model_fields_set & set(REAL_ONLY):
            raise ValueError(f"`tiny` excludes the real-model options {', '.join(REAL_ONLY)}")
        return self


STRATEGIES: tuple[str, ...] = get_args(Options.model_fields["strategy"].annotation)

RELEASE = "openflamingo/OpenFlamingo-3B-vitl-mpt1b"
ORIGIN_CHECKPOINT = (
    f"It is `checkpoint.pt` of the {RELEASE} release on the Hugging Face hub; pass its path as the `checkpoint` option."
)
ORIGIN_LM = (
    "It is the folder of `anas-awadalla/mpt-1b-redpajama-200b` on the Hugging Face hub (config, weights, tokenizer "
    f"and remote code), the language model of {RELEASE}; pass it as the `lang_encoder_path` option."
)
ORIGIN_CLIP = (
    "It is open_clip's ViT-L-14 `openai` weights, `open_clip_model.safetensors` of the hub repo "
    f"`timm/vit_large_patch14_clip_224.openai`, the vision encoder of {RELEASE}; pass it as the `clip_weights` option."
)

TINY_CLIP_NAME = "c2c-tiny-flamingo-vit"
TINY_CLIP: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 224, "layers": 1, "width": 32, "head_width": 16, "patch_size": 32},
    "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 32, "heads": 2, "layers": 1},
}
TINY_LM: dict[str, int] = {
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
    "max_position_embeddings": 512,
}


class _Stop(Exception):
    """Raised by the forward hook once the last decoder layer has run."""


def _register_tiny_clip() -> None:
    from c2c_assets.encoders.clip import register_open_clip_config

    register_open_clip_config(TINY_CLIP_NAME, TINY_CLIP)


def _write_tiny_lm(folder: Path) -> Path:
    """Save a random GPT-NeoX and a byte-level BPE tokenizer (the 256 byte symbols, no merges: nothing to
    train or download) into ``folder``, as a local model folder for ``create_model_and_transforms``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import GPTNeoXConfig, GPTNeoXForCausalLM, PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokenizer = Tokenizer(models.BPE(vocab={symbol: index for index, symbol in enumerate(alphabet)}, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>")
    fast.save_pretrained(folder)
    GPTNeoXForCausalLM(GPTNeoXConfig(vocab_size=len(fast), **TINY_LM)).save_pretrained(folder)
    return folder


def _folder_fingerprint(folder: Path) -> str:
    return ",".join(f"{path.name}:{file_fingerprint(path)}" for path in sorted(folder.iterdir()) if path.is_file())


def _plain(text: str) -> str:
    for token in SPECIAL:
        text = text.replace(token, " ")
    return text.strip()


def _photos(count: int) -> str:
    return "no photos" if count == 0 else "1 photo" if count == 1 else f"{count} photos"


def trained_keys(model: Any) -> tuple[list[str], str | None]:
    """The tensor names a release ``checkpoint.pt`` holds (open_flamingo's ``filter_state_dict_to_trainable``):
    the perceiver and the gated cross-attention layers under their decoder blocks, and the name of the LM's
    input embedding (trained too, for the ``<image>`` and ``<|endofchunk|>`` tokens), or None."""
    keys = [
        key for key in model.state_dict()
        if (key.startswith("perceiver.") or ".gated_cross_attn_layer." in key)
        and not key.startswith(("lang_encoder.gated_cross_attn_layers.", "lang_encoder.old_decoder_blocks."))
    ]
    embedding = model.lang_encoder.get_input_embeddings().weight
    name = next((f"lang_encoder.{key}" for key, p in model.lang_encoder.named_parameters() if p is embedding), None)
    return keys, name


def _load_release_checkpoint(model: Any, path: Path) -> None:
    """Load ``checkpoint.pt`` into a built Flamingo: it must hold every perceiver and gated cross-attention
    tensor (else CheckpointMismatch naming the file and the first missing key) and nothing the model lacks;
    the LM's input embedding may be there (the release's training code keeps it) or not. The tensors are
    taken memory-mapped from the file (``assign``), so the randomly initialised ones are freed, not copied over."""
    state = load_torch_file(path)
    keys, embedding = trained_keys(model)
    names = set(model.state_dict())
    check_checkpoint_keys(
        path, "OpenFlamingo", [*keys, *([embedding] if embedding else [])], state,
        optional=lambda key: key == embedding,
        ignore_unexpected=lambda key: key in names,  # a fuller state dict (vision encoder, LM) is fine too
    )
    model.load_state_dict(state, strict=False, assign=True)
    tie = getattr(model.lang_encoder, "tie_weights", None)
    if embedding in state and callable(tie):
        tie()  # an output projection tied to the input embedding follows the assigned tensor


class OpenFlamingoEncoder(Encoder):
    family = FAMILY
    modalities = frozenset({IMAGE, TEXT})
    Options = Options
    # One joint post vector: a text query searches the post vectors; there is no photo-only vector.
    query_sides = MappingProxyType({TEXT: "post", "like": "post"})
    opts: Options

    def __init__(
        self, name: str, options: dict[str, Any], runtime: RuntimeSettings | None = None, home: Path | None = None
    ) -> None:
        super().__init__(name, options, runtime, home)
        what = f"encoder {name!r} ({FAMILY})"
        opts = self.opts
        self.tiny = opts.tiny
        self.strategy = opts.strategy
        self.prefix = opts.prefix
        self.prefix_text = opts.prefix_text
        self.immediate_media = opts.only_attend_immediate_media
        self.gate_init = None if opts.gate_init is None else float(opts.gate_init)
        self.max_tokens = opts.max_tokens
        self.seed = opts.seed
        self.clip_model = opts.clip_model
        self.cross_attn_every = opts.cross_attn_every_n_layers
        # Real weights are checked up front, so a missing file fails at creation and not mid-run.
        self.paths: dict[str, Path] = {}
        if not self.tiny:
            option = opts.model_dump().get
            lang = require_file(
                option("lang_encoder_path"), "mpt-1b-redpajama-200b", f"{what}: language model", ORIGIN_LM
            )
            self.paths = {
                "checkpoint": require_file(
                    option("checkpoint"), "OpenFlamingo-3B-vitl-mpt1b/checkpoint.pt", f"{what}: checkpoint",
                    ORIGIN_CHECKPOINT,
                ),
                "lang_encoder_path": lang,
                "tokenizer_path": require_file(option("tokenizer_path") or lang, "", f"{what}: tokenizer", ORIGIN_LM),
                "clip_weights": require_file(
                    option("clip_weights"), "vit_large_patch14_clip_224.openai/open_clip_model.safetensors",
                    f"{what}: vision encoder", ORIGIN_CLIP,
                ),
            }

    @cached_property
    def width(self) -> int:
        if self.tiny:
            return TINY_LM["hidden_size"]
        path = self.paths["lang_encoder_path"] / "config.json"
        if not path.is_file():
            raise EncoderError(f"encoder {self.name!r} ({FAMILY}): no config.json in {path.parent}. {ORIGIN_LM}")
        config = json.loads(path.read_text())
        return int(config.get("d_model") or config["hidden_size"])  # MPT calls it d_model

    def weights_identity(self) -> str:
        if self.tiny:
            return f"random:{self.seed}:{json.dumps([TINY_CLIP, TINY_LM], sort_keys=True)}"
        return ";".join(
            f"{key}={_folder_fingerprint(path) if path.is_dir() else file_fingerprint(path)}"
            for key, path in sorted(self.paths.items())
        )

    @cached_property
    def _loaded(self) -> tuple[Any, Any, Any, Any]:
        """(Flamingo model in eval mode on the device, photo transform, tokenizer, device), built on first use."""
        import torch
        from open_flamingo import create_model_and_transforms

        def build(
            clip: str, clip_weights: str | None, lang: Path, tokenizer: Path, layers_attr: str | None
        ) -> tuple[Any, Any, Any]:
            with contextlib.redirect_stdout(io.StringIO()):  # the factory prints a parameter count
                return create_model_and_transforms(
                    clip, clip_weights, str(lang), str(tokenizer), cross_attn_every_n_layers=self.cross_attn_every,
                    use_local_files=True, decoder_layers_attr_name=layers_attr,
                )

        with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
            torch.manual_seed(self.seed)
            if self.tiny:
                _register_tiny_clip()
                with tempfile.TemporaryDirectory(prefix="c2c-openflamingo-") as folder:
                    lm = _write_tiny_lm(Path(folder))
                    model, transform, tokenizer = build(TINY_CLIP_NAME, None, lm, lm, "gpt_neox.layers")
            else:
                paths = self.paths
                check_open_clip_file(self.clip_model, paths["clip_weights"], f"open_clip {self.clip_model}")
                model, transform, tokenizer = build(
                    self.clip_model, str(paths["clip_weights"]), paths["lang_encoder_path"], paths["tokenizer_path"],
                    None,  # open_flamingo infers the decoder layers' attribute from the LM class name
                )
                _load_release_checkpoint(model, paths["checkpoint"])
        with torch.no_grad():
            for layer in model.lang_encoder.gated_cross_attn_layers:
                if layer is None:
                    continue
                layer.attn.only_attend_immediate_media = self.immediate_media
                if self.gate_init is not None:
                    layer.attn_gate.fill_(self.gate_init)
                    layer.ff_gate.fill_(self.gate_init)
        # Right padding keeps every real token at the same position whatever the batch (causal LM).
        tokenizer.padding_side = "right"
        device = resolve_device(self.runtime.device)
        return model.eval().to(device), transform, tokenizer, device

    def _pooled(self, texts: list[str], vision: Any) -> np.ndarray:
        """Mean-pooled last-layer states of ``texts`` conditioned on ``vision`` (B, T_img, 1, 3, H, W), or on
        no photo when ``vision`` is None; the texts hold one ``<image>`` per photo."""
        import torch

        model, _, tokenizer, device = self._loaded
        encoded = tokenizer(texts, return_tensors="pt", padding=True, truncation=True, max_length=self.max_tokens)
        ids, mask = encoded["input_ids"].to(device), encoded["attention_mask"].to(device)
        lang = model.lang_encoder
        layers = lang._get_decoder_layers()
        if vision is None:
            media = torch.zeros(len(texts), 1, model.perceiver.latents.shape[0], model.vis_dim, device=device)
            for layer in layers:
                layer.condition_vis_x(media)
        else:
            model._encode_vision_x(vision_x=vision)
        captured: list[Any] = []

        def grab(_module: Any, _inputs: Any, output: Any) -> None:
            captured.append(output[0] if isinstance(output, tuple) else output)
            raise _Stop

        hook = layers[-1].register_forward_hook(grab)
        try:
            lang(input_ids=ids, attention_mask=mask, use_cache=False)  # sets the <image> locations itself
        except _Stop:
            pass
        finally:
            hook.remove()
            lang.clear_conditioned_layers()
        hidden = captured[0].float()
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        return ((hidden * weights).sum(dim=1) / weights.sum(dim=1)).cpu().numpy()

    def _embed_units(self, units: Sequence[tuple[str, Sequence[Path | str]]]) -> np.ndarray:
        """Unit vectors of (text with one ``<image>`` per photo, photos) units."""
        import torch

        if any(not text for text, _ in units):
            raise EncoderError(f"encoder {self.name!r} ({FAMILY}): cannot embed an empty text without photos")
        _, transform, _, device = self._loaded
        # One loader over every photo, in unit order, so that decoding workers start once.
        all_paths = [path for _, paths in units for path in paths]
        pixels = (image for batch in image_batches(all_paths, transform, self.runtime, device) for image in batch)
        out = np.zeros((len(units), self.width), dtype=np.float32)
        size = self.runtime.batch_size
        with inference(device, self.runtime.precision):
            for start in range(0, len(units), size):
                chunk = units[start : start + size]
                images = [[next(pixels) for _ in paths] for _, paths in chunk]
                # A forward needs the same photo count on every row: one forward per count in the chunk.
                for count in sorted({len(paths) for _, paths in chunk}):
                    rows = [row for row, (_, paths) in enumerate(chunk) if len(paths) == count]
                    vision = torch.stack([torch.stack(images[row]) for row in rows]).unsqueeze(2) if count else None
                    out[[start + row for row in rows]] = self._pooled([chunk[row][0] for row in rows], vision)
        return l2_normalize(out)

    def _format(self, text: str, shown: int, total: int) -> str:
        body = _plain(text)
        if self.prefix:
            head = f"{self.prefix_text} with {_photos(total)}"
            body = f"{head}: {text}" if text else head
        return IMAGE_TOKEN * shown + body

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.width), dtype=np.float32)
        return self._embed_units([(_plain(text), ()) for text in texts])

    def embed_posts(self, posts: Sequence[PostInput]) -> PostVectors:
        owners: list[int] = []
        units: list[tuple[str, Sequence[Path]]] = []
        for row, post in enumerate(posts):
            photos = list(post.image_paths)
            if not photos and not post.text.strip():
                continue  # nothing to embed: a NaN row
            groups = {"first": [photos[:1]], "interleaved": [photos], "per_image_mean": [[p] for p in photos] or [[]]}
            for group in groups[self.strategy]:
                owners.append(row)
                units.append((self._format(post.text, len(group), len(photos)), group))
        sums = np.zeros((len(posts), self.width), dtype=np.float32)
        if units:
            np.add.at(sums, owners, self._embed_units(units))
        vectors = l2_normalize(sums)
        vectors[sorted(set(range(len(posts))) - set(owners))] = np.nan
        return PostVectors(vectors=vectors)


ENCODER = OpenFlamingoEncoder


def create(name: str, options: dict[str, Any], runtime: RuntimeSettings, home: Path | None = None) -> Encoder:
    return OpenFlamingoEncoder(name, options, runtime, home)
