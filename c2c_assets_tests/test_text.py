from datetime import datetime, timezone

import pytest

from c2c_assets.text import DESCRIPTION_MAX_CHARS, clean_text, parse_datetime, parse_price


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("$1,200", 1200.0),
        ("120", 120.0),
        ("$45 obo", 45.0),
        ("Free", 0.0),
        ("FREE - must pick up", 0.0),
        ("1.2k", 1200.0),
        ("$1.5K", 1500.0),
        ("OBO", None),
        ("call for price", None),
        ("", None),
        ("120.00", 120.0),
        (120, 120.0),
        (45.5, 45.5),
        (None, None),
        (True, None),
        (float("nan"), None),
        (-5, None),
        ("$99,999,999", None),
        ("$12,345.67", 12345.67),
    ],
)
def test_parse_price(raw, expected):
    assert parse_price(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-02-28T14:05:11-0600", datetime(2024, 2, 28, 20, 5, 11, tzinfo=timezone.utc)),
        ("2024-02-28T14:05:11-06:00", datetime(2024, 2, 28, 20, 5, 11, tzinfo=timezone.utc)),
        ("2024-02-28T14:05:11-06", datetime(2024, 2, 28, 20, 5, 11, tzinfo=timezone.utc)),
        ("2024-02-28T14:05:11Z", datetime(2024, 2, 28, 14, 5, 11, tzinfo=timezone.utc)),
        ("2024-02-28T14:05:11", datetime(2024, 2, 28, 14, 5, 11, tzinfo=timezone.utc)),
        (1709300000000, datetime(2024, 3, 1, 13, 33, 20, tzinfo=timezone.utc)),
        ("1709300000000", datetime(2024, 3, 1, 13, 33, 20, tzinfo=timezone.utc)),
        (10**30, None),
        ("yesterday", None),
        ("2024-13-45T00:00:00", None),
        (None, None),
        ([2024], None),
    ],
)
def test_parse_datetime_to_utc(raw, expected):
    assert parse_datetime(raw) == expected


def test_clean_text_follows_the_contract():
    raw = "QR Code Link to This Post\n\nNo plugs &amp; no\u200b patches.<br>Call <b>now</b>\x07 &lt;3  \t cafe\u0301"
    text, truncated = clean_text(raw, boilerplate=("QR Code Link to This Post",))
    assert text == "No plugs & no patches. Call now <3 caf\u00e9"
    assert not truncated


def test_clean_text_cuts_long_fields_and_says_so():
    text, truncated = clean_text("word " * 5000, max_chars=DESCRIPTION_MAX_CHARS)
    assert truncated and len(text) <= DESCRIPTION_MAX_CHARS


def test_entity_encoded_tags_are_stripped_too():
    assert clean_text("a&lt;br&gt;b")[0] == "a b"
