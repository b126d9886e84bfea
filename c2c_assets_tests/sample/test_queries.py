"""The labelled query set (``sample.queries``) stays consistent with what the generator writes."""

from __future__ import annotations

import csv
import random
import re

import pytest

from c2c_assets.sample import CATEGORIES, generate_sample, realism, vocabulary
from c2c_assets.sample.queries import CODES, ENGLISH, KINDS, PARAPHRASE, PARAPHRASE_HELDOUT, SPANISH, load_queries
from c2c_assets.sample.realism import Realism, codes_in
from c2c_assets.sample.wording import _context, _sentences, _title

STOP = {"a", "an", "the", "for", "my", "to", "of", "and", "at", "on", "so", "i", "is", "it", "in", "up", "me", "when",
        "what", "while", "after", "can", "with", "off", "out", "be", "need"}
# Text any category's post may carry (slang, fillers, noisy titles, title suffixes, cities): no category's vocabulary.
GENERIC = [*vocabulary._SLANG, *vocabulary._SHORT_DESCS, *realism.NOISY_TITLES, *realism._NOISY_DESCS, *realism._SLANG_EN,
           *realism._FILLERS_ES, "OBO - must go OEM NEW", *(hood for _, hoods, _, _ in vocabulary._CITIES for hood in hoods)]


def words(text: str) -> set[str]:
    """Lower-cased words, a plural 's' dropped (``lamps`` is ``lamp``), stop words left out."""
    return {w.rstrip("s") for w in re.findall(r"[a-záéíóúñ]+", re.sub(r"\{\w+\}", " ", text).lower())} - STOP


def category_vocabulary(draws: int = 400) -> dict[str, set[str]]:
    """Every word the generator writes for each category (realism included) over many drawn posts."""
    generic = set().union(*(words(text) for text in GENERIC))
    rng, rewrite = random.Random(0), Realism(0)
    found: dict[str, set[str]] = {category: set() for category in CATEGORIES}
    for i in range(draws * len(CATEGORIES)):
        category = CATEGORIES[i % len(CATEGORIES)]
        ctx = _context(rng, "Waco")
        drawn = (_title(rng, category, ctx), _sentences(rng, category, ctx))
        title, sentences = rewrite.rewrite(str(i), category, ctx, *drawn) or drawn
        found[category] |= words(" ".join([title, *sentences]))
    # the templates themselves, so that a word a few hundred draws missed still counts
    for category in CATEGORIES:
        for template in [*vocabulary._TITLES[category], *vocabulary._SENTENCES[category], *realism._TITLES_ES[category],
                         *realism._SENTENCES_ES[category], *realism._TITLES_SPANGLISH[category]]:
            found[category] |= words(template)
        found[category] -= generic
    return found


def test_paraphrases_share_no_word_with_their_category() -> None:
    vocab = category_vocabulary()
    assert {category for _, category in PARAPHRASE} == set(CATEGORIES) == {category for _, category in PARAPHRASE_HELDOUT}
    assert not {text for text, _ in PARAPHRASE} & {text for text, _ in PARAPHRASE_HELDOUT}
    shared = {text: sorted(words(text) & vocab[category]) for text, category in PARAPHRASE + PARAPHRASE_HELDOUT}
    assert not {text: found for text, found in shared.items() if found}
    assert words("rubber for my truck") == {"rubber", "truck"}


def test_every_category_query_names_a_category() -> None:
    for pairs in (PARAPHRASE, PARAPHRASE_HELDOUT, SPANISH, ENGLISH):
        assert {category for _, category in pairs} <= set(CATEGORIES)
    assert {category for _, category in SPANISH} == set(CATEGORIES)
    assert all(codes_in(code) == [code] for code, _ in CODES)  # what the books record is what a code query asks


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return generate_sample(tmp_path_factory.mktemp("q") / "inbox", n_posts=600, n_days=1, bad_inputs=False, image_size=(40, 32))


def test_load_queries_against_a_sample(sample) -> None:
    queries = load_queries(sample.inbox)
    assert {q.kind for q in queries} == set(KINDS)
    with open(sample.labels_path, newline="") as handle:
        category_of = {row["post_id"]: row["category"] for row in csv.DictReader(handle)}
    with open(sample.inbox / "labels_realism.csv", newline="") as handle:
        codes_of = {row["post_id"]: row["codes"].split() for row in csv.DictReader(handle)}
    for query in queries:
        assert query.relevant, query
        if query.kind == "code":
            assert query.relevant == {pid for pid, codes in codes_of.items() if query.text in codes}
            assert {category_of[pid] for pid in query.relevant} == {query.category}
        else:
            assert query.relevant == {pid for pid, category in category_of.items() if category == query.category}
    assert sum(q.kind == "code" for q in queries) >= 8  # most codes are in a sample of a few hundred posts
