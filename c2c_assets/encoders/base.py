"""The encoder protocol, runtime settings (device, batch size, precision) and shared helpers.

Plain Python with no Dagster. torch is imported inside the functions that need it, so importing
this module stays cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

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


class CheckpointMismatch(EncoderError):
    """A weights file whose tensor names do not match the architecture: refused, never loaded partly."""

    def __init__(self, path: Path, what: str, missing: Sequence[str], unexpected: Sequence[str], total: int) -> None:
        problems = []
        if missing:
            problems.append(f"{len(missing)} of the model's {total} tensors are missing from it (first missing: {missing[0]!r})")
        if unexpected:
            problems.append(f"{len(unexpected)} of its tensors are not in the model (first: {unexpected[0]!r})")
        hint = ""
        if missing and unexpected:
            key = missing[0]
            carrier = next((name for name in unexpected if name.endswith(key) and name != key), None)
            if carrier is not None:
                hint = f"; its names carry a prefix {carrier[: -len(key)]!r} that the model's do not"
        super().__init__(f"{path} is not a {what} checkpoint: {'; '.join(problems)}{hint}")
        self.path, self.missing, self.unexpected = Path(path), list(missing), list(unexpected)


def check_checkpoint_keys(
    path: Path | str,
    what: str,
    expected: Sequence[str],
    found: Iterable[str],
    *,
    ignore_unexpected: Callable[[str], bool] = lambda key: False,
    optional: Callable[[str], bool] = lambda key: False,
) -> None:
    """Refuse a checkpoint unless it holds every ``expected`` tensor name (in the model's order, so the first
    missing key is the model's first) and nothing else; ``optional`` names may be absent and
    ``ignore_unexpected`` ones (a classifier the encoder drops) may be extra. CheckpointMismatch names the
    file and the first missing key."""
    found = set(found)
    wanted = set(expected)
    missing = [key for key in expected if key not in found and not optional(key)]
    unexpected = sorted(key for key in found if key not in wanted and not ignore_unexpected(key))
    if missing or unexpected:
        raise CheckpointMismatch(Path(path), what, missing, unexpected, len(expected))


def checkpoint_keys(path: Path | str) -> list[str]:
    """Tensor names of a safetensors file (its header only) or of a torch file (memory-mapped where it
    can be: nothing is read but the names)."""
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            return list(handle.keys())
    state = load_torch_file(path)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    return list(state)


def load_torch_file(path: Path | str, map_location: Any = "cpu") -> Any:
    """``torch.load`` with ``weights_only``, memory-mapped when the file is in torch's zip format (the
    tensors are read from the page cache when used instead of being copied into memory first)."""
    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=True)
    except RuntimeError as error:  # a legacy (pre-zip) file cannot be memory-mapped
        if "mmap" not in str(error):
            raise
        return torch.load(path, map_location=map_location, weights_only=True)


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


def check_device(value: Any) -> Any:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``: the device setting of runtime and training configs."""
    if isinstance(value, str) and not (value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit())):
        raise ValueError("input should be 'auto', 'cpu', 'cuda' or 'cuda:N'")
    return value  # a non-string is left to the str validation


Device = Annotated[str, BeforeValidator(check_device)]


class RuntimeSettings(BaseModel):
    """How to run a model; none of these change its output beyond floating-point noise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: Device = Field("auto", description="auto, cpu, cuda or cuda:N.")
    batch_size: int = Field(32, ge=1, description="Photos/texts per model call.")
    precision: Literal["auto", "fp32", "fp16", "bf16"] = Field(
        "auto", description="auto (bf16 on CUDA that has it, else fp16 on CUDA; fp32 on CPU), fp32, fp16 or bf16."
    )
    num_workers: int = Field(2, ge=0, description="DataLoader processes that decode and transform photos.")
    pin_memory: bool = Field(True, description="Pinned host memory for photo batches (CUDA only).")


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


QUERY_KINDS = (TEXT, IMAGE, AUDIO, "like")  # what a search query can be: a text, a photo, a sound, or a post ("like")


def _path_text(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


# A weights file or folder option: a string (a Path given from Python is taken as its string).
PathOption = Annotated[str, BeforeValidator(_path_text)]
# A weight in [0, 1] (an int such as 1 is fine; a bool or a string is not).
UnitWeight = Annotated[float, Field(ge=0, le=1)]


class EncoderOptions(BaseModel):
    """The options every family takes; each family's ``Options`` adds its own.

    Strict: values are what a JSON config or ``--option KEY=VALUE`` (parsed as JSON) gives, with no
    silent coercion (``"0.5"``, ``"yes"`` or ``true`` for a number are errors, as is an unknown key).

    - ``photos``: ``all`` (default) embeds a post from all its photos, ``first`` from its first photo
      only (the first-photo-versus-all ablation); see ``Encoder.prepare_posts``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    photos: Literal["all", "first"] = "all"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _bounds(model: type[BaseModel], name: str) -> str | None:
    """``[lo, hi]`` of a numeric option declared with ``Field(ge=lo, le=hi)``, else None."""
    field_info = model.model_fields.get(name)
    if field_info is None:
        return None
    low = next((m.ge for m in field_info.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in field_info.metadata if getattr(m, "le", None) is not None), None)
    if low is None and high is None:
        return None
    return f"[{low}, {high}]" if low is not None and high is not None else f">= {low}" if low is not None else f"<= {high}"


