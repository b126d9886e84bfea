"""The method's settings (what changes the trained models), JSON-serializable for checkpoints, and presets."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

ALPHA_GRID: tuple[float, ...] = tuple(round(0.1 * step, 1) for step in range(11))  # 0, 0.1, ..., 1


@dataclass(frozen=True)
class MethodConfig:
    """Everything that changes the trained models; how they run (device, precision, inference batch
    size, workers) is ``RuntimeSettings``. Training ``batch_size`` is here: it changes the result."""

    configuration: str = "paper"  # a key of backbones.CONFIGURATIONS: paper | offline
    tiny: bool = False  # the encoders' tiny random towers (tests)
    encoder_options: dict[str, Any] = field(default_factory=dict)  # passed to the encoder (model, weights, tag...)
    hidden_dim: int = 1024  # FC1's width
    lr_tower: float = 1e-5  # pretrained tower: small steps, keep what it learned
    lr_head: float = 1e-3  # freshly initialized head: larger steps
    weight_decay: float = 0.01
    batch_size: int = 32
    epochs: int = 10
    patience: int = 2  # epochs without a validation gain before stopping
    min_delta: float = 1e-4  # the smallest validation gain that counts
    k: int = 10  # Model B's neighbours (training posts)
    temperature: float = 0.05  # Model B's softmax temperature over cosine similarities
    alpha_grid: tuple[float, ...] = ALPHA_GRID
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha_grid", tuple(float(a) for a in self.alpha_grid))
        problems = [
            text
            for bad, text in [
                (self.hidden_dim < 1, "hidden_dim must be at least 1"),
                (self.lr_tower < 0 or self.lr_head <= 0, "lr_tower must be >= 0 and lr_head > 0"),
                (self.batch_size < 1, "batch_size must be at least 1"),
                (self.epochs < 0 or self.patience < 1, "epochs must be >= 0 and patience >= 1"),
                (self.k < 1, "k must be at least 1"),
                (self.temperature <= 0, "temperature must be positive"),
                (not self.alpha_grid or not all(0 <= a <= 1 for a in self.alpha_grid), "alpha_grid must be values in [0, 1]"),
            ]
            if bad
        ]
        if problems:
            raise ValueError("; ".join(problems))

    def backbone_options(self) -> dict[str, Any]:
        """The encoder's options: a tiny tower is seeded with the method's seed."""
        return {**self.encoder_options, "tiny": True, "seed": self.seed} if self.tiny else dict(self.encoder_options)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MethodConfig:
        return cls(**json.loads(text))


def preset(configuration: str, tiny: bool = False, **overrides: Any) -> MethodConfig:
    """A configuration's defaults; ``tiny`` ones are small and quick (a 64-wide head, a few epochs)."""
    small = {"hidden_dim": 64, "batch_size": 16, "epochs": 6, "k": 3, "lr_tower": 1e-4, "lr_head": 3e-3} if tiny else {}
    return replace(MethodConfig(configuration=configuration, tiny=tiny), **{**small, **overrides})
