"""Family ``clip``: open_clip image and text towers, which embed into one shared space.

- A photo's vector is ``encode_image`` L2-normalized; a text's is ``encode_text`` of the tokenized
  text (truncated to the model's context length, 77 tokens for CLIP), L2-normalized.
- A post's vector is ``fuse(image, text, image_weight)``: ``image`` is the normalized mean of its
  normalized photo vectors, ``text`` the vector of ``PostInput.text``. A post with only one side gets
  that side; a post with neither photos nor text gets a NaN row (not embeddable, as in ``vit``).
  ``parts`` holds ``image`` and ``text``, with NaN rows where a post lacks that side.

Options:
- ``model``: an open_clip model name (default ``ViT-B-32``; e.g. ``ViT-L-14``, ``ViT-B-32-quickgelu``).
- ``weights``: a local open_clip checkpoint; default ``C2C_WEIGHTS_DIR/open_clip_<model>.bin``. Nothing
  is downloaded at run time.
- ``tag``: the open_clip pretrained tag the file was downloaded as (e.g. ``openai``,
  ``laion2b_s34b_b79k``). Optional; when set, preprocessing and QuickGELU follow open_clip's table for that
  tag, which matters: OpenAI's weights need QuickGELU and ``ViT-B-32`` alone uses plain GELU.
- ``image_weight``: weight of the photo side in the fused post vector (default 0.5).
- ``tiny``: a registered tiny config (32-d, 2 layers per tower, 32-px photos) for tests; random and
  seeded unless ``weights`` is given.
- ``seed``: the seed of the tiny random init (default 0).
- ``photos``: ``all`` or ``first`` (every family's; see ``EncoderOptions``).

The options are the pydantic model ``Options``, validated once when the encoder is created (that the
model name and tag are known to open_clip is checked then too, by ``ClipEncoder``).

The tokenizer is open_clip's ``SimpleTokenizer`` with its BPE vocabulary bundled in the package, so it
works offline. Models whose text tower or tokenizer comes from the Hugging Face hub (``hf_model_name`` or
``hf_tokenizer_name`` in their config, SigLIP) would fetch files at load time: they are refused.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

import numpy as np
from pydantic import model_validator

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
    UnitWeight,
    check_checkpoint_keys,
    checkpoint_keys,
    file_fingerprint,
    image_batches,
    inference,
    l2_normalize,
    require_file,
    resolve_device,
    shared_space_fuse,
    shared_space_post_vectors,
)
from c2c_assets.storage import write_atomic

FAMILY = "clip"
DEFAULT_MODEL = "ViT-B-32"
TINY_NAME = "c2c-tiny-clip"
TINY: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


class Options(EncoderOptions):
    """The ``clip`` family's options (see the module docstring)."""

    model: str = DEFAULT_MODEL  # any open_clip model name (checked against open_clip's configs at creation)
    weights: PathOption | None = None
    tag: str | None = None
    image_weight: UnitWeight = 0.5
    tiny: bool = False
    seed: int = 0

    @model_validator(mode="after")
    def _tiny_or_model(self) -> Self:
        if self.tiny and "model" in self.model_fields_set:
            raise ValueError("`tiny` and `model` exclude each other")
        return self


_REGISTERED: set[str] = set()


def register_open_clip_config(name: str, config: dict[str, Any]) -> None:
    """Make a model config (a tiny test one) known to open_clip by name, once per process."""
    import open_clip

    if name in _REGISTERED:
        return
    folder = Path(tempfile.gettempdir()) / "c2c-open-clip-configs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    # Atomic write: concurrent processes write the same bytes, and none reads a half-written file.
    write_atomic(path, json.dumps(config, sort_keys=True))
    open_clip.add_model_config(path)
    _REGISTERED.add(name)


def _register_tiny() -> None:
    register_open_clip_config(TINY_NAME, TINY)


def _origin(model_name: str) -> str:
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(model_name)
    examples = [tag for tag in ("laion2b_s34b_b79k", "openai") if tag in tags] or tags[:2]
    where = "; ".join(
        f"tag `{tag}`: hub repo `{open_clip.get_pretrained_cfg(model_name, tag).get('hf_hub', '').strip('/') or '-'}`"
        for tag in examples
    )
    return (
        f"The weights are one of open_clip's pretrained tags for {model_name} ({where}; all tags: "
        f"open_clip.list_pretrained_tags_by_model({model_name!r})). On a machine with internet, download the "
        f"tag's `open_clip_pytorch_model.bin` (or `open_clip_model.safetensors`), and set the `tag` option to match."
    )


def check_open_clip_file(model_name: str, path: Path, what: str) -> None:
    """Refuse an open_clip checkpoint whose tensor names are not those of ``model_name`` (CheckpointMismatch
    naming the file and the first missing key), before anything is loaded: open_clip's own strict load
    would fail with torch's message, which names neither the file nor the encoder.

    The names are read as open_clip reads them: a ``state_dict`` wrapper and a ``module.`` prefix (DDP)
    are undone; the architecture is built on the meta device (no memory, no init)."""
    import open_clip
    import torch

    with torch.device("meta"):
        expected = list(open_clip.create_model(model_name, pretrained=None, device="meta").state_dict())
    found = checkpoint_keys(path)
    if found and found[0].startswith("module"):
        found = [key[7:] for key in found]
    if "positional_embedding" in found and "positional_embedding" not in expected:
        return  # an old-format text tower that open_clip converts itself (convert_to_custom_text_state_dict)
    check_checkpoint_keys(
        path, what, expected, found,
        optional=lambda key: key == "logit_bias",  # open_clip fills it in
        ignore_unexpected=lambda key: key == "text.transformer.embeddings.position_ids",
    )


