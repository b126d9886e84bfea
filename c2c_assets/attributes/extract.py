"""Attributes from a listing's text: tire sizes, wheel specs and diameter, bolt patterns, part numbers, and
fitment (year range, makes, models), as typed values (``COLUMNS``; the ``post_attributes`` view).

Plain rules over the tokens of ``specs.scan`` (the lexical analyzer's own) and the makes and models of
``vehicles.toml``: no library extracts these from free text, and a learned extractor would need labelled
listings that do not exist here. Years count only beside a make or model ("2016 Civic", "15-17 f150",
"fits 2014-2018 silverado"), so a price or a phone number is not a model year.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import pyarrow as pa

from c2c_assets.attributes.specs import Token, fold, scan

COLUMNS = pa.schema(
    [
        ("tire_sizes", pa.list_(pa.string())),
        ("wheel_specs", pa.list_(pa.string())),
        ("wheel_diameter", pa.int32()),  # inches: from a wheel spec, a tire size's rim, "20 inch", "rines de 20"
        ("bolt_patterns", pa.list_(pa.string())),
        ("part_numbers", pa.list_(pa.string())),
        ("year_min", pa.int32()),
        ("year_max", pa.int32()),
        ("makes", pa.list_(pa.string())),
        ("models", pa.list_(pa.string())),  # "honda civic"
    ]
)
ATTRIBUTES = tuple(COLUMNS.names)
FIRST_YEAR = 1950
WHEEL_WORDS = frozenset({"rim", "rims", "rin", "rines", "wheel", "wheels", "aro", "aros", "rueda", "ruedas", "mags"})
_INCHES = re.compile(r"(?<![\w.])(1[3-9]|2\d|30)\s?(?:\"|''|”|in\b|inch|inches|pulgadas|pulg\b)")
_YEAR_RANGE = re.compile(r"^((?:19|20)\d{2}|\d{2})-((?:19|20)\d{2}|\d{2})$")


@dataclass(frozen=True)
class Vehicles:
    makes: dict[str, str]  # spelling (joined, no separators) -> make
    models: dict[str, tuple[str, str, bool]]  # spelling -> (make, model, ambiguous)
    longest: int  # most words a spelling spans
    prefixes: frozenset[str]  # every prefix of every spelling: a run of words whose join is none can only grow into none


def _key(text: str) -> str:
    return "".join(t.text for t in scan(fold(text)))


@cache
def vehicles() -> Vehicles:
    data = tomllib.loads(resources.files("c2c_assets.attributes").joinpath("vehicles.toml").read_text("utf-8"))
    makes = {_key(s): make for make, spellings in data["makes"].items() for s in [make, *spellings]}
    models: dict[str, tuple[str, str, bool]] = {}
    for make, names in data["models"].items():
        for name in names:
            ambiguous = name.startswith("~")
            name = name.lstrip("~")
            key = _key(name)
            if key in models and models[key][0] != make:
                raise ValueError(f"vehicles.toml: model {name!r} is under {models[key][0]!r} and {make!r}")
            models[key] = (make, fold(name).replace("-", ""), ambiguous)
    longest = max(len(list(scan(fold(s)))) for s in [*data["makes"], *(n.lstrip("~") for v in data["models"].values() for n in v)])
    prefixes = frozenset(key[:end] for key in [*makes, *models] for end in range(1, len(key) + 1))
    return Vehicles(makes, models, max(longest, 2), prefixes)


def _year(text: str, latest: int) -> int | None:
    if not text.isdigit():
        return None
    value = int(text)
    if len(text) == 2:
        value += 2000 if value <= latest % 100 else 1900
    return value if FIRST_YEAR <= value <= latest else None


def _years_before(words: list[Token], i: int, latest: int) -> list[int]:
    """The year or year range written right before word ``i`` ("2016 civic", "15-17 civic", "2014-2018 f150")."""
    if i == 0:
        return []
    previous = words[i - 1].text.lstrip("'")
    found = _YEAR_RANGE.match(previous)
    if found:
        years = [_year(found.group(1), latest), _year(found.group(2), latest)]
        return [y for y in years if y is not None]
    year = _year(previous, latest)
    if year is None:
        return []
    if i >= 2 and words[i - 2].text in ("-", "to", "thru", "a", "al") and i >= 3:
        other = _year(words[i - 3].text, latest)
        return [y for y in (other, year) if y is not None]
    if i >= 2:  # "2014 2018 civic" is rare; "2014-2018" splits as a part-like token handled above
        other = _year(words[i - 2].text, latest)
        if other is not None and len(words[i - 2].text) == 4 and len(previous) == 4:
            return [other, year]
    return [year]


def _years_after(words: list[Token], end: int, latest: int) -> list[int]:
    """A four-digit year or a year range within two words after a model ("Camry 2016", "F150 headlights 2015-2017")."""
    for word in words[end : end + 2]:
        found = _YEAR_RANGE.match(word.text)
        if found and len(word.text) >= 5:
            return [y for y in (_year(found.group(1), latest), _year(found.group(2), latest)) if y is not None]
        if len(word.text) == 4 and (year := _year(word.text, latest)) is not None:
            return [year]
    return []


def extract(text: str | None, *, today: date | None = None) -> dict[str, Any]:
    """The attribute columns of one listing's text (``COLUMNS``; empty lists and None where absent)."""
    folded = fold(text or "")
    latest = (today or date.today()).year + 1  # next year's models are sold this year
    tokens = list(scan(folded))
    out: dict[str, list[Any]] = {"tire_sizes": [], "wheel_specs": [], "bolt_patterns": [], "part_numbers": []}
    diameters: list[int] = []
    for position, token in enumerate(tokens):
        if token.kind == "tire":
            out["tire_sizes"].append(token.text)
            rim = token.text.rsplit("r", 1)[1]
            if rim.isdigit():
                diameters.append(int(rim))
        elif token.kind == "wheel":
            out["wheel_specs"].append(token.text)
            diameters.append(int(token.text.split("x")[0]))
        elif token.kind == "bolt":
            out["bolt_patterns"].append(token.text)
        elif token.kind == "part":
            # "2014-2018" reads as a part-like token when it is no range: the scanner already left ranges as words.
            out["part_numbers"].append(token.text)
        elif token.text in WHEEL_WORDS:
            following = [t.text for t in tokens[position + 1 : position + 3] if t.text != "de"][:1]
            if following and following[0].isdigit() and 13 <= int(following[0]) <= 30:
                diameters.append(int(following[0]))
    diameters += [int(m.group(1)) for m in _INCHES.finditer(folded)]
    makes, models, years = _fitment(_fitment_words(folded), latest)
    result: dict[str, Any] = {name: list(dict.fromkeys(values)) or None for name, values in out.items()}
    result.update(
        wheel_diameter=diameters[0] if diameters else None,
        year_min=min(years) if years else None,
        year_max=max(years) if years else None,
        makes=makes or None,
        models=models or None,
    )
    return result