def describe_options_error(model: type[BaseModel], error: ValidationError) -> str:
    """One line per problem, joined by '; ': the option, what is allowed, and what was given."""
    problems = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        kind = item["type"]
        if kind == "extra_forbidden":
            problems.append(f"unknown option {loc!r}; options: {', '.join(sorted(model.model_fields))}")
        elif not loc:  # a rule across options (a model validator)
            problems.append(item["msg"].removeprefix("Value error, "))
        else:
            name = str(item["loc"][0])
            bounds = _bounds(model, name)
            if bounds and kind in {"float_type", "int_type", "greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
                number = "an integer" if model.model_fields[name].annotation is int else "a number"
                allowed = f"{number} in {bounds}" if bounds.startswith("[") else f"{number} {bounds}"
                problems.append(f"option {loc}: input should be {allowed}, got {item['input']!r}")
            elif kind == "bool_type":
                problems.append(f"option {loc}: input should be true or false, got {item['input']!r}")
            else:
                problems.append(f"option {loc}: {_lower_first(item['msg'])}, got {item['input']!r}")
    return "; ".join(problems)


class Encoder(ABC):
    """An embedding model for posts. Subclasses set the class attributes and implement ``embed_posts``."""

    family: str = ""
    version: str = "1"
    modalities: frozenset[str] = frozenset()
    # The post vector is a function of the ``image`` and ``text`` parts (``fuse_parts``): a text part
    # can be replaced, e.g. by one predicted from the photos (image_to_text.thin_text).
    fuses_parts: bool = False
    # The family's options, validated once at creation into ``self.opts``.
    Options: ClassVar[type[EncoderOptions]] = EncoderOptions
    # Query kind (text, image, audio, like) -> the index side that answers it (post, text, image).
    # A kind that is missing is a query the family cannot answer.
    query_sides: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self, name: str, options: Mapping[str, Any], runtime: RuntimeSettings | None = None, home: Path | None = None
    ) -> None:
        self.name = name
        self.opts = self.parse_options(options, name)
        # The options as given: what the fingerprint hashes, so that a config keeps its fingerprint
        # (``photos: all`` is the default and left out, as it always was).
        self.options = {key: value for key, value in options.items() if not (key == "photos" and value == "all")}
        self.runtime = runtime or RuntimeSettings()
        self.home = home  # the C2C home that model caches go under; None: C2cHome.from_env()

    @classmethod
    def parse_options(cls, options: Mapping[str, Any], name: str = "?") -> EncoderOptions:
        """The options validated by the family's ``Options`` model, or an EncoderError that names the
        encoder, the option and what is allowed."""
        try:
            return cls.Options.model_validate(dict(options))
        except ValidationError as error:
            raise EncoderError(f"encoder {name!r} ({cls.family}): {describe_options_error(cls.Options, error)}") from None

    @classmethod
    def query_side(cls, kind: str) -> str:
        """The index side (post, text, image) that answers a query of ``kind``; no model is loaded."""
        side = cls.query_sides.get(kind)
        if side is None:
            raise EncoderError(f"{cls.family} encoders cannot answer {kind} queries")
        return side

    def prepare_posts(self, posts: Sequence[PostInput]) -> list[PostInput]:
        """The posts as this encoder embeds them: with ``photos: first``, each keeps its first photo only.

        Call it before anything that depends on a post's photos (embedding, thin-text decisions)."""
        if self.opts.photos == "first":
            return [replace(post, image_paths=post.image_paths[:1]) for post in posts]
        return list(posts)

    def models_dir(self) -> Path:
        """Where this encoder caches derived model files (e.g. ONNX exports): ``<home>/models``."""
        return models_dir(self.home)

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


def models_dir(home: Path | str | None) -> Path:
    """``<home>/models``, the model cache of a C2C home. Without a home (a benchmark or a notebook that
    has none) it is the one of ``C2cHome.from_env()``: ``$C2C_HOME``, else ``./.c2c``."""
    from c2c_assets.home import C2cHome

    return C2cHome.from_env(home).root / "models"


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
