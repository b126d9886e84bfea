"""Model A: the image tower fine-tuned with a small learning rate under a fresh head with a large one.

Head: ``FC1 -> Norm1 -> GELU -> FC2 -> Norm2`` (``nn.Linear``, ``nn.LayerNorm``; GELU is the non-linearity
between the two blocks, without which FC1 and FC2 would collapse into one linear map). Loss ``1 - cos``
to the post's text embedding. AdamW, two parameter groups: the tower at ``lr_tower``, the head at
``lr_head``. Early stopping on the validation mean cosine; the best weights (possibly the initial
ones) are restored.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from c2c_assets.encoders.base import RuntimeSettings, autocast_dtype, inference, l2_normalize
from c2c_assets.image_to_text.backbones import Backbone
from c2c_assets.image_to_text.config import MethodConfig
from c2c_assets.image_to_text.data import Pair, PhotoDataset, Preprocess, photo_loader

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)


class Head(nn.Module):
    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden_dim)
        self.norm1 = nn.LayerNorm(hidden_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_dim, out_dim)
        self.norm2 = nn.LayerNorm(out_dim)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.norm2(self.fc2(self.act(self.norm1(self.fc1(features)))))


class TextPredictor(nn.Module):
    """Pixels -> predicted text embedding (not normalized; compare by cosine)."""

    def __init__(self, tower: nn.Module, head: Head) -> None:
        super().__init__()
        self.tower = tower
        self.head = head

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.head(self.tower(pixels))


def new_predictor(backbone: Backbone, hidden_dim: int, out_dim: int) -> TextPredictor:
    """A trainable copy of the backbone's tower (the backbone's own stays frozen for Model B and the
    zero-shot baseline) under a new head, initialized from torch's current RNG."""
    tower = copy.deepcopy(backbone.tower).requires_grad_(True)
    return TextPredictor(tower, Head(backbone.feature_dim, hidden_dim, out_dim)).to(backbone.device)


def param_groups(model: TextPredictor, lr_tower: float, lr_head: float, weight_decay: float) -> list[dict[str, Any]]:
    """The paper's differential learning rates: one AdamW group per part, named ``tower`` and ``head``."""
    return [
        {"name": "tower", "params": [p for p in model.tower.parameters() if p.requires_grad], "lr": lr_tower, "weight_decay": weight_decay},
        {"name": "head", "params": [p for p in model.head.parameters() if p.requires_grad], "lr": lr_head, "weight_decay": weight_decay},
    ]


def make_optimizer(model: TextPredictor, config: MethodConfig) -> torch.optim.AdamW:
    return torch.optim.AdamW(param_groups(model, config.lr_tower, config.lr_head, config.weight_decay))


@dataclass
class TrainHistory:
    initial_val_cosine: float  # before any step: the untrained model
    val_cosine: list[float] = field(default_factory=list)  # after each epoch
    train_loss: list[float] = field(default_factory=list)  # mean 1 - cos over each epoch's photos
    best_epoch: int = 0  # 0: the initial weights were never beaten
    stopped_early: bool = False

    @property
    def best_val_cosine(self) -> float:
        return self.val_cosine[self.best_epoch - 1] if self.best_epoch else self.initial_val_cosine


def mean_cosine(predicted: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean(np.sum(l2_normalize(predicted) * l2_normalize(targets), axis=1)))


def predict_photos(
    module: nn.Module, preprocess: Preprocess, paths: Sequence[Path], runtime: RuntimeSettings, device: torch.device
) -> np.ndarray:
    """``module`` on each photo, in eval mode and ``inference`` (mixed precision on CUDA): (N, d) unit vectors."""
    module.eval()
    chunks = []
    with inference(device, runtime.precision):
        for pixels in photo_loader(PhotoDataset(paths, preprocess), runtime.batch_size, runtime, device):
            chunks.append(module(pixels.to(device, non_blocking=True)).float().cpu().numpy())
    if not chunks:
        raise ValueError("no photos to predict for")
    return l2_normalize(np.concatenate(chunks))


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """torch's RNGs seeded for the block and restored after: reproducible without touching the caller's."""
    devices = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


@contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Deterministic kernels on CPU, where they cost next to nothing (restored after; process-wide
    while it lasts). On CUDA they would need cuBLAS workspace settings and slower kernels: not forced."""
    if device.type != "cpu":
        yield
        return
    enabled, warn_only = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(enabled, warn_only=warn_only)


def _train_mode(model: nn.Module) -> None:
    """Train mode, except batch norms, which keep their pretrained statistics: a few photos per batch
    give noisy statistics that would drift them (their scale and shift still train)."""
    model.train()
    for module in model.modules():
        if isinstance(module, _BATCH_NORMS):
            module.eval()


def _targets(pairs: Sequence[Pair]) -> np.ndarray:
    return np.stack([pair.target for pair in pairs]).astype(np.float32)


def train_model_a(
    backbone: Backbone, train: Sequence[Pair], val: Sequence[Pair], config: MethodConfig, runtime: RuntimeSettings,
    log: Callable[[str], None] = lambda _: None,
) -> tuple[TextPredictor, TrainHistory]:
    """Fine-tune a copy of the tower with a new head on ``train``; stop when ``val`` stops improving."""
    if not train or not val:
        raise ValueError(f"Model A needs training and validation pairs, got {len(train)} and {len(val)}")
    targets = _targets(train)
    val_paths, val_targets = [pair.photo for pair in val], _targets(val)
    device = backbone.device
    dtype = autocast_dtype(device, runtime.precision)
    amp = (lambda: torch.autocast(device_type="cuda", dtype=dtype)) if dtype is not None else nullcontext
    with seeded(config.seed, device), deterministic(device):
        model = new_predictor(backbone, config.hidden_dim, targets.shape[1])
        optimizer = make_optimizer(model, config)
        scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)  # fp16 gradients underflow unscaled
        loader = photo_loader(
            PhotoDataset([pair.photo for pair in train], backbone.preprocess, targets),
            config.batch_size, runtime, device, generator=torch.Generator().manual_seed(config.seed),
        )

        def validate() -> float:
            return mean_cosine(predict_photos(model, backbone.preprocess, val_paths, runtime, device), val_targets)

        history = TrainHistory(initial_val_cosine=validate())
        log(f"model A: {len(train)} training photos, validation cosine before training {history.initial_val_cosine:.4f}")
        best_state = {name: value.to("cpu", copy=True) for name, value in model.state_dict().items()}
        stale = 0
        for epoch in range(1, config.epochs + 1):
            started = time.perf_counter()
            _train_mode(model)
            total = torch.zeros((), device=device)
            for pixels, batch_targets in loader:
                pixels = pixels.to(device, non_blocking=True)
                batch_targets = batch_targets.to(device, non_blocking=True)
                with amp():
                    predicted = model(pixels)
                loss = (1 - nn.functional.cosine_similarity(predicted.float(), batch_targets, dim=-1)).mean()
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                total += loss.detach() * len(pixels)  # summed on the device: no sync per step
            history.train_loss.append(float(total) / len(train))
            history.val_cosine.append(validate())
            seconds = time.perf_counter() - started
            log(
                f"model A epoch {epoch}/{config.epochs}: train loss {history.train_loss[-1]:.4f}, validation cosine "
                f"{history.val_cosine[-1]:.4f} ({len(train) / seconds:.1f} photos/s, {seconds:.0f} s)"
            )
            if history.val_cosine[-1] > history.best_val_cosine + config.min_delta:
                history.best_epoch, stale = epoch, 0
                best_state = {name: value.to("cpu", copy=True) for name, value in model.state_dict().items()}
            else:
                stale += 1
                if stale >= config.patience:
                    history.stopped_early = True
                    break
        model.load_state_dict(best_state)
    model.eval()
    return model, history
