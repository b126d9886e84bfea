"""What a ``c2c image-to-text`` run / an ``image_to_text`` materialization is asked for: one pydantic
model for the Dagster run config (``ImageToTextConfig`` inherits it) and the command line."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from c2c_assets.encoders.base import Device


class ImageToTextSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tiny: bool = Field(False, description="Random tiny towers (tests).")
    device: Device = Field("auto", description="auto, cpu, cuda or cuda:N.")
    epochs: int = Field(10, ge=0, description="Most epochs for model A (early stopping on validation may end sooner).")
    photos: Literal["all", "first"] = Field("all", description="all: one pair per photo; first: the cover photo only (faster).")
    seed: int = 0
