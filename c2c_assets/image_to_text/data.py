"""Image-text pairs: building them from posts, splitting them by post, and loading their photos for torch."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np

from c2c_assets.encoders.base import RuntimeSettings, l2_normalize
from c2c_assets.storage import Location, location

if TYPE_CHECKING:
    import torch

Preprocess = Callable[[Path], "torch.Tensor"]  # a photo file -> a (3, H, W) float tensor, the tower's input


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no truth value for ==
class Pair:
    """One training example: a photo of a post and the embedding of that post's text (unit, float32)."""

    post_id: str
    photo: Location
    target: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        target = np.asarray(self.target, dtype=np.float32)
        if target.ndim != 1 or not np.isfinite(target).all() or not np.linalg.norm(target) > 0:
            raise ValueError(f"pair {self.post_id!r}: the target must be a finite, non-zero 1-d vector")
        object.__setattr__(self, "photo", location(self.photo))
        object.__setattr__(self, "target", l2_normalize(target))


class Split(NamedTuple):
    train: list[Pair]
    val: list[Pair]
    test: list[Pair]


def split_by_post(
    pairs: Sequence[Pair], seed: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
) -> Split:
    """Train/val/test with every photo of a post in the same split (no post leaks across splits).

    Posts are split, not pairs: sorted ids shuffled by ``seed``, so the result depends only on the set
    of posts and the seed, not on the input order. Each split with a non-zero fraction gets at least one
    post when there are enough posts. Pairs keep their input order inside a split.
    """
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    posts = sorted({pair.post_id for pair in pairs})
    order = [posts[i] for i in np.random.default_rng(seed).permutation(len(posts))]
    n = len(posts)
    n_val, n_test = (round(n * f) for f in fractions[1:])
    # Rounding can leave a small split empty; give it one post as long as train keeps at least one.
    if fractions[1] > 0 and n_val == 0 and n - n_test >= 2:
        n_val = 1
    if fractions[2] > 0 and n_test == 0 and n - n_val >= 2:
        n_test = 1
    n_train = n - n_val - n_test
    which = {post: 0 for post in order[:n_train]}
    which.update({post: 1 for post in order[n_train : n_train + n_val]})
    which.update({post: 2 for post in order[n_train + n_val :]})
    out: tuple[list[Pair], list[Pair], list[Pair]] = ([], [], [])
    for pair in pairs:
        out[which[pair.post_id]].append(pair)
    return Split(*out)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def needs_predicted_text(title: str | None, description: str | None, min_chars: int = 20) -> bool:
    """True when a post's text is missing or too short to say what it sells (fewer than ``min_chars``
    characters of title and description together, whitespace collapsed): predict its text embedding."""
    return len(_clean(f"{_clean(title)} {_clean(description)}")) < min_chars


def build_pairs(
    posts: Iterable[tuple[str, str, Sequence[Location | str]]],
    embed_texts: Callable[[Sequence[str]], np.ndarray],
    photos: Literal["all", "first"] = "all",
    min_chars: int = 20,
) -> list[Pair]:
    """Pairs from platform posts ``(post_id, title + description, photo paths)``.

    ``photos="all"`` (default) makes one pair per photo, all sharing the post's text embedding: the
    paper trains on image-text pairs, every photo of a listing shows what its text describes, and more
    photos are more training signal (``split_by_post`` keeps a post's photos together). ``"first"``
    keeps the cover photo only, one pair per post.

    Posts without photos, or whose text is shorter than ``min_chars`` (``needs_predicted_text``), are
    left out: they are the posts the method predicts for, and a near-empty text is a poor target.
    ``embed_texts`` gets all kept texts in one call and must return their unit embeddings.
    """
    if photos not in ("all", "first"):
        raise ValueError(f"photos must be 'all' or 'first', got {photos!r}")
    kept = [
        (post_id, _clean(text), [location(p) for p in paths][: 1 if photos == "first" else None])
        for post_id, text, paths in posts
        if paths and not needs_predicted_text(text, "", min_chars)
    ]
    if not kept:
        return []
    targets = l2_normalize(np.asarray(embed_texts([text for _, text, _ in kept]), dtype=np.float32))
    if len(targets) != len(kept):
        raise ValueError(f"embed_texts returned {len(targets)} vectors for {len(kept)} texts")
    return [Pair(post_id, path, target) for (post_id, _, paths), target in zip(kept, targets, strict=True) for path in paths]


class PhotoDataset:
    """Photos (and optionally their targets) as tensors; decoding runs in DataLoader workers."""

    def __init__(self, paths: Sequence[Path], preprocess: Preprocess, targets: np.ndarray | None = None) -> None:
        self.paths = list(paths)
        self.preprocess = preprocess
        self.targets = targets

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Any:
        pixels = self.preprocess(self.paths[index])
        if self.targets is None:
            return pixels
        import torch

        return pixels, torch.from_numpy(self.targets[index])


def photo_loader(
    dataset: PhotoDataset,
    batch_size: int,
    runtime: RuntimeSettings,
    device: torch.device,
    generator: torch.Generator | None = None,
) -> torch.utils.data.DataLoader[Any]:
    """A DataLoader over ``dataset``: shuffled by ``generator`` when given (training), in order otherwise.

    Worker processes decode photos only when there are enough of them to pay for starting the workers
    (as ``encoders.base.image_batches``); batches are pinned for an asynchronous copy to CUDA.
    """
    import torch

    workers = runtime.num_workers if len(dataset) >= 4 * batch_size else 0
    return torch.utils.data.DataLoader(
        dataset,  # type: ignore[arg-type]
        batch_size=batch_size,
        shuffle=generator is not None,
        generator=generator,
        num_workers=workers,
        pin_memory=runtime.pin_memory and device.type == "cuda",
        persistent_workers=workers > 0 and generator is not None,  # training reuses its workers every epoch
    )
