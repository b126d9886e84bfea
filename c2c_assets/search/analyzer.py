"""The lexical analyzer: post and query text -> index terms, the same rule on both sides.

1. fold accents and case (``attributes.specs.fold``);
2. split into tokens, keeping tire sizes, wheel specs, bolt patterns and part numbers whole and normalized
   (``attributes.specs.scan``: ``265/70R17`` and ``265/70/17`` are both ``265/70r17``; ``5x4.5`` is also
   ``5x114.3``; ``84002-0E010`` is also ``840020e010``);
3. drop English and Spanish stop words, stem the other words (Snowball English, PyStemmer);
4. add a concept term (``=wheel``) for every word or phrase of a synonym group (``synonyms.toml``):
   "rines" and "rims" share ``=wheel``, "llantas" and "tires" share ``=tire``.

A word the analyzer does not know (another script: Cyrillic, CJK) is kept as it is (a CJK ideograph is a
term of its own): it matches the same word in a post, and nothing else.

tantivy receives these terms pre-analyzed (joined by spaces, its whitespace tokenizer): its own analyzers
have no synonyms and would split ``265/70R17`` and ``5x114.3`` apart.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from c2c_assets.attributes.specs import fold, scan

MAX_TERM_CHARS = 40  # longer "words" are noise (URLs without spaces, base64): dropped
GROUP_PREFIX = "="


@dataclass(frozen=True)
class Vocabulary:
    stopwords: frozenset[str]
    phrases: dict[tuple[str, ...], str]  # stemmed words in a row -> group name
    longest: int
    words: dict[str, str]  # the one-word phrases: stem -> group
    starts: frozenset[str]  # the first stems of the longer phrases


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return _stemmer().stemWord(word)


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@cache
def vocabulary() -> Vocabulary:
    """The shipped ``synonyms.toml``, folded and stemmed as post text is."""
    data = tomllib.loads(resources.files("c2c_assets.search").joinpath("synonyms.toml").read_text("utf-8"))
    stopwords = frozenset(fold(w) for words in data["stopwords"].values() for w in words)
    phrases: dict[tuple[str, ...], str] = {}
    for group, entries in data["groups"].items():
        for entry in [group, *entries]:
            key = tuple(stem(t.text) for t in scan(fold(entry)))
            if phrases.get(key, group) != group:
                raise ValueError(f"synonyms.toml: {entry!r} is in both {phrases[key]!r} and {group!r}")
            phrases[key] = group
    words = {key[0]: group for key, group in phrases.items() if len(key) == 1}
    starts = frozenset(key[0] for key in phrases if len(key) > 1)
    return Vocabulary(stopwords, phrases, max(len(k) for k in phrases), words, starts)


@dataclass(frozen=True)
class AnalyzedQuery:
    terms: tuple[str, ...]  # every term, once
    specs: tuple[str, ...]  # the sizes / part numbers among them: a post holding one ranks first

    @property
    def empty(self) -> bool:
        return not self.terms


def _analyze(text: str) -> tuple[list[str], list[str]]:
    vocab = vocabulary()
    terms: list[str] = []
    specs: list[str] = []
    words: list[tuple[str, str]] = []  # the current run of words: (folded, stem)

    def flush() -> None:
        stems = [s for _, s in words]
        for i, (folded, word_stem) in enumerate(words):
            if folded not in vocab.stopwords:
                terms.append(word_stem)
            if word_stem not in vocab.starts:  # the common case: one lookup
                if word_stem in vocab.words:
                    terms.append(GROUP_PREFIX + vocab.words[word_stem])
                continue
            for length in range(min(vocab.longest, len(stems) - i), 0, -1):
                group = vocab.phrases.get(tuple(stems[i : i + length]))
                if group is not None:
                    terms.append(GROUP_PREFIX + group)
                    break
        words.clear()

    for token in scan(fold(text)):
        if token.is_spec:
            flush()
            forms = [token.text, *token.also]
            terms.extend(forms)
            specs.extend(forms)
        elif len(token.text) <= MAX_TERM_CHARS:
            words.append((token.text, stem(token.text) if token.kind == "word" else token.text))
    flush()
    return terms, specs


def index_terms(text: str) -> list[str]:
    """A post's terms, repeated as often as they occur (BM25 counts them)."""
    return _analyze(text)[0]


def analyze_query(text: str) -> AnalyzedQuery:
    terms, specs = _analyze(text)
    return AnalyzedQuery(tuple(dict.fromkeys(terms)), tuple(dict.fromkeys(specs)))
