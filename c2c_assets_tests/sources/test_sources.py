import json
from datetime import datetime, timezone

import pytest

from c2c_assets.sources import get_source, source_names
from c2c_assets.sources.base import INVALID_ID, MISSING_ID, WRONG_TYPE, QuarantineError


def _first_line(inbox, source):
    return json.loads((inbox / source / "2024-03-01" / "posts.jsonl").read_text().splitlines()[0])


def test_registry_discovers_each_source_module():
    assert source_names() == ["craigslist", "offerup"]
    with pytest.raises(KeyError, match="unknown source 'ebay'"):
        get_source("ebay")


def test_craigslist_line_maps_to_canonical_post(examples_inbox):
    post = get_source("craigslist").parse(_first_line(examples_inbox, "craigslist"))
    assert post.post_id == "craigslist:7712345601"
    assert post.title == "Ford F150 headlights 2015-2017"
    assert post.description == "Pair of OEM headlights, both sides, no cracks. Plug and play."  # boilerplate gone
    assert post.price_usd == 120.0 and post.price_raw == "$120"
    assert post.location == "Waco"
    assert post.posted_at == datetime(2024, 2, 20, 20, 5, 11, tzinfo=timezone.utc)
    assert post.condition == "good" and post.attributes == {"condition": "good"}
    assert post.image_refs == ["images/7712345601_0.jpg"]
    assert post.flags == []


def test_offerup_line_maps_to_canonical_post(examples_inbox):
    post = get_source("offerup").parse(_first_line(examples_inbox, "offerup"))
    assert post.post_id == "offerup:a1b2c3d4e5f6"
    assert post.price_usd == 350.0
    assert post.category == "Wheels & tires" and post.condition == "used" and post.location == "Dallas, TX"
    assert post.posted_at == datetime.fromtimestamp(1709300000, tz=timezone.utc)
    assert post.image_refs == [f"images/a1b2c3d4e5f6_{i}.png" for i in range(3)]


def test_offerup_photo_without_local_file_uses_its_url():
    post = get_source("offerup").parse(
        {"listingId": "x1", "title": "t", "photos": [{"uuid": "u", "url": "https://img.example/a.jpg", "localPath": None}, "junk"]}
    )
    assert post.image_refs == ["https://img.example/a.jpg", "junk"]


@pytest.mark.parametrize(
    ("source", "record", "reason"),
    [
        ("craigslist", {"title": "x"}, MISSING_ID),
        ("craigslist", {"pid": None, "title": "x"}, MISSING_ID),
        ("craigslist", {"pid": 77123, "title": "x"}, WRONG_TYPE),
        ("craigslist", {"pid": "abc12", "title": "x"}, INVALID_ID),
        ("craigslist", {"pid": "1", "title": 5}, WRONG_TYPE),
        ("craigslist", {"pid": "1", "title": "x", "images": "a.jpg"}, WRONG_TYPE),
        ("craigslist", {"pid": "1", "title": "x", "attrs": ["a"]}, WRONG_TYPE),
        ("craigslist", {"pid": "1", "title": "x", "attrs": {"a": {"b": 1}}}, WRONG_TYPE),
        ("craigslist", {"pid": "1", "title": "x", "price": 120}, WRONG_TYPE),
        ("offerup", {"title": "x"}, MISSING_ID),
        ("offerup", {"listingId": 5, "title": "x"}, WRONG_TYPE),
        ("offerup", {"listingId": "a", "price": True}, WRONG_TYPE),
        ("offerup", {"listingId": "a", "price": [1]}, WRONG_TYPE),
        ("offerup", {"listingId": "a", "photos": {"url": "x"}}, WRONG_TYPE),
        ("offerup", {"listingId": "a", "postDate": 1.5}, WRONG_TYPE),
    ],
)
def test_bad_fields_are_refused_with_a_reason(source, record, reason):
    with pytest.raises(QuarantineError) as error:
        get_source(source).parse(record)
    assert error.value.reason == reason
    assert error.value.detail


def test_odd_but_valid_values_are_flagged_not_refused():
    post = get_source("craigslist").parse(
        {"pid": "9", "title": "T" * 400, "price": "$12abc34", "datetime": "not a date", "body": "ok"}
    )
    assert post.title == "T" * 300
    assert set(post.flags) == {"title_truncated", "price_unparsed", "posted_at_unparsed"}
    assert post.price_raw == "$12abc34" and post.posted_at is None
