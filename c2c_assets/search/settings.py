"""How ``faiss_index`` builds: one pydantic model for the Dagster run config (``IndexConfig`` inherits
it) and ``c2c index``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IndexSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    memory_budget_gb: float = Field(8.0, gt=0, description="Above it, IVF-PQ with re-ranking replaces HNSW.")
    incremental: bool = Field(
        True, description="Add new and changed vectors to the live build when they are under 10% of it (else rebuild)."
    )


# Hybrid search (``search.hybrid``): the modes, and the fusion's default weight of the lexical ranking.
MODES = ("hybrid", "semantic", "lexical")
LEXICAL_WEIGHT = 0.5
# Pseudo-relevance feedback (``search.feedback``): the vector side's best hits whose post vectors make a
# second query; on by default in hybrid mode, off in semantic mode (``c2c search --feedback N``).
FEEDBACK_DEPTH = 5
