"""Tests for the deterministic synthetic inbox generator (c2c_assets.sample).

The checks use a small independent reference classifier (below) so that the
summary's expectations (quarantine reasons, image rejections, labels, counts) are
verified against what is actually on disk, not against the generator's own books.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import ipaddress
import json
import os
import struct
import zlib
from collections import Counter
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image, UnidentifiedImageError

from c2c_assets.sample import (
    BOMB_SIDE,
    CATEGORIES,
    IMAGE_REJECTION_REASONS,
    MAX_LINE_BYTES,
    QUARANTINE_REASONS,
    SOURCES,
    generate_sample,
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


# ------------------------------------------------------------------ helpers

def tree_digest(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def dump_file(folder: Path) -> Path:
    gz = folder / "posts.jsonl.gz"
    return gz if gz.exists() else folder / "posts.jsonl"


def read_raw_lines(folder: Path) -> list[bytes]:
    f = dump_file(folder)
    data = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def non_blank(lines: list[bytes]) -> list[bytes]:
    return [ln for ln in lines if ln.strip()]


ID_KEY = {"craigslist": "pid", "offerup": "listingId"}


def _is_str_or_none(v) -> bool:
    return v is None or isinstance(v, str)


def check_types(source: str, obj: dict) -> bool:
    if source == "craigslist":
        for k in ("url", "title", "hood", "datetime", "body"):
            if not _is_str_or_none(obj.get(k)):
                return False
        if not _is_str_or_none(obj.get("price")):
            return False
        attrs = obj.get("attrs", {})
        if not isinstance(attrs, dict) or not all(isinstance(v, str) for v in attrs.values()):
            return False
        imgs = obj.get("images", [])
        return isinstance(imgs, list) and all(isinstance(i, str) for i in imgs)
    for k in ("title", "description", "condition", "categoryName", "locationName"):
        if not _is_str_or_none(obj.get(k)):
            return False
    price = obj.get("price")
    if isinstance(price, bool) or not (price is None or isinstance(price, (str, int, float))):
        return False
    pd = obj.get("postDate")
    if isinstance(pd, bool) or not (pd is None or isinstance(pd, (int, str))):
        return False
    photos = obj.get("photos", [])
    return isinstance(photos, list) and all(isinstance(p, dict) for p in photos)


def image_refs(source: str, obj: dict) -> list[str]:
    if source == "craigslist":
        return list(obj.get("images") or [])
    return [p.get("localPath") or p.get("url") for p in obj.get("photos") or []]


def classify_dump(source: str, lines: list[bytes]):
    """Reference classifier: returns ([(reason, raw)], [(sid, obj)] accepted)."""
    quarantined: list[tuple[str, bytes]] = []
    candidates: list[tuple[str, dict, bytes]] = []
    first = True
    for raw in lines:
        if not raw.strip():
            continue
        if first:
            raw_body = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
            first = False
        else:
            raw_body = raw
        if len(raw) > MAX_LINE_BYTES:
            quarantined.append(("line_too_long", raw))
            continue
        try:
            obj = json.loads(raw_body.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            quarantined.append(("malformed_json", raw))
            continue
        if not isinstance(obj, dict):
            quarantined.append(("not_an_object", raw))
            continue
        sid = obj.get(ID_KEY[source])
        if sid is None:
            quarantined.append(("missing_id", raw))
            continue
        if not isinstance(sid, str):
            quarantined.append(("wrong_type", raw))
            continue
        if source == "craigslist" and not sid.isdigit():
            quarantined.append(("invalid_id", raw))
            continue
        if not check_types(source, obj):
            quarantined.append(("wrong_type", raw))
            continue
        desc = obj.get("body" if source == "craigslist" else "description") or ""
        if not (obj.get("title") or "").strip() and not desc.strip() and not image_refs(source, obj):
            quarantined.append(("empty_post", raw))
            continue
        candidates.append((sid, obj, raw))
    last = {sid: i for i, (sid, _o, _r) in enumerate(candidates)}
    accepted = []
    for i, (sid, obj, raw) in enumerate(candidates):
        if last[sid] != i:
            quarantined.append(("duplicate_listing", raw))
        else:
            accepted.append((sid, obj))
    return quarantined, accepted


def classify_image(dump: Path, ref: str) -> str | None:
    if "://" in ref:
        parts = urlsplit(ref)
        if parts.scheme not in ("http", "https"):
            return "bad_scheme"
        try:
            ip = ipaddress.ip_address(parts.hostname)
        except ValueError:
            return "unexpected_remote"
        if ip.is_private or ip.is_loopback or ip.is_link_local:
            return "blocked_address"
        return "unexpected_remote"
    if os.path.isabs(ref) or ".." in Path(ref).parts:
        return "unsafe_path"
    p = dump / ref
    if p.is_symlink() and not p.resolve().is_relative_to(dump.resolve()):
        return "unsafe_path"
    if not p.exists():
        return "missing_file"
    try:
        with Image.open(p) as im:
            if im.size[0] * im.size[1] > 50_000_000:
                return "too_many_pixels"
            im.load()
    except Image.DecompressionBombError:
        return "too_many_pixels"
    except UnidentifiedImageError:
        return "not_an_image"
    except OSError:
        return "corrupt_image"
    return None


def analyse(summary):
    """Classify every dump of a sample with the reference classifier."""
    q = Counter()
    accepted_ids: set[str] = set()
    img = Counter()
    n_refs = 0
    per_post_refs: list[tuple[int, int]] = []  # (all refs, good refs)
    for key in summary.dumps:
        source = key.split("/")[0]
        folder = summary.inbox / key
        quarantined, accepted = classify_dump(source, read_raw_lines(folder))
        q.update(reason for reason, _raw in quarantined)
        for sid, obj in accepted:
            accepted_ids.add(f"{source}:{sid}")
            refs = image_refs(source, obj)
            n_refs += len(refs)
            bad = [classify_image(folder, r) for r in refs]
            img.update(b for b in bad if b)
            per_post_refs.append((len(refs), sum(1 for b in bad if b is None)))
    return q, accepted_ids, img, n_refs, per_post_refs


def read_labels(summary) -> list[dict[str, str]]:
    with open(summary.labels_path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def all_images(root: Path):
    for p in sorted(root.rglob("images/*")):
        if p.is_symlink() or not p.is_file():
            continue
        try:
            with Image.open(p) as im:
                yield p, im.format, im.mode, im.size, im.getexif().get(0x0112)
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError):
            continue


# -------------------------------------------------------------------- tests

def test_interface_constants():
    assert len(CATEGORIES) >= 12
    for c in ("tires", "wheels", "headlights", "tail lights", "bumpers", "seats", "audio",
              "engine", "exhaust", "brakes", "mirrors", "body panels"):
        assert c in CATEGORIES
    assert len(set(CATEGORIES)) == len(CATEGORIES)


def test_determinism_same_seed(tmp_path, sample):
    again = generate_sample(tmp_path / "inbox", n_posts=N)
    assert tree_digest(again.inbox) == tree_digest(sample.inbox)
    assert again.dumps == sample.dumps
    assert again.expected_quarantine == sample.expected_quarantine
    assert again.expected_image_rejections == sample.expected_image_rejections
    assert again.n_images == sample.n_images


def test_different_seed_differs(tmp_path, sample):
    other = generate_sample(tmp_path / "inbox", n_posts=N, seed=8)
    a, b = tree_digest(sample.inbox), tree_digest(other.inbox)
    for key in sample.dumps:
        name = dump_file(sample.inbox / key).relative_to(sample.inbox).as_posix()
        assert a[name] != b[name]
    assert read_labels(sample) != read_labels(other)


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
