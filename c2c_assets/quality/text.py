"""Listing text and price rules: words and shingles, MinHash near-duplicate texts (datasketch), junk text
(empty, boilerplate only, a phone number only) and placeholder prices."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from c2c_assets.prices import is_usable
from c2c_assets.quality import thresholds as T

_WORD = re.compile(r"[a-z0-9]+")
# North American numbers as sellers type them: (555) 123-4567, 555.123.4567, 555 123 4567, 5551234567, +1 ...
PHONE = re.compile(r"(?:\+?1[\s.-]*)?\(?\b\d{3}\)?[\s.-]*\d{3}[\s.-]*\d{4}\b")
# Words that carry no item: around a phone number, or the stock phrases of a junk post.
_PHONE_FILLER = {"call", "text", "txt", "or", "me", "at", "phone", "cell", "tel", "contact", "only", "and", "please", "pls"}
BOILERPLATE_PHRASES = (
    "everything must go", "make offer", "make an offer", "best offer", "cash only", "no lowballers",
    "no low ballers", "must sell", "moving sale", "serious buyers only", "serious buyers", "first come first serve",
    "takes it", "price firm", "no trades", "pick up only", "pickup only", "asap", "obo", "or best offer",
    "still available", "reposted", "for sale", "selling",
    # A garage clear-out's words: they say nothing of the item either.
    "misc stuff", "random parts", "stuff for sale", "parts for sale", "car parts", "garage clean out",
    "cleaning out the garage", "pick up today", "text me for details", "ask if interested", "everything in the pics",
)
_BOILERPLATE = re.compile(r"\b(?:" + "|".join(sorted((re.escape(p) for p in BOILERPLATE_PHRASES), key=len, reverse=True)) + r")\b")
_STOPWORDS = {"a", "an", "the", "it", "is", "all", "and", "or", "to", "for", "no", "my", "i", "must", "go", "s"}


def words(text: str | None) -> list[str]:
    return _WORD.findall((text or "").lower())


def shingles(text: str | None) -> set[str]:
    """Word 2-shingles (single words for a one-word text): a light edit changes a few of them."""
    tokens = words(text)
    if len(tokens) < 2:
        return set(tokens)
    return {f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)}


def minhashes(texts: Sequence[str | None]) -> list:
    """One datasketch ``LeanMinHash`` per text (None for a text without words)."""
    from datasketch import LeanMinHash, MinHash

    sets = [shingles(t) for t in texts]
    hashes: list = [None] * len(texts)
    filled = [i for i, s in enumerate(sets) if s]
    if filled:
        bulk = MinHash.bulk([[s.encode() for s in sets[i]] for i in filled], num_perm=T.MINHASH_PERMUTATIONS)
        for i, m in zip(filled, bulk, strict=True):
            hashes[i] = LeanMinHash(m)
    return hashes


def similar_texts(a, b) -> float:  # noqa: ANN001 - LeanMinHash or None
    """Estimated Jaccard similarity of two texts' shingles; 0 when either has no words (an empty text proves nothing)."""
    if a is None or b is None:
        return 0.0
    return float(a.jaccard(b))


def text_components(texts: Sequence[str | None]) -> int:
    """How many different items a few texts describe: components of the near-duplicate relation."""
    hashes = minhashes(texts)
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            if similar_texts(hashes[i], hashes[j]) >= T.TEXT_JACCARD:
                parent[find(i)] = find(j)
    return len({find(i) for i in range(len(texts))})


def text_flags(title: str | None, description: str | None) -> list[tuple[str, float, str]]:
    """``(flag, score, detail)`` for a post's text: ``empty_text`` (score 0 characters), ``phone_only``
    (score: phone numbers found), ``boilerplate_only`` (score: share of the characters that are stock phrases)."""
    text = " ".join(part.strip() for part in (title or "", description or "") if part and part.strip())
    if not text:
        return [("empty_text", 0.0, "no title and no description")]
    lowered = text.lower()
    phones = PHONE.findall(lowered)
    if phones and not [w for w in words(PHONE.sub(" ", lowered)) if w not in _PHONE_FILLER]:
        return [("phone_only", float(len(phones)), "the text is a phone number")]
    stripped = _BOILERPLATE.sub(" ", lowered)
    rest = [w for w in words(stripped) if w not in _STOPWORDS]
    if not rest:
        covered = sum(len(m.group(0)) for m in _BOILERPLATE.finditer(lowered))
        letters = max(1, len(re.sub(r"[^a-z0-9]", "", lowered)))
        return [("boilerplate_only", round(min(1.0, covered / letters), 3), "only stock phrases")]
    return []


def placeholder_price(price: float | None) -> bool:
    """A listed price that is no asking price ($0-$1, a keyboard run or repeated digits such as 123456 or
    99999, or beyond what a used part asks): ``c2c_assets.prices``' rule, the one pricing uses too."""
    if price is None or (isinstance(price, float) and math.isnan(price)):
        return False
    return not is_usable(price)