"""The encoder protocol, runtime settings (device, batch size, precision) and shared helpers.

Plain Python with no Dagster. torch is imported inside the functions that need it, so importing
this module stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TEXT, IMAGE, AUDIO = "text", "image", "audio"


class EncoderError(Exception):
    """A clear, user-facing problem with an encoder (bad config, missing weights, bad query)."""


class WeightsNotFound(EncoderError):
    def __init__(self, what: str, path: Path, origin: str) -> None:
        super().__init__(
            f"{what}: no weights at {path}. {origin} Put the file there, point the encoder's `weights` option at it, "
            f"or set C2C_WEIGHTS_DIR to the folder that holds it. Nothing is downloaded at run time."
        )
        self.path = path


def weights_dir() -> Path:
    return Path(os.environ.get("C2C_WEIGHTS_DIR", "~/.cache/c2c/weights")).expanduser()


def require_file(path: str | Path | None, default_name: str, what: str, origin: str) -> Path:
    """Resolve a weights file: an explicit path, else ``C2C_WEIGHTS_DIR/default_name``; it must exist."""
    candidate = Path(path).expanduser() if path else weights_dir() / default_name
    if not candidate.exists():
        raise WeightsNotFound(what, candidate, origin)
    return candidate


def file_fingerprint(path: Path) -> str:
    """Identity of a weights file without hashing gigabytes: name, size, and hashes of its first and last MiB."""
    stat = path.stat()
    digest = hashlib.sha256(f"{path.name}:{stat.st_size}".encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(1 << 20))
        if stat.st_size > 2 << 20:
            handle.seek(-(1 << 20), os.SEEK_END)
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class RuntimeSettings:
    """How to run a model; none of these change its output beyond floating-point noise."""

    device: str = "auto"  # auto | cpu | cuda | cuda:N
    batch_size: int = 32
    precision: str = "auto"  # auto (bf16 on CUDA that has it, else fp16 on CUDA, fp32 on CPU) | fp32 | fp16 | bf16
    num_workers: int = 2  # DataLoader processes that decode and transform photos
    pin_memory: bool = True  # only used on CUDA

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise EncoderError("batch_size must be at least 1")
        if self.precision not in {"auto", "fp32", "fp16", "bf16"}:
            raise EncoderError(f"precision must be auto, fp32, fp16 or bf16, got {self.precision!r}")
        if not (self.device in {"auto", "cpu", "cuda"} or self.device.startswith("cuda:")):
            raise EncoderError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")


def resolve_device(setting: str = "auto") -> Any:
    import torch

    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting.startswith("cuda") and not torch.cuda.is_available():
        raise EncoderError(f"device {setting!r} requested but CUDA is not available here")
    return torch.device(setting)


def autocast_dtype(device: Any, precision: str) -> Any:
    """The dtype for autocast, or None for plain fp32."""
    import torch

    if device.type != "cuda" or precision == "fp32":
        return None
    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp16": torch.float16, "bf16": torch.bfloat16}[precision]


@contextmanager
def inference(device: Any, precision: str) -> Iterator[None]:
    """``torch.inference_mode`` plus mixed precision on CUDA."""
    import torch

    dtype = autocast_dtype(device, precision)
    amp = torch.autocast(device_type="cuda", dtype=dtype) if dtype is not None else nullcontext()
    with torch.inference_mode(), amp:
        yield


class _ImageDataset:
    def __init__(self, paths: Sequence[Path | str], transform: Callable[[Any], Any]) -> None:
        self.paths = list(paths)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        from c2c_assets.storage import open_image

        with open_image(self.paths[index]) as image:
            return self.transform(image.convert("RGB"))


def image_batches(
    paths: Sequence[Path | str], transform: Callable[[Any], Any], runtime: RuntimeSettings, device: Any
) -> Iterator[Any]:
    """Decoded, transformed photo tensors in batches, on ``device``.

    Decoding runs in DataLoader worker processes (only when there are enough photos to pay for
    starting them), and batches are pinned for an asynchronous copy when the target is CUDA.
    """
    import torch

    workers = runtime.num_workers if len(paths) >= 4 * runtime.batch_size else 0
    loader = torch.utils.data.DataLoader(
        _ImageDataset(paths, transform),
        batch_size=runtime.batch_size,
        num_workers=workers,
        pin_memory=runtime.pin_memory and device.type == "cuda",
        persistent_workers=False,
    )
    for batch in loader:
        yield batch.to(device, non_blocking=True)


def l2_normalize(vectors: np.ndarray, axis: int = -1) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=axis, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


@dataclass(frozen=True)
class PostInput:
    """What an encoder sees of a post: clean text and the paths of its stored photos, in order."""

    post_id: str
    title: str
    description: str
    image_paths: tuple[Path, ...] = ()

    @property
    def text(self) -> str:
        return f"{self.title}. {self.description}".strip(". ") if self.description else self.title


@dataclass
class PostVectors:
    """``vectors``: unit post vectors (N, width). ``parts``: per-modality unit vectors where the
    encoder has them (``text``, ``image``), a row of NaN where a post lacks that modality."""

    vectors: np.ndarray
    parts: dict[str, np.ndarray] = field(default_factory=dict)


def mean_of_images(per_image: np.ndarray, counts: Sequence[int]) -> np.ndarray:
    """Per post, the normalized mean of its normalized photo vectors; NaN rows for posts without photos."""
    per_image = l2_normalize(per_image)
    out = np.full((len(counts), per_image.shape[1]), np.nan, dtype=np.float32)
    start = 0
    for row, count in enumerate(counts):
        if count:
            out[row] = l2_normalize(per_image[start : start + count].mean(axis=0))
        start += count
    return out


def fuse(image: np.ndarray, text: np.ndarray, image_weight: float) -> np.ndarray:
    """``w * image + (1 - w) * text`` in one space, renormalized; a missing side (NaN) leaves the other."""
    has_image = ~np.isnan(image).any(axis=1)
    has_text = ~np.isnan(text).any(axis=1)
    fused = np.zeros_like(text if text.size else image)
    both = has_image & has_text
    fused[both] = image_weight * image[both] + (1 - image_weight) * text[both]
    fused[has_image & ~has_text] = image[has_image & ~has_text]
    fused[has_text & ~has_image] = text[has_text & ~has_image]
    return l2_normalize(fused)


class Encoder(ABC):
    """An embedding model for posts. Subclasses set the class attributes and implement ``embed_posts``."""

    family: str = ""
    version: str = "1"
    modalities: frozenset[str] = frozenset()
    # The post vector is a function of the ``image`` and ``text`` parts (``fuse_parts``): a text part
    # can be replaced, e.g. by one predicted from the photos (image_to_text.thin_text).
    fuses_parts: bool = False

    def __init__(self, name: str, options: dict[str, Any], runtime: RuntimeSettings | None = None) -> None:
        self.name = name
        self.options = dict(options)
        self.runtime = runtime or RuntimeSettings()

    @property
    @abstractmethod
    def width(self) -> int: ...

    def weights_identity(self) -> str:
        """What identifies the weights (file fingerprints, or 'random:<seed>' for tiny configs)."""
        return "none"

    def fingerprint(self) -> str:
        """Changes when the weights or anything that changes the vectors changes (not device or batch size)."""
        payload = json.dumps(
            {"family": self.family, "version": self.version, "options": self.options, "weights": self.weights_identity()},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @abstractmethod
    def embed_posts(self, posts: Sequence[PostInput]) -> PostVectors: ...

    def fuse_parts(self, image: np.ndarray, text: np.ndarray) -> np.ndarray:
        """Post vectors from per-modality unit vectors (NaN rows where a post lacks one), as ``embed_posts`` fuses them."""
        raise EncoderError(f"encoder {self.name!r} ({self.family}) does not fuse per-modality parts")

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise EncoderError(f"encoder {self.name!r} ({self.family}) does not embed text")

    def embed_images(self, paths: Sequence[Path | str]) -> np.ndarray:
        raise EncoderError(f"encoder {self.name!r} ({self.family}) does not embed images")

    def embed_audio(self, paths: Sequence[Path | str]) -> np.ndarray:
        raise EncoderError(f"encoder {self.name!r} ({self.family}) does not embed audio")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "version": self.version,
            "width": self.width,
            "modalities": sorted(self.modalities),
            "fingerprint": self.fingerprint(),
            "options": self.options,
        }


def shared_space_post_vectors(encoder: Encoder, posts: Sequence[PostInput], image_weight: float) -> PostVectors:
    """Post vectors of an encoder whose photo and text towers share one space (CLIP, ImageBind):
    ``w * mean(photos) + (1 - w) * text``; a post with neither photos nor text gets a NaN row."""
    image = mean_of_images(
        encoder.embed_images([path for post in posts for path in post.image_paths]),
        [len(post.image_paths) for post in posts],
    )
    text = np.full((len(posts), encoder.width), np.nan, dtype=np.float32)
    with_text = [row for row, post in enumerate(posts) if post.text.strip()]
    if with_text:
        text[with_text] = encoder.embed_texts([posts[row].text for row in with_text])
    return PostVectors(vectors=shared_space_fuse(image, text, image_weight), parts={IMAGE: image, TEXT: text})


def shared_space_fuse(image: np.ndarray, text: np.ndarray, image_weight: float) -> np.ndarray:
    """``fuse`` for towers that share a space; a post with neither side gets a NaN row."""
    vectors = fuse(image, text, image_weight)
    vectors[np.isnan(image).any(axis=1) & np.isnan(text).any(axis=1)] = np.nan
    return vectors