def _fitment_words(folded: str) -> list[Token]:
    """Word tokens for fitment, with year ranges ("2015-2017", "15-17") kept whole."""
    words: list[Token] = []
    for chunk in folded.split():
        words.extend(_chunk_words(chunk))
    return words


# Listings reuse a small vocabulary: most chunks were scanned before (a cache hit is ~40x cheaper than a scan).
@lru_cache(maxsize=1 << 16)
def _chunk_words(chunk: str) -> tuple[Token, ...]:
    stripped = chunk.strip(",.;:()")
    if _YEAR_RANGE.match(stripped):
        return (Token("word", stripped),)
    return tuple(t if t.kind != "part" else Token("word", t.text) for t in scan(chunk))


def _fitment(words: list[Token], latest: int) -> tuple[list[str], list[str], list[int]]:
    table = vehicles()
    makes: list[str] = []
    models: list[str] = []
    years: list[int] = []
    texts = [w.text for w in words]
    i = 0
    while i < len(words):
        if texts[i] not in table.prefixes:  # most words start no make or model
            i += 1
            continue
        matched = 0
        # The spellings the words from i can start, shortest first; tried longest first below.
        candidates: list[tuple[int, str]] = []
        key = ""
        for length in range(1, min(table.longest, len(words) - i) + 1):
            key += texts[i + length - 1]
            if key not in table.prefixes:
                break
            candidates.append((length, key))
        for length, key in reversed(candidates):
            if key in table.makes:
                makes.append(table.makes[key])
                years += _years_before(words, i, latest)
                matched = length
                break
            if key in table.models:
                make, model, ambiguous = table.models[key]
                before = "".join(w.text for w in words[max(0, i - 1) : i])
                after_make = table.makes.get(before) == make
                year_before = _years_before(words, i, latest)
                if ambiguous and not (after_make or year_before):
                    continue
                makes.append(make)
                models.append(f"{make} {model}")
                years += year_before or _years_after(words, i + length, latest)
                matched = length
                break
        i += matched or 1
    return list(dict.fromkeys(makes)), list(dict.fromkeys(models)), years


def parse_fits(text: str) -> tuple[int | None, list[str], list[str]]:
    """``--fits "2016 Civic"``: (year, makes, models) read as a listing's fitment is (the same rules)."""
    folded = fold(text)
    words = _fitment_words(folded)
    latest = date.today().year + 1
    makes, models, years = _fitment(words, latest)
    if not years:  # a bare year ("--fits 2016") or a year after the model ("civic 2016")
        years = [y for w in words if (y := _year(w.text, latest)) is not None and len(w.text) == 4]
    return (years[0] if years else None), makes, models


def attributes_of(values: Sequence[Any]) -> dict[str, Any] | None:
    """The attribute columns (``ATTRIBUTES``, in order) that hold something, or None where none does."""
    found = {name: value for name, value in zip(ATTRIBUTES, values, strict=True) if value not in (None, [])}
    return found or None


def describe(attributes: dict[str, Any] | None) -> str:
    """A hit's attributes on one line: sizes and patterns, part numbers, fitment."""
    if not attributes:
        return ""
    parts = [value for name in ("tire_sizes", "wheel_specs", "bolt_patterns") for value in attributes.get(name) or ()]
    if "wheel_diameter" in attributes and not attributes.get("wheel_specs"):
        parts.append(f'{attributes["wheel_diameter"]}"')
    parts += [f"#{number}" for number in (attributes.get("part_numbers") or ())]
    years = attributes.get("year_min"), attributes.get("year_max")
    fits = ", ".join(attributes.get("models") or attributes.get("makes") or ())
    if fits:
        span = "" if years[0] is None else f"{years[0]}-{years[1]} " if years[0] != years[1] else f"{years[0]} "
        parts.append(f"fits {span}{fits}")
    return " · ".join(parts)
