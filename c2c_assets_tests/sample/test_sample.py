"""Tests for the deterministic synthetic inbox generator (c2c_assets.sample).

The checks use a small independent reference classifier (``reference``) so that the
summary's expectations (quarantine reasons, image rejections, labels, counts) are
verified against what is actually on disk, not against the generator's own books.
Byte-for-byte determinism is checked in ``test_determinism``.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections import Counter
from datetime import date

import pytest
from PIL import Image

from c2c_assets.sample import (
    BOMB_SIDE,
    CATEGORIES,
    IMAGE_REJECTION_REASONS,
    MAX_LINE_BYTES,
    QUARANTINE_REASONS,
    SOURCES,
    generate_sample,
)
from c2c_assets_tests.sample.reference import (
    all_images,
    analyse,
    classify_dump,
    non_blank,
    read_labels,
    read_raw_lines,
)

N = 120


# ----------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("s") / "inbox"
    return generate_sample(inbox, n_posts=N)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    inbox = tmp_path_factory.mktemp("c") / "inbox"
    return generate_sample(inbox, n_posts=N, bad_inputs=False)


# -------------------------------------------------------------------- tests

def test_interface_constants():
    assert len(CATEGORIES) >= 12
    for c in ("tires", "wheels", "headlights", "tail lights", "bumpers", "seats", "audio",
              "engine", "exhaust", "brakes", "mirrors", "body panels"):
        assert c in CATEGORIES
    assert len(set(CATEGORIES)) == len(CATEGORIES)


def test_layout_and_counts(sample):
    inbox = sample.inbox
    days = [date(2024, 3, d).isoformat() for d in (1, 2, 3)]
    assert sorted(sample.dumps) == sorted(f"{s}/{d}" for s in SOURCES for d in days)
    for key, count in sample.dumps.items():
        folder = inbox / key
        assert (folder / "images").is_dir()
        if key == f"offerup/{days[-1]}":
            assert (folder / "posts.jsonl.gz").exists() and not (folder / "posts.jsonl").exists()
            raw = (folder / "posts.jsonl.gz").read_bytes()
            assert raw[:2] == b"\x1f\x8b" and struct.unpack("<I", raw[4:8])[0] == 0  # mtime=0
        else:
            assert (folder / "posts.jsonl").exists() and not (folder / "posts.jsonl.gz").exists()
        assert not list(folder.glob(".*tmp"))
        assert len(non_blank(read_raw_lines(folder))) == count
        # roughly even split over the 6 dumps
        assert N / 6 * 0.7 <= count <= N / 6 * 1.6
    assert sample.labels_path == inbox / "labels.csv"
    assert sample.n_posts == N


def test_labels_match_accepted_lines(sample):
    q, accepted_ids, img, n_refs, _ = analyse(sample)
    labels = read_labels(sample)
    ids = [r["post_id"] for r in labels]
    assert len(ids) == len(set(ids)) == sample.n_posts
    assert set(ids) == accepted_ids
    for r in labels:
        assert r["source"] == r["post_id"].split(":")[0]
        assert r["category"] in CATEGORIES
    with open(sample.labels_path, encoding="utf-8") as f:
        assert f.readline() == "post_id,source,category\n"


def test_expected_quarantine_matches_reference(sample):
    q, _ids, _img, _n, _ = analyse(sample)
    assert dict(q) == sample.expected_quarantine
    assert set(sample.expected_quarantine) == set(QUARANTINE_REASONS)
    assert sample.expected_quarantine["malformed_json"] >= 3
    assert sample.expected_quarantine["not_an_object"] >= 2
    assert sample.expected_quarantine["wrong_type"] >= 6
    assert sample.expected_quarantine["duplicate_listing"] >= 2
    assert sample.expected_quarantine["line_too_long"] == 1


def test_expected_image_rejections_match_reference(sample):
    _q, _ids, img, n_refs, _ = analyse(sample)
    assert "unexpected_remote" not in img
    assert dict(img) == sample.expected_image_rejections
    assert set(sample.expected_image_rejections) == set(IMAGE_REJECTION_REASONS)
    assert sample.expected_image_rejections["unsafe_path"] == 3
    assert sample.expected_image_rejections["blocked_address"] == 2
    assert n_refs == sample.n_images


def test_every_category_present(sample):
    cats = {r["category"] for r in read_labels(sample)}
    assert cats == set(CATEGORIES)


def test_photos_per_post(sample):
    _q, _ids, _img, _n, per_post = analyse(sample)
    assert all(0 <= total <= 5 for total, _good in per_post)
    goods = Counter(good for _total, good in per_post)
    assert sum(goods[k] for k in (1, 2, 3)) > 0.6 * len(per_post)
    assert goods[0] > 0


def test_special_encodings(sample):
    found = Counter()
    for p, fmt, mode, size, orientation in all_images(sample.inbox):
        if fmt == "JPEG" and mode == "CMYK":
            found["cmyk"] += 1
        if fmt == "PNG" and mode == "RGBA":
            found["rgba"] += 1
        if fmt == "PNG" and mode == "P":
            found["p"] += 1
        if fmt == "PNG" and mode == "I;16":
            found["i16"] += 1
        if fmt == "JPEG" and orientation == 6:
            found["exif6"] += 1
            assert size == (168, 224)  # stored sideways, displays as 224x168
        if fmt == "JPEG" and mode not in ("RGB", "CMYK"):
            found["other"] += 1
    assert found["cmyk"] >= 1 and found["rgba"] >= 1 and found["p"] >= 1
    assert found["i16"] >= 1 and found["exif6"] >= 1
    assert found["other"] == 0


def test_bomb_png_is_tiny(sample):
    bombs = []
    for p in sample.inbox.rglob("images/*.png"):
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        length, typ = struct.unpack(">I4s", data[8:16])
        assert typ == b"IHDR"
        ihdr = data[16:16 + length]
        (crc,) = struct.unpack(">I", data[16 + length:20 + length])
        assert crc == zlib.crc32(typ + ihdr) & 0xFFFFFFFF
        w, h = struct.unpack(">II", ihdr[:8])
        if (w, h) == (BOMB_SIDE, BOMB_SIDE):
            bombs.append(p)
            assert len(data) < 2000
            assert data.endswith(b"IEND\xaeB`\x82")
    assert len(bombs) == 1
    assert BOMB_SIDE == 30000


def test_symlink_points_outside(sample):
    links = [p for p in sample.inbox.rglob("images/*") if p.is_symlink()]
    assert len(links) == 1
    link = links[0]
    dump = link.parent.parent
    target = link.resolve()
    assert not target.is_relative_to(dump.resolve())
    assert target == (sample.inbox / "outside" / "secret.jpg").resolve()
    assert target.is_file()
    with Image.open(target) as im:
        im.verify()
    assert not os.path.isabs(os.readlink(link))  # relative, so the tree is reproducible


def test_tricky_lines_present(sample):
    inbox = sample.inbox
    bom_dumps, blank, invalid_utf8 = 0, 0, 0
    price_120 = False
    for key in sample.dumps:
        lines = read_raw_lines(inbox / key)
        if lines[0].startswith(b"\xef\xbb\xbf"):
            bom_dumps += 1
            assert json.loads(lines[0][3:])  # a good record follows the BOM
        blank += sum(1 for ln in lines if not ln.strip())
        for ln in lines:
            if not ln.strip() or len(ln) > MAX_LINE_BYTES:
                continue
            try:
                ln.decode("utf-8")
            except UnicodeDecodeError:
                invalid_utf8 += 1
                obj = json.loads(ln.decode("utf-8", "replace"))
                assert isinstance(obj, dict) and "\ufffd" in json.dumps(obj, ensure_ascii=False)
                continue
            if key.startswith("offerup") and b'"price":"120.00"' in ln:
                price_120 = True
    assert bom_dumps == 1 and blank >= 4 and invalid_utf8 >= 1 and price_120
    labels = {r["post_id"] for r in read_labels(sample)}
    # the invalid-UTF-8 posts are good posts
    _q, accepted, *_ = analyse(sample)
    assert labels == accepted


def test_repeated_listing_latest_scrape_wins(sample):
    seen: dict[str, list[tuple[str, object]]] = {}
    for key in sorted(sample.dumps):
        source = key.split("/")[0]
        _q, accepted = classify_dump(source, read_raw_lines(sample.inbox / key))
        for sid, obj in accepted:
            seen.setdefault(f"{source}:{sid}", []).append((key, obj.get("price")))
    repeated = {pid: v for pid, v in seen.items() if len(v) > 1}
    assert repeated
    for pid, versions in repeated.items():
        dates = [k.split("/")[1] for k, _p in versions]
        assert len(set(dates)) == len(dates)
        assert versions[0][1] != versions[-1][1]  # the price changed
    assert len(seen) == sample.n_posts


def test_text_content_is_varied(sample):
    cl_bodies, cl_prices, ou_prices, ou_dates = [], set(), set(), set()
    for key in sample.dumps:
        source = key.split("/")[0]
        _q, accepted = classify_dump(source, read_raw_lines(sample.inbox / key))
        for _sid, obj in accepted:
            if source == "craigslist":
                cl_bodies.append(obj["body"])
                cl_prices.add(type(obj["price"]).__name__)
                assert obj["datetime"] is None or obj["datetime"][-5] in "+-"
            else:
                ou_prices.add(type(obj["price"]).__name__)
                ou_dates.add(type(obj["postDate"]).__name__)
                for ph in obj["photos"]:
                    assert set(ph) == {"uuid", "url", "localPath"}
    assert sum(b.startswith("QR Code Link to This Post\n\n") for b in cl_bodies) > len(cl_bodies) / 2
    assert any("&" in b and ";" in b for b in cl_bodies)
    assert {"str"} <= cl_prices and {"str", "int"} <= ou_prices and "int" in ou_dates
    titles = [r for r in read_labels(sample)]
    assert len(titles) == N


def test_clean_sample_has_no_bad_inputs(clean):
    assert clean.expected_quarantine == {}
    assert clean.expected_image_rejections == {}
    for key, count in clean.dumps.items():
        lines = read_raw_lines(clean.inbox / key)
        assert all(ln.strip() for ln in lines)  # no blank lines
        assert len(lines) == count
        assert not lines[0].startswith(b"\xef\xbb\xbf")
        for ln in lines:
            obj = json.loads(ln.decode("utf-8"))  # strict UTF-8, parseable
            assert isinstance(obj, dict)
    q, accepted, img, n_refs, _ = analyse(clean)
    assert not q and not img
    assert n_refs == clean.n_images
    assert {r["post_id"] for r in read_labels(clean)} == accepted
    assert not (clean.inbox / "outside").exists()
    assert not [p for p in clean.inbox.rglob("*") if p.is_symlink()]


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate_sample(tmp_path / "a", n_posts=5)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.txt").write_text("x")
    with pytest.raises(FileExistsError):
        generate_sample(tmp_path / "b", n_posts=N)


@pytest.mark.parametrize("n_days,n_posts,seed", [(1, 30, 3), (4, 48, 11)])
def test_other_shapes_stay_consistent(tmp_path, n_days, n_posts, seed):
    s = generate_sample(tmp_path / "inbox", n_posts=n_posts, n_days=n_days, seed=seed,
                        image_size=(64, 48))
    assert len(s.dumps) == 2 * n_days
    q, accepted, img, n_refs, per_post = analyse(s)
    assert dict(q) == s.expected_quarantine
    assert dict(img) == s.expected_image_rejections
    assert n_refs == s.n_images
    assert {r["post_id"] for r in read_labels(s)} == accepted
    assert len(accepted) == n_posts
    assert all(total <= 5 for total, _good in per_post)
