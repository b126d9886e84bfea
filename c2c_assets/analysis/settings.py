"""How an encoder's vectors are analysed: one pydantic model for the domain (``analysis.pipeline``),
the Dagster run config (``AnalysisConfig`` inherits it) and ``c2c analyse`` (its defaults and help)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SWEEP_WIDTHS = (8, 16, 32, 64, 128)


class AnalysisSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reduction: Literal["pca", "umap"] = Field("pca", description="pca, or umap (UMAP on top of a PCA to 64, as is usual).")
    width: int = Field(64, ge=2, description="Analysis width (64: the ViT paper's; 32: the ImageBind paper's).")
    algorithm: Literal["kmeans", "hdbscan"] = Field(
        "kmeans", description="kmeans, or hdbscan (the density-based alternative the ViT paper asks about)."
    )
    k: int = Field(20, ge=2, description="Clusters for k-means.")
    min_cluster_size: int = Field(25, ge=2, description="HDBSCAN's smallest cluster.")
    # A list, not a tuple: Dagster's config schema has no tuples.
    sweep_widths: list[int] = Field(list(SWEEP_WIDTHS), min_length=1, description="Widths of the PCA + k-means sweep.")
    sweep_sample: int = Field(50_000, ge=2, description="The sweep clusters a seeded sample of this many posts at each width.")
    silhouette_sample: int = Field(10_000, ge=2, description="Posts the silhouette is computed on (a seeded sample).")
    map_sample: int = Field(70_000, ge=2, description="Posts on the 2-D map (the OpenFlamingo paper's UMAP sample).")
    seed: int = 0
    incremental: bool = Field(
        True, description="Update the stored fit with the new and changed posts when they are few (under 10% since the "
        "fit); false refits the PCA and k-means over every current post."
    )
