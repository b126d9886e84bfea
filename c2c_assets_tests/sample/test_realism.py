"""The realistic sample (``sample.realism``): Spanish and Spanglish posts, noisy titles, slang and typos, and
the codes buyers search by, with ``labels_realism.csv`` telling the truth about what the dumps hold.

The books are checked against the dumps on disk (the reference reader), not against the generator's own."""

from __future__ import annotations

import csv
import html
import json
import re
from collections import Counter

import pytest

from c2c_assets.sample import CATEGORIES, generate_sample, realism, vocabulary
from c2c_assets.sample.realism import NOISY_TITLES, PART_CATALOGUE, codes_in
from c2c_assets_tests.sample.reference import ID_KEY, read_labels, read_raw_lines

N = 400


def _words(templates) -> set[str]:
    return {w for t in templates for w in re.findall(r"[a-záéíóúñ]+", re.sub(r"\{\w+\}", " ", t).lower())}


# Words of realism's Spanish templates that no English template writes.
SPANISH_WORDS = (_words(t for ts in (*realism._TITLES_ES.values(), *realism._SENTENCES_ES.values()) for t in ts)
                 | _words(realism._FILLERS_ES)) - _words(
    t for ts in (*vocabulary._TITLES.values(), *vocabulary._SENTENCES.values(), vocabulary._SLANG) for t in ts)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return generate_sample(tmp_path_factory.mktemp("r") / "inbox", n_posts=N, n_days=2, bad_inputs=False, image_size=(48, 36))


@pytest.fixture(scope="module")
def texts(sample) -> dict[str, str]:
    """post_id -> title + description as the dumps hold them (latest scrape wins)."""
    out = {}
    for folder in sorted(p.parent for p in sample.inbox.glob("*/*/images")):
        source = folder.parent.name
        for raw in read_raw_lines(folder):
            record = json.loads(raw)
            body = record.get("body") if source == "craigslist" else record.get("description")
            # As a reader sees it: entities and breaks undone, zero-width spaces dropped
            text = html.unescape(f"{record.get('title') or ''} {body or ''}".replace("<br>", " ")).replace("\u200b", "")
            out[f"{source}:{record[ID_KEY[source]]}"] = text
    return out


@pytest.fixture(scope="module")
def books(sample) -> dict[str, dict[str, str]]:
    with open(sample.inbox / "labels_realism.csv", newline="") as handle:
        return {row["post_id"]: row for row in csv.DictReader(handle)}


def test_books_cover_every_post(sample, books, texts) -> None:
    assert set(books) == {row["post_id"] for row in read_labels(sample)} == set(texts)
    with open(sample.inbox / "labels_realism.csv") as handle:
        assert handle.readline() == "post_id,language,noisy_title,noisy_text,codes\n"


def _planted(sample) -> set[str]:
    path = sample.inbox / "labels_quality.csv"
    if not path.exists():
        return set()
    with open(path, newline="") as handle:
        return {row["post_id"] for row in csv.DictReader(handle)}


def test_about_a_tenth_is_spanish_or_spanglish(sample, books, texts) -> None:
    languages = Counter(row["language"] for row in books.values())
    assert set(languages) == {"en", "es", "spanglish"}
    assert 0.06 * N <= languages["es"] + languages["spanglish"] <= 0.15 * N
    # Listings the quality planting rewrote (a repost copies its original's words) keep the book of the words
    # drawn for them before: they are left out here.
    planted = _planted(sample)
    spanish = [pid for pid, row in books.items() if row["language"] != "en" and row["noisy_title"] == "0" and pid not in planted]
    assert {"llantas", "rines", "bocinas", "calaveras", "faros", "transmisión"} <= SPANISH_WORDS
    english_only = [texts[pid] for pid in spanish if not _words([texts[pid]]) & SPANISH_WORDS]
    assert not english_only


def test_noisy_titles_say_nothing_of_the_part(sample, books, texts) -> None:
    noisy = [pid for pid, row in books.items() if row["noisy_title"] == "1"]
    assert 0.03 * N <= len(noisy) <= 0.12 * N
    # the base generator blanks 3% of titles (the description carries them): those start with a space
    assert all(texts[pid].startswith(" ") or any(texts[pid].startswith(t) for t in NOISY_TITLES) for pid in noisy)
    categories = {row["post_id"]: row["category"] for row in read_labels(sample)}
    assert len({categories[pid] for pid in noisy}) >= 5  # any category; the photo still shows the part


def test_codes_are_what_the_text_carries(books, texts) -> None:
    for pid, row in books.items():
        assert row["codes"].split() == codes_in(texts[pid])
        for code in row["codes"].split():
            assert code.lower() in texts[pid].lower()
    found = Counter(code for row in books.values() for code in row["codes"].split())
    assert sum(found[number] for number in PART_CATALOGUE) >= 20  # catalogue part numbers recur across posts
    assert max(found[number] for number in PART_CATALOGUE) >= 3
    assert any(re.fullmatch(r"\d{3}/\d{2}R\d{2}", code) for code in found)  # tire sizes
    assert "5x114.3" in found or "6x139.7" in found  # bolt patterns
    assert any(re.fullmatch(r"\d{2}x\d+(\.\d)?", code) for code in found)  # wheel specs (20x10)
    assert any("Fits " in text or "fits " in text for text in texts.values())


def test_catalogue_numbers_stay_in_their_category(sample, books) -> None:
    categories = {row["post_id"]: row["category"] for row in read_labels(sample)}
    for pid, row in books.items():
        for code in row["codes"].split():
            if code in PART_CATALOGUE:
                assert categories[pid] == PART_CATALOGUE[code][0]
    assert {number[0] for number in PART_CATALOGUE.values()} <= set(CATEGORIES)


def test_codes_in() -> None:
    text = ("llantas 265/70r17 casi nuevas, rines 20x10 5x114.3, P/N 84002-0E010 y 33150-TBA-A01; "
            "35x12.50R20 too. call/text 254-555-0182, 6.5 speakers, 2016-2020 Civic, 24/7")
    assert codes_in(text) == ["265/70R17", "35x12.50R20", "20x10", "5x114.3", "84002-0E010", "33150-TBA-A01"]
    assert codes_in("Everything must go") == []


def test_only_the_words_change(tmp_path) -> None:
    """Same ids, categories, prices and photos as the template-only sample: realism draws from its own stream."""
    args = {"n_posts": 90, "n_days": 1, "bad_inputs": False, "image_size": (40, 32), "seed": 5}
    real = generate_sample(tmp_path / "real", **args)
    plain = generate_sample(tmp_path / "plain", **args, realism=False)
    assert read_labels(real) == read_labels(plain)
    folders = sorted(p.relative_to(real.inbox) for p in real.inbox.glob("*/*"))
    changed = 0
    for folder in folders:
        assert sorted(f.name for f in (real.inbox / folder / "images").iterdir()) == \
            sorted(f.name for f in (plain.inbox / folder / "images").iterdir())
        for a, b in zip(read_raw_lines(real.inbox / folder), read_raw_lines(plain.inbox / folder), strict=True):
            ra, rb = json.loads(a), json.loads(b)
            assert {k: v for k, v in ra.items() if k not in ("title", "body", "description")} == \
                {k: v for k, v in rb.items() if k not in ("title", "body", "description")}
            changed += ra != rb
    assert changed >= 0.2 * 90
