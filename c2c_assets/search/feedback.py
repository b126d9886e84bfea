"""Pseudo-relevance feedback for text queries: the best vector hits, taken as relevant, make a second query.

A buyer's own words ("rubber for my truck") share no word with the posts they want, and the small text
tower places such a query near only a few of them. Rocchio's feedback (Rocchio 1971; as pseudo-relevance
feedback, Buckley et al. 1995) takes the first ``depth`` hits of the text query as if they were relevant
and searches again with their centroid. Here the centroid is of their **post** vectors (photos and text
fused, the ``post`` index), not of their text vectors: the photos of a listing show its part whatever
words it uses, so a query whose first hits are mostly right (the usual case) reaches the posts of that
part that its words never would, including those with useless text. Its ranking joins the reciprocal
rank fusion as more vector evidence (``hybrid.fuse``'s ``feedback``).

The feedback query is the plain centroid (Rocchio's beta term alone): the text query's own vector lives
in another space (the text side) and already ranks in the fusion. Its weight is the vector side's: splitting
that weight between the two instead lost the whole gain, and lowering the lexical weight alone (no
feedback) gained a third of it. ``bench/search_quality.py`` (3,000 realistic posts, ``default``, hybrid,
P@10 without -> with feedback): paraphrases 0.29 -> 0.40 (the set the depth and weight were chosen on),
held-out paraphrases 0.16 -> 0.29, Spanish 0.89 -> 0.94, English and codes 1.00 -> 1.00.

On by default in hybrid mode (``FEEDBACK_DEPTH`` posts), off in semantic mode unless asked
(``c2c search --feedback N``; 0 turns it off). An encoder without a ``post`` index has no feedback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from c2c_assets.search.settings import FEEDBACK_DEPTH

__all__ = ["FEEDBACK_DEPTH", "centroid", "depth_for"]


def depth_for(mode: str, feedback: int | None) -> int:
    """How many hits feed back: ``feedback`` when given (0: none), else ``FEEDBACK_DEPTH`` in hybrid mode
    and none in semantic and lexical mode (semantic stays the plain vector ranking unless asked)."""
    if feedback is not None:
        if feedback < 0:
            raise ValueError("the feedback depth cannot be negative")
        return 0 if mode == "lexical" else feedback
    return FEEDBACK_DEPTH if mode == "hybrid" else 0


def centroid(seeds: Sequence[str], vector_of: Callable[[str], np.ndarray | None]) -> np.ndarray | None:
    """The unit mean of the seeds' post vectors (``vector_of(post_id)``, None for a post the index lacks),
    or None when none has one or they cancel out."""
    vectors = [v for v in (vector_of(post_id) for post_id in seeds) if v is not None and np.isfinite(v).all()]
    if not vectors:
        return None
    mean = np.mean(np.asarray(vectors, dtype=np.float32), axis=0)
    norm = float(np.linalg.norm(mean))
    return (mean / norm).astype(np.float32) if norm > 1e-6 else None
