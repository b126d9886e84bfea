"""The lexical analyzer and the attribute extractor on listing text: specs whole and normalized, accents
and case folded, synonyms from the shipped data file, stop words, unknown scripts; fitment read right."""

from datetime import date

import pytest

from c2c_assets.attributes.extract import extract, parse_fits
from c2c_assets.attributes.specs import canonical_spec
from c2c_assets.search.analyzer import analyze_query, index_terms, vocabulary


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("265/70R17", "265/70r17"), ("265/70r17", "265/70r17"), ("265/70/17", "265/70r17"), ("P225/65R17", "225/65r17"),
        ("LT285/75 R16", "285/75r16"), ("245/40ZR18", "245/40r18"), ("33x12.50R15", "33x12.5r15"),
        ("5x114.3", "5x114.3"), ("6x139.7", "6x139.7"), ("5 x 4.5", "5x114.3"), ("6X5.5", "6x139.7"),
        ("20x10", "20x10"), ("17x8", "17x8"), ("18x9.0", "18x9"),
        ("84002-0E010", "84002-0e010"), ("68210-0W030", "68210-0w030"), ("AC1234", "ac1234"), ("840020E010", "840020e010"),
    ],
)
def test_specs_are_whole_normalized_terms(text, term):
    query = analyze_query(f"oem {text} for sale")
    assert term in query.terms and term in query.specs


def test_spellings_of_one_spec_share_their_terms():
    assert "840020e010" in index_terms("OEM 84002-0E010 pads")  # the part number without its dash matches too
    assert "5x4.5" in index_terms("bolt pattern 5x114.3") and "5x114.3" in index_terms("5x4.5 lug")


@pytest.mark.parametrize("text", ["4x4 truck", "call 254-555-0182", "2015-2017", "F150", "12in subs", "1000w amp", "v8", "10x15 tarp"])
def test_ordinary_words_are_not_specs(text):
    assert analyze_query(text).specs == ()


def test_accents_case_and_synonyms():
    assert index_terms("Transmisión AUTOMÁTICA") == index_terms("transmision automatica")
    for spanish, english, group in [("rines", "rims", "=wheel"), ("llantas", "tires", "=tire"), ("bocinas", "subwoofers", "=speaker"),
                                    ("faros", "headlights", "=headlight"), ("calaveras", "tail lights", "=taillight"),
                                    ("espejo", "mirror", "=mirror"), ("defensa", "bumper", "=bumper"), ("asientos", "seats", "=seat"),
                                    ("tranny", "transmission", "=transmission"), ("tyres", "tires", "=tire")]:
        assert group in index_terms(spanish) and group in index_terms(english), (spanish, english)


def test_synonym_file_has_no_word_in_two_groups():
    vocab = vocabulary()
    assert len(vocab.phrases) > 100 and "the" in vocab.stopwords and "para" in vocab.stopwords


def test_stop_words_only_empty_and_unknown_scripts():
    assert analyze_query("the of and para los").empty
    assert analyze_query("").empty and analyze_query("   \n").empty
    assert analyze_query("коробка передач").terms == ("коробка", "передач")  # kept as they are, folded
    assert analyze_query("変速機").terms == ("変", "速", "機")
    assert analyze_query("🙂🙂 !!!").empty


def test_attributes_from_listing_text():
    today = date(2026, 1, 1)
    tires = extract("4 Michelin tires 265/70R17 casi nuevas", today=today)
    assert tires["tire_sizes"] == ["265/70r17"] and tires["wheel_diameter"] == 17 and tires["models"] is None
    rims = extract("rines de 20 5x4.5 para honda civic 06-11", today=today)
    assert rims["wheel_diameter"] == 20 and rims["bolt_patterns"] == ["5x114.3"]
    assert (rims["year_min"], rims["year_max"], rims["makes"], rims["models"]) == (2006, 2011, ["honda"], ["honda civic"])
    lights = extract("Ford F150 headlights 2015-2017", today=today)
    assert (lights["year_min"], lights["year_max"], lights["models"]) == (2015, 2017, ["ford f150"])
    part = extract("OEM 84002-0E010 fits 2016 toyota tacoma. call 254-555-0182", today=today)
    assert part["part_numbers"] == ["84002-0e010"] and part["models"] == ["toyota tacoma"] and part["year_min"] == 2016
    # An everyday word that is also a model counts only beside its make or a year; a price is no year.
    assert extract("will fit most cars, $1500 obo", today=today)["models"] is None
    assert extract("2012 honda fit seats", today=today)["models"] == ["honda fit"]
    assert extract("wheels 20x10 -24 offset", today=today)["wheel_specs"] == ["20x10"]
    assert all(value is None for value in extract(None, today=today).values())


def test_fits_and_size_arguments_read_as_listings_are():
    assert parse_fits("2016 Civic") == (2016, ["honda"], ["honda civic"])
    assert parse_fits("silverado") == (None, ["chevrolet"], ["chevrolet silverado"])
    assert parse_fits("nothing here") == (None, [], [])
    assert canonical_spec("265/70R17").text == "265/70r17" and canonical_spec("tires 265/70R17") is None