class ClipEncoder(Encoder):
    family = FAMILY
    fuses_parts = True
    modalities = frozenset({IMAGE, TEXT})
    Options = Options
    # One shared space: text and photo queries both search the photo vectors.
    query_sides = MappingProxyType({TEXT: IMAGE, IMAGE: IMAGE, "like": "post"})
    opts: Options

    def __init__(
        self, name: str, options: dict[str, Any], runtime: RuntimeSettings | None = None, home: Path | None = None
    ) -> None:
        super().__init__(name, options, runtime, home)
        self.tiny = self.opts.tiny
        self.model_name = TINY_NAME if self.tiny else self.opts.model
        self.seed = self.opts.seed
        self.image_weight = float(self.opts.image_weight)
        self.tag: str | None = self.opts.tag
        if self.tiny:
            _register_tiny()
        self._require_known_model()
        # Only a tiny model may run on random weights; real ones need their file, checked up front.
        self.weights_path: Path | None = None
        if self.opts.weights or not self.tiny:
            self.weights_path = require_file(
                self.opts.weights, f"open_clip_{self.model_name}.bin", self._what, _origin(self.model_name)
            )

    @property
    def _what(self) -> str:
        return f"encoder {self.name!r} ({FAMILY}, open_clip {self.model_name})"

    def _require_known_model(self) -> None:
        import open_clip

        config = open_clip.get_model_config(self.model_name)
        if config is None:
            raise EncoderError(f"{self._what}: open_clip has no model config of that name; see open_clip.list_models()")
        text_cfg = config.get("text_cfg", {})
        if "hf_model_name" in text_cfg or "hf_tokenizer_name" in text_cfg or "siglip" in self.model_name.lower():
            # Their text tower or tokenizer comes from the Hugging Face hub at load time.
            raise EncoderError(f"{self._what}: models with a Hugging Face text tower or tokenizer are not supported")
        if self.tag and not open_clip.get_pretrained_cfg(self.model_name, self.tag):
            known = ", ".join(open_clip.list_pretrained_tags_by_model(self.model_name)) or "none"
            raise EncoderError(f"{self._what}: unknown pretrained tag {self.tag!r}; known: {known}")

    def weights_identity(self) -> str:
        if self.weights_path is not None:
            return file_fingerprint(self.weights_path)
        return f"random:{self.seed}:{json.dumps(TINY, sort_keys=True)}"

    @cached_property
    def width(self) -> int:
        import open_clip

        return int(open_clip.get_model_config(self.model_name)["embed_dim"])

    @cached_property
    def _loaded(self) -> tuple[Any, Any, Any, Any]:
        """(model in eval mode on the device, photo transform, tokenizer, device), built on first use."""
        import open_clip
        import torch

        tag_cfg: dict[str, Any] = open_clip.get_pretrained_cfg(self.model_name, self.tag) if self.tag else {}
        kwargs: dict[str, Any] = {
            "force_quick_gelu": bool(tag_cfg.get("quick_gelu", False)),
            "image_mean": tag_cfg.get("mean"),
            "image_std": tag_cfg.get("std"),
            "image_interpolation": tag_cfg.get("interpolation"),
            "image_resize_mode": tag_cfg.get("resize_mode"),
        }
        if self.weights_path is not None:
            check_open_clip_file(self.model_name, self.weights_path, f"open_clip {self.model_name}")
            # A file path is loaded strictly (open_clip's load_checkpoint); never a tag, which would download.
            model, _, transform = open_clip.create_model_and_transforms(
                self.model_name, pretrained=str(self.weights_path), **kwargs
            )
        else:
            with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
                torch.manual_seed(self.seed)
                model, _, transform = open_clip.create_model_and_transforms(self.model_name, pretrained=None, **kwargs)
        device = resolve_device(self.runtime.device)
        return model.eval().to(device), transform, open_clip.get_tokenizer(self.model_name), device

    def embed_images(self, paths: Sequence[Path | str]) -> np.ndarray:
        if not paths:
            return np.zeros((0, self.width), dtype=np.float32)
        model, transform, _, device = self._loaded
        chunks = []
        with inference(device, self.runtime.precision):
            for batch in image_batches(paths, transform, self.runtime, device):
                chunks.append(model.encode_image(batch).float().cpu().numpy())
        return l2_normalize(np.concatenate(chunks))

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.width), dtype=np.float32)
        model, _, tokenizer, device = self._loaded
        size = self.runtime.batch_size
        chunks = []
        with inference(device, self.runtime.precision):
            for start in range(0, len(texts), size):
                tokens = tokenizer(list(texts[start : start + size]))  # truncated to the context length
                chunks.append(model.encode_text(tokens.to(device, non_blocking=True)).float().cpu().numpy())
        return l2_normalize(np.concatenate(chunks))

    def embed_posts(self, posts: Sequence[PostInput]) -> PostVectors:
        return shared_space_post_vectors(self, posts, self.image_weight)

    def fuse_parts(self, image: np.ndarray, text: np.ndarray) -> np.ndarray:
        return shared_space_fuse(image, text, self.image_weight)


ENCODER = ClipEncoder


def create(name: str, options: dict[str, Any], runtime: RuntimeSettings, home: Path | None = None) -> Encoder:
    return ClipEncoder(name, options, runtime, home)
