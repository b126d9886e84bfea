"""The quality rules on small inputs: text and price rules, photo hashing of bad bytes, FAISS binary near
pairs (exact and IVF), scores, the search post-filter."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageFilter

from c2c_assets.quality import photo_groups, scores
from c2c_assets.quality.photos import hash_photo
from c2c_assets.quality.flags import photo_flags
from c2c_assets.quality.postfilter import post_filter
from c2c_assets.quality.text import placeholder_price, text_components, text_flags


@pytest.mark.parametrize(("title", "description", "flag"), [
    ("", "  ", "empty_text"),
    ("(555) 123-4567", "call or text 555.123.4567", "phone_only"),
    ("Everything must go", "Make offer. Cash only!", "boilerplate_only"),
    ("Must sell", "", "boilerplate_only"),
])
def test_junk_text_is_flagged(title, description, flag):
    assert [f for f, _, _ in text_flags(title, description)] == [flag]


@pytest.mark.parametrize(("title", "description"), [
    ("Set of 4 tires 265/70R17", "Make offer. Call 555-123-4567 after 5."),
    ("Brembo brake calipers", "Everything must go, these fit a 2015 Civic."),
])
def test_real_listings_with_stock_phrases_are_not_flagged(title, description):
    assert text_flags(title, description) == []


@pytest.mark.parametrize(("price", "placeholder"), [
    (0, True), (1, True), (0.5, True), (1.5, True), (123456, True), (999999, True), (1234, True), (98765, True),
    (123457, True),  # beyond what a used part asks ($50,000): the same rule pricing uses
    (2, False), (120, False), (1250, False), (4567.5, False), (None, False), (float("nan"), False),
])
def test_placeholder_prices(price, placeholder):
    assert placeholder_price(price) is placeholder


def test_near_duplicate_texts_count_as_one_item():
    a = "Set of 4 tires 265/70R17 80% tread left, DOT date code 3820. Can mount and balance."
    assert text_components([a, a + " Still available.", "Chrome bumper for a 2012 Tacoma, small dent", ""]) == 3


def _jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_a_photo_that_cannot_be_read_is_a_row_with_a_reason():
    row = hash_photo(lambda: Image.open(io.BytesIO(b"\xff\xd8 not really a jpeg")))
    assert row["status"] == "unhashable" and "UnidentifiedImageError" in row["reason"]
    assert photo_flags(row) == [("photo_unhashable", 1.0, row["reason"])]


def test_photo_measurements_flag_blurry_dark_tiny():
    from c2c_assets.sample.painter import _Painter

    sharp = _Painter(7, (224, 168)).render("wheels", 11, 12)  # one of the sample's drawings
    measured = lambda image: hash_photo(lambda: Image.open(io.BytesIO(_jpeg(image))))  # noqa: E731
    assert not photo_flags(measured(sharp))
    assert "photo_blurry" in [f for f, _, _ in photo_flags(measured(sharp.filter(ImageFilter.GaussianBlur(4))))]
    assert "photo_dark" in [f for f, _, _ in photo_flags(measured(sharp.point(lambda v: v // 20)))]
    assert "photo_tiny" in [f for f, _, _ in photo_flags(measured(sharp.resize((40, 30))))]
    assert "photo_odd_aspect" in [f for f, _, _ in photo_flags(measured(sharp.resize((400, 100))))]


@pytest.mark.parametrize("exact_rows", [10**9, 100])
def test_binary_near_pairs_find_planted_copies(exact_rows):
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, size=(3000, 64), dtype=np.uint8)
    copies = {5: 7, 100: 2000, 2999: 0}
    for copy, original in copies.items():
        flip = np.zeros(512, dtype=bool)
        flip[rng.choice(512, 20, replace=False)] = True
        codes[copy] = codes[original] ^ np.packbits(flip)
    index = photo_groups.binary_index(codes, exact_rows=exact_rows)
    first, second, dist = photo_groups.near_pairs(codes, index=index)
    assert {(int(a), int(b)) for a, b in zip(first, second, strict=True)} == {tuple(sorted(p)) for p in copies.items()}
    assert (dist == 20).all()
    labels = photo_groups.components(len(codes), first, second)
    assert labels[5] == labels[7] and labels[0] == labels[2999] and len(set(labels.tolist())) == 3000 - 3


def test_group_ids_are_stable_as_a_group_grows():
    from c2c_assets.quality.photo_group_update import _anchor_ids

    day = np.datetime64("2024-03-01")
    keys = np.array(["b" * 64, "c" * 64, "a" * 64], dtype=object)
    before = _anchor_ids(keys[:2], np.array([day, day]), np.array([0, 0]))
    # A photo seen a day later joins: the group keeps its name, though the new photo's sha256 sorts first.
    after = _anchor_ids(keys, np.array([day, day, day + 1]), np.array([4, 4, 4]))
    assert before[0] == before[1] == after[0] == after[2] == "p" + "b" * 16


def test_scores_follow_the_definitions():
    similarity = np.array([[0.99, 0.98, 0.97], [0.5, 0.4, 0.3], [np.nan, np.nan, np.nan]], dtype=np.float32)
    unique = scores.uniqueness(similarity)
    assert unique[1] == pytest.approx(1.0) and unique[0] < unique[1] and unique[2] == 0.0
    outlier, is_outlier = scores.outlier_scores(similarity)
    assert outlier[1] == outlier.max() and is_outlier.tolist() == [False, True, False]
    rep = scores.representativeness(np.array([0, 0, 1, -1]), np.array([0.1, 0.4, 0.0, 0.3]))
    assert rep[:3].tolist() == [pytest.approx(0.75), 0.0, 1.0] and np.isnan(rep[3])


def test_post_filter_keeps_the_best_hit_per_group_and_drops_flagged():
    hits = [SimpleNamespace(post_id=p) for p in ["a", "b", "c", "d", "e"]]
    kept = post_filter(hits, group_of={"a": "g1", "c": "g1", "d": "g2"}, flagged={"b"})
    assert [h.post_id for h in kept] == ["a", "d", "e"]


def test_quality_gallery_escapes_scraped_text_and_refuses_script_links():
    from c2c_assets.reporting.render import CSP_STATIC, render_page

    groups = [{"group_id": "r1", "caption": "2 listings", "members": [
        {"label": "<script>alert(1)</script>", "url": "javascript:alert(1)", "thumb": None, "detail": "<b>x</b>"},
        {"label": "ok", "url": "https://example.org/a", "thumb": None, "detail": ""},
    ]}]
    html = render_page("quality_gallery.html.j2", title="t", groups=groups)
    assert "<script>" not in html and "&lt;script&gt;" in html and "javascript:" not in html and "&lt;b&gt;" in html
    assert 'href="https://example.org/a"' in html and f'content="{CSP_STATIC}"' in html
