"""Fusing the lexical and the vector ranking of one text query: reciprocal rank fusion (Cormack, Clarke
and Buettcher, SIGIR 2009), ``w / (K + lexical rank) + (1 - w) / (K + vector rank)``, a missing rank adding
nothing. RRF needs no score calibration between BM25 and cosine, which live on unrelated scales.

``LEXICAL_WEIGHT`` = 0.5 (both rankings count the same) and ``RRF_K`` = 60 (the paper's constant) are the
defaults; ``c2c search --lexical-weight`` changes the weight per query (1: lexical order, 0: vector order,
among the posts either proposes). A post holding one of the query's sizes or part numbers (``exact``) is
ranked above every post that does not, so an exact part-number or size query puts those posts first.

A third ranking, the pseudo-relevance feedback query's (``search.feedback``), joins the fusion with the
vector ranking's weight, ``(1 - w) / (K + feedback rank)``: it is more vector evidence, not a second vote
against the lexical side.
"""

from __future__ import annotations

from collections.abc import Sequence

from c2c_assets.search.cache import Candidate
from c2c_assets.search.lexical import LexicalHit
from c2c_assets.search.settings import LEXICAL_WEIGHT, MODES

__all__ = ["LEXICAL_WEIGHT", "MODES", "RRF_K", "fuse", "lexical_only"]
RRF_K = 60


def fuse(lexical: Sequence[LexicalHit], vector: Sequence[Candidate], weight: float = LEXICAL_WEIGHT, k: int = RRF_K,
         *, feedback: Sequence[Candidate] = ()) -> list[Candidate]:
    """One ranking of the posts any list proposes, best first, each with its rank in each (1-based, None
    where absent) and its fused score. Posts are matched by post_id and content hash: a post one index
    holds in an older version is two candidates, and the join with the current posts keeps the current one."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError("the lexical weight must lie between 0 and 1")
    merged: dict[tuple[str, str], dict] = {}
    for rank, hit in enumerate(lexical, 1):
        merged[(hit.post_id, hit.content_hash)] = {"lexical_rank": rank, "exact": hit.exact, "predicted": False, "vector_rank": None}
    for rank, candidate in enumerate(vector, 1):
        entry = merged.setdefault((candidate.post_id, candidate.content_hash), {"lexical_rank": None, "exact": False})
        entry["vector_rank"], entry["predicted"] = rank, candidate.text_predicted
    for rank, candidate in enumerate(feedback, 1):
        entry = merged.setdefault((candidate.post_id, candidate.content_hash),
                                  {"lexical_rank": None, "exact": False, "vector_rank": None, "predicted": candidate.text_predicted})
        entry["feedback_rank"] = rank
    fused = []
    for (post_id, content_hash), e in merged.items():
        score = (weight / (k + e["lexical_rank"]) if e["lexical_rank"] else 0.0) + ((1 - weight) / (k + e["vector_rank"]) if e["vector_rank"] else 0.0)
        if e.get("feedback_rank"):
            score += (1 - weight) / (k + e["feedback_rank"])
        fused.append((not e["exact"], -score, post_id, Candidate(post_id, content_hash, score, e["predicted"], e["lexical_rank"],
                                                                 e["vector_rank"], e.get("feedback_rank"))))
    fused.sort(key=lambda row: row[:3])
    return [row[3] for row in fused]


def lexical_only(lexical: Sequence[LexicalHit]) -> list[Candidate]:
    """The lexical ranking as candidates (score: BM25), exact posts first as ``LexicalIndex.search`` orders them."""
    return [Candidate(h.post_id, h.content_hash, h.score, False, rank, None) for rank, h in enumerate(lexical, 1)]
