"""A small reference classifier for the synthetic inbox, independent of the generator and of
ingestion: the sample tests check the summary's books against what it finds on disk."""

from __future__ import annotations

import csv
import gzip
import ipaddress
import json
import os
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from c2c_assets.sample import MAX_LINE_BYTES


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
