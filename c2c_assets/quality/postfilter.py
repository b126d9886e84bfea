"""Search hits with one hit per repost group (``dedupe``) and without flagged posts (``hide_flagged``): a
filter after the search, so the search itself stays as it is."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from c2c_assets.home import C2cHome

H = TypeVar("H")
# Hits asked for per hit wanted: filtering may drop some; a second round widens the search once more.
OVERFETCH = 4


def post_filter(hits: Sequence[H], *, group_of: dict[str, str] | None = None, flagged: set[str] | None = None,
                post_id: Callable[[H], str] = lambda hit: hit.post_id) -> list[H]:  # type: ignore[attr-defined]
    """``hits`` in order, keeping the best hit of each repost group (``group_of``) and none of ``flagged``."""
    seen: set[str] = set()
    kept = []
    for hit in hits:
        pid = post_id(hit)
        if flagged is not None and pid in flagged:
            continue
        if group_of is not None and pid in group_of:
            if group_of[pid] in seen:
                continue
            seen.add(group_of[pid])
        kept.append(hit)
    return kept


def search_filtered(home: C2cHome, encoder: str, k: int, search: Callable[..., list], *, dedupe: bool, hide_flagged: bool, **query: Any) -> list:
    """``search(k=...)`` asked for more hits than ``k``, then ``post_filter``; at most ``k`` come back."""
    from c2c_assets.quality.encoder_pipeline import repost_group_of
    from c2c_assets.quality.listing import flagged_post_ids

    group_of = repost_group_of(home, encoder) if dedupe else None
    flagged = flagged_post_ids(home) if hide_flagged else None
    wanted = k * OVERFETCH
    for _ in range(2):
        hits = search(k=wanted, **query)
        kept = post_filter(hits, group_of=group_of, flagged=flagged)
        if len(kept) >= k or len(hits) < wanted:
            return kept[:k]
        wanted *= OVERFETCH
    return kept[:k]
