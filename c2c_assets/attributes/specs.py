"""The spec tokens of car-parts listings, recognised and normalized once: tire sizes, wheel specs, bolt
patterns and part numbers. The lexical analyzer (``search.analyzer``) keeps them as whole tokens and the
attribute extractor (``attributes.extract``) turns them into typed columns, both from ``scan`` here, so
a size the search can match is a size the filter knows and the other way round.

Text is folded first (``fold``: accents stripped, case folded), so ``265/70R17``, ``265/70r17`` and
``P265/70 R17`` all come out as ``265/70r17``.

Hand-written because no maintained library knows these formats: they are a few regular expressions
over the conventions of tire sidewalls (ISO metric ``225/65R17``, LT/P prefixes, flotation ``33x12.50R15``),
wheel stamps (``17x8``) and lug patterns (``5x114.3`` mm, ``5x4.5`` inches).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

# Inch bolt circles people write, and their mm names (5x4.5 is 5x114.3). "4x4" is a drivetrain, never a pattern.
INCH_CIRCLES = {"4.25": "108", "4.5": "114.3", "4.75": "120.7", "5": "127", "5.5": "139.7", "6.5": "165.1", "8": "203.2"}
_MM_TO_INCHES = {mm: inch for inch, mm in INCH_CIRCLES.items()}
PHONE = re.compile(r"^\d{3}-\d{3}-\d{4}$")
YEAR_RANGE = re.compile(r"^(?:\d{2}|\d{4})-(?:\d{2}|\d{4})$")
# Mixed letters and digits that are units, counts or model names, not part numbers: 12in, 1000w, 20s, f150, v8, 4wd.
NOT_A_PART = re.compile(r"^(?:\d+(?:\.\d+)?x\d+(?:\.\d+)?|\d+(?:in|inch|mm|cm|k|w|hp|v|s|x|st|nd|rd|th|wd|lbs?|gb|ft|mi|miles|cc|l)|[a-z]{1,3}\d{1,3}|\d{1,3}[a-z]{1,2})$")

_TOKEN = re.compile(
    r"""
    (?P<tire>(?<![\w/.])(?:p|lt|st)?(?P<tw>\d{3})\s?/\s?(?P<ta>\d{2})\s?(?:z?r|/|-)\s?(?P<td>\d{2}(?:\.\d)?)(?![\w/]))
  | (?P<flot>(?<![\w.])(?P<fd>\d{2})\s?x\s?(?P<fw>\d{1,2}(?:\.\d{1,2})?)\s?r\s?(?P<fr>\d{2})(?![\w.]))
  | (?P<wheel>(?<![\w.])(?P<wd>1[3-9]|2[0-8])\s?x\s?(?P<ww>\d{1,2}(?:\.\d{1,2})?)(?![\w.]))
  | (?P<bolt>(?<![\w.])(?P<bn>[4-8])\s*x\s*(?P<bc>\d{3}(?:\.\d{1,2})?|\d(?:\.\d{1,2})?)(?![\w.]))
  | (?P<part>(?<![\w])[a-z0-9]+(?:-[a-z0-9]+)+(?![\w-]))
  | (?P<cjk>[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af])
  | (?P<word>[^\W_]+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "tire", "wheel", "bolt", "part", "word", "cjk"
    text: str  # the canonical form
    also: tuple[str, ...] = ()  # equivalent forms a query may use (5x4.5 for 5x114.3, the part number without dashes)

    @property
    def is_spec(self) -> bool:
        return self.kind in SPEC_KINDS


SPEC_KINDS = frozenset({"tire", "wheel", "bolt", "part"})


def fold(text: str) -> str:
    """Accents stripped (``transmisión`` -> ``transmision``), case folded, compatibility forms unified."""
    if text.isascii():  # most listings: nothing to decompose (and casefold is lower for ASCII)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _number(value: str) -> str:
    """``9.0`` -> ``9``, ``12.50`` -> ``12.5``: one spelling per size."""
    return value.rstrip("0").rstrip(".") if "." in value else value.lstrip("0") or "0"


def _is_part(text: str) -> bool:
    compact = text.replace("-", "")
    if len(compact) < 5 or not any(c.isdigit() for c in compact) or PHONE.match(text) or YEAR_RANGE.match(text):
        return False
    if "-" not in text:
        return any(c.isalpha() for c in compact) and not NOT_A_PART.match(compact)
    return True


# Letters-only chunks that can sit inside a spec written with spaces ("265/70 r 17", "5 x 114.3").
_SPEC_GLUE = frozenset({"r", "zr", "x"})
_CHUNK = re.compile(r"\S+")


def scan(folded: str) -> Iterator[Token]:
    """The tokens of folded text, in order: specs whole and normalized, other words as they are.

    Fast path (about 4x; the token regex tries every spec alternative at every position): in ASCII text a
    whitespace-delimited chunk of letters only is a word, and no spec spans it (a spec's pieces carry digits
    or are ``_SPEC_GLUE``), so only the stretches between such chunks go through the regex, each scanned
    once per distinct stretch (listings reuse "$150", "2016", "obo"). The result equals ``_scan(folded)``.
    """
    if not folded.isascii():
        yield from _scan(folded)
        return
    start = end = -1
    for chunk_match in _CHUNK.finditer(folded):
        chunk = chunk_match.group()
        if chunk.isalpha() and chunk not in _SPEC_GLUE:
            if start >= 0:
                yield from _scan_stretch(folded[start:end])
                start = -1
            yield Token("word", chunk)
        else:
            if start < 0:
                start = chunk_match.start()
            end = chunk_match.end()
    if start >= 0:
        yield from _scan_stretch(folded[start:end])


@lru_cache(maxsize=1 << 16)
def _scan_stretch(text: str) -> tuple[Token, ...]:
    return tuple(_scan(text))


def _scan(folded: str) -> Iterator[Token]:
    for match in _TOKEN.finditer(folded):
        kind = match.lastgroup  # the outer group: it closes after the groups inside it
        if kind == "word":
            text = match.group(0)
            # Most words are letters only, or digits only: neither can be a part number.
            yield Token("word", text) if text.isalpha() or text.isdigit() or not _is_part(text) else Token("part", text)
        elif kind == "tire":
            yield Token("tire", f"{match.group('tw')}/{match.group('ta')}r{_number(match.group('td'))}")
        elif kind == "flot":
            yield Token("tire", f"{match.group('fd')}x{_number(match.group('fw'))}r{match.group('fr')}")
        elif kind == "wheel":
            yield Token("wheel", f"{match.group('wd')}x{_number(match.group('ww'))}")
        elif kind == "bolt":
            lugs, circle = match.group("bn"), _number(match.group("bc"))
            if float(circle) < 10:  # inches: only the circles people use
                if circle not in INCH_CIRCLES or (lugs == "4" and circle == "4"):
                    yield from _words(match.group(0))
                    continue
                yield Token("bolt", f"{lugs}x{INCH_CIRCLES[circle]}", (f"{lugs}x{circle}",))
            elif 98 <= float(circle) <= 210:
                inches = _MM_TO_INCHES.get(circle)
                yield Token("bolt", f"{lugs}x{circle}", (f"{lugs}x{inches}",) if inches else ())
            else:
                yield from _words(match.group(0))
        elif kind == "part":
            text = match.group(0)
            if _is_part(text):
                yield Token("part", text, (text.replace("-", ""),))
            else:
                yield from _words(text)
        else:
            yield Token(kind, match.group(0))


def _words(text: str) -> Iterator[Token]:
    for word in re.findall(r"[^\W_]+", text):
        yield Token("word", word)


def canonical_spec(text: str) -> Token | None:
    """The one spec a string names (``--size 265/70R17``), or None if it is not exactly one spec."""
    tokens = list(scan(fold(text.strip())))
    if len(tokens) == 1 and tokens[0].is_spec:
        return tokens[0]
    return None
