"""How comparables and category predictions are made: one pydantic model each for the domain, the
Dagster run config and the CLI."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PricingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(10, ge=1, description="Comparables per post: its k nearest posts with a usable price.")
    min_comparables: int = Field(3, ge=1, description="Fewer comparables than this: no estimate, and the reason why.")
    group_margin: int = Field(8, ge=0, description="Extra neighbours fetched so that dropping the post's repost group still leaves k.")


class CategorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["auto", "logistic", "knn"] = Field("auto", description="auto: the better of logistic regression and k-NN on validation.")
    test_share: float = Field(0.2, gt=0, lt=1, description="Share of listing groups held out for the test scores.")
    validation_share: float = Field(0.2, gt=0, lt=1, description="Share of the remaining groups used to choose the model.")
    max_train: int = Field(50_000, ge=10, description="At most this many labelled posts train the classifier (a seeded sample).")
    seed: int = 0
