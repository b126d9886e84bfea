"""c-TF-IDF: the top terms that label a cluster."""

from __future__ import annotations

import math

from c2c_assets.analysis.terms import top_terms


def test_top_terms_finds_each_clusters_topic() -> None:
    corpus = {
        0: ["used brake pads", "brake pads and rotors, used", "new brake caliper", "brake pads 2019"],
        1: ["used headlight", "LED headlight for sale", "headlight assembly left", "used LED bulb"],
        2: ["alloy wheel", "used wheel and tire 265/70r17", "wheel set of 4", "spare wheel tire"],
        3: [],
    }
    terms = top_terms(corpus, n=3)
    assert terms[0][:2] == ["brake", "pads"]
    assert terms[1][:2] == ["headlight", "led"]
    assert terms[2][:2] == ["wheel", "tire"]
    assert terms[3] == []
    # "used" is in every cluster: c-TF-IDF ranks it below each cluster's own words.
    assert all("used" not in t for t in terms.values())
    # Stop words and pure numbers are not terms.
    assert not {"and", "for", "of", "2019", "4", "265"} & {w for t in terms.values() for w in t}
    assert len(top_terms(corpus, n=1)[0]) == 1


def test_top_terms_follows_the_c_tf_idf_formula() -> None:
    # Class 0: "alpha alpha beta" (3 words), class 1: "beta gamma" (2 words); A = 2.5.
    terms = top_terms({0: ["alpha alpha", "beta"], 1: ["beta gamma"]}, n=3)
    a = 2.5
    w = {
        ("alpha", 0): 2 / 3 * math.log(1 + a / 2),
        ("beta", 0): 1 / 3 * math.log(1 + a / 2),
        ("beta", 1): 1 / 2 * math.log(1 + a / 2),
        ("gamma", 1): 1 / 2 * math.log(1 + a / 1),
    }
    assert w["alpha", 0] > w["beta", 0] and w["gamma", 1] > w["beta", 1]
    assert terms == {0: ["alpha", "beta"], 1: ["gamma", "beta"]}


def test_top_terms_with_no_usable_words() -> None:
    assert top_terms({0: ["the and of", "123 456"], 1: []}) == {0: [], 1: []}
    assert top_terms({}) == {}
