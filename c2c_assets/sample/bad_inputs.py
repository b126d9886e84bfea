"""Bad inputs on purpose, with the books of what ingestion must do with them.

Quarantined lines (``QUARANTINE_REASONS``): truncated JSON, non-objects, missing or invalid ids,
wrong field types, empty posts, an over-long line, and an earlier copy of a listing superseded in
the same dump. Rejected image references (``IMAGE_REJECTION_REASONS``), each in an otherwise good
post: unsafe paths (absolute, ``..``, a symbolic link out of the dump), a missing file, a web page
saved as ``.jpg``, half a JPEG, a decompression-bomb PNG, private addresses and a non-HTTP scheme.
Tricky but acceptable: a price as ``"120.00"``, invalid UTF-8 inside a text field, blank lines.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .painter import _bomb_png
from .posts import _BADBYTES_MARK, _Gen, _Post, _uuid
from .vocabulary import CATEGORIES, SOURCES
from .wording import _cl_price, _ou_price, _round_price
from .writer import _render_line

QUARANTINE_REASONS: tuple[str, ...] = (
    "malformed_json",
    "not_an_object",
    "missing_id",
    "invalid_id",
    "wrong_type",
    "empty_post",
    "duplicate_listing",
    "line_too_long",
)

IMAGE_REJECTION_REASONS: tuple[str, ...] = (
    "unsafe_path",
    "missing_file",
    "not_an_image",
    "corrupt_image",
    "too_many_pixels",
    "blocked_address",
    "bad_scheme",
)

MAX_LINE_BYTES = 1 << 20  # a line longer than this must be quarantined (line_too_long)

# (source, kind, reference, reason, file to write for it)
_BAD_REFS: tuple[tuple[str, str, str, str, tuple[str] | None], ...] = (
    ("craigslist", "local", "/etc/passwd", "unsafe_path", None),
    ("offerup", "local", "../../outside/secret.jpg", "unsafe_path", None),
    ("craigslist", "local", "images/{sid}_link.jpg", "unsafe_path", ("symlink",)),
    ("offerup", "local", "images/{sid}_9.jpg", "missing_file", None),
    ("craigslist", "local", "images/{sid}_8.jpg", "not_an_image", ("text",)),
    ("offerup", "local", "images/{sid}_7.jpg", "corrupt_image", ("truncated",)),
    ("craigslist", "local", "images/{sid}_6.png", "too_many_pixels", ("bomb",)),
    ("craigslist", "url", "http://192.168.1.20/photo.jpg", "blocked_address", None),
    ("offerup", "url", "http://127.0.0.1:9/x.jpg", "blocked_address", None),
    ("craigslist", "url", "ftp://example.com/a.jpg", "bad_scheme", None),
)


@dataclass
class _Planted:
    """What planting bad inputs in good posts adds to the sample besides the posts' own changes."""

    dup_hosts: list[_Post] = field(default_factory=list)  # posts with an earlier copy in their dump
    quarantine: Counter[str] = field(default_factory=Counter)
    image_rejections: Counter[str] = field(default_factory=Counter)
    extra_files: dict[str, dict[str, tuple]] = field(default_factory=dict)  # dump -> name -> job
    outside_needed: bool = False


def _plant_bad_posts(rng: random.Random, take: Callable[[Callable[[_Post], bool]], _Post],
                     dump_key: Callable[[str, int], str]) -> _Planted:
    """Turn a few good posts (each taken once by ``take``) into tricky lines and bad image references."""
    planted = _Planted()
    # tricky but acceptable lines
    p = take(lambda q: q.source == "offerup")
    p.record["price"] = "120.00"
    p.price_value, p.price_style = 120.0, "str2"
    for src, raw, text in (("craigslist", b"caf\xe9", " Meet at the caf" + _BADBYTES_MARK + " on 5th."),
                           ("offerup", b"\xff\xfe", " Se vende " + _BADBYTES_MARK + " barato.")):
        p = take(lambda q, s=src: q.source == s)
        key = "body" if src == "craigslist" else "description"
        p.record[key] = p.record[key] + text
        p.bad_bytes = raw
    # bad image references, each in an otherwise good post with a title
    for src, kind, value, reason, job in _BAD_REFS:
        p = take(lambda q, s=src: q.source == s and len(q.photos) <= 4 and bool((q.record.get("title") or "").strip()))
        value = value.format(sid=p.sid)
        p.bad_refs.append((kind, value, reason))
        planted.image_rejections[reason] += 1
        files = planted.extra_files.setdefault(dump_key(p.source, p.day), {})
        if job == ("symlink",):
            files[value] = ("symlink", "../../../outside/secret.jpg")
            planted.outside_needed = True
        elif job == ("text",):
            files[value] = ("bytes", (b"<html><head><title>404 Not Found</title></head>"
                                     b"<body>The requested image was not found.</body></html>\n"))
        elif job == ("truncated",):
            files[value] = ("truncated", p.category, p.vis_seed, rng.getrandbits(63))
        elif job == ("bomb",):
            files[value] = ("bytes", _bomb_png())
        if value.startswith("../"):
            planted.outside_needed = True
    # duplicate listing in one dump: the earlier line is superseded
    for src in SOURCES:
        planted.dup_hosts.append(take(lambda q, s=src: q.source == s))
        planted.quarantine["duplicate_listing"] += 1
    return planted


def _bad_lines(gen: _Gen, bad_inputs: bool, n_posts: int) -> list[tuple[str, bytes, str]]:
    """Quarantine lines that need no host post: (source, raw line, reason)."""
    if not bad_inputs:
        return []
    rng = gen.rng
    out: list[tuple[str, bytes, str]] = []

    def fresh(source: str) -> dict[str, Any]:
        p = gen.make_post(source, 0, rng.choice(CATEGORIES), n_photos=0)
        rec = dict(p.record)
        rec["images" if source == "craigslist" else "photos"] = []
        if not (rec.get("title") or "").strip():
            rec["title"] = "Auto parts lot"
        return rec

    def dump(source: str, rec: Any) -> bytes:
        if source == "craigslist":
            return json.dumps(rec, ensure_ascii=False).encode()
        return json.dumps(rec, ensure_ascii=True, separators=(",", ":")).encode()

    def truncated(source: str) -> bytes:
        text = dump(source, fresh(source)).decode()
        return text[: max(10, int(len(text) * rng.uniform(0.3, 0.8)))].encode()

    def missing_id(source: str) -> bytes:
        rec = fresh(source)
        if source == "craigslist":
            del rec["pid"]
        else:
            rec["listingId"] = None
        return dump(source, rec)

    def wrong_type(source: str, variant: int) -> bytes:
        rec = fresh(source)
        if source == "craigslist":
            if variant == 0:
                rec["title"] = rng.randint(100, 99999)
            elif variant == 1:
                rec["images"] = f"images/{rec['pid']}_0.jpg"
            elif variant == 2:
                rec["attrs"] = ["condition", "good"]
            else:
                rec["price"] = True
        else:
            if variant == 0:
                rec["title"] = rng.randint(1990, 2024)
            elif variant == 1:
                rec["photos"] = {"uuid": _uuid(rng), "url": None, "localPath": "images/x_0.jpg"}
            else:
                rec["price"] = [int(rec["price"] or 0) if not isinstance(rec["price"], str) else 120]
        return dump(source, rec)

    def empty(source: str) -> bytes:
        rec = fresh(source)
        if source == "craigslist":
            rec["title"] = ""
            rec["body"] = rng.choice(["   ", "\n\n ", ""])
        else:
            del rec["title"]
            rec["description"] = rng.choice(["\t", " \n ", ""])
        return dump(source, rec)

    cl, ou = "craigslist", "offerup"
    out.append((cl, truncated(cl), "malformed_json"))
    out.append((ou, truncated(ou), "malformed_json"))
    out.append((rng.choice(SOURCES), b"[" * 100_000, "malformed_json"))
    out.append((cl, b"[1,2]", "not_an_object"))
    out.append((ou, b'"str"', "not_an_object"))
    out.append((cl, missing_id(cl), "missing_id"))
    out.append((ou, missing_id(ou), "missing_id"))
    rec = fresh(cl)
    rec["pid"] = "abc12"
    out.append((cl, dump(cl, rec), "invalid_id"))
    for v in range(4):
        out.append((cl, wrong_type(cl, v), "wrong_type"))
    for v in range(3):
        out.append((ou, wrong_type(ou, v), "wrong_type"))
    out.append((cl, empty(cl), "empty_post"))
    out.append((ou, empty(ou), "empty_post"))
    rec = fresh(cl)
    filler = "Huge parts lot from my shop, everything must go, make an offer on the whole thing. "
    rec["body"] = "QR Code Link to This Post\n\n" + filler * (MAX_LINE_BYTES // len(filler) + 2000)
    out.append((cl, dump(cl, rec), "line_too_long"))
    # a few more of the common kinds, scaled with the sample size (~1% of lines overall)
    for _ in range(n_posts // 300):
        src = rng.choice(SOURCES)
        kind = rng.randrange(4)
        if kind == 0:
            out.append((src, truncated(src), "malformed_json"))
        elif kind == 1:
            out.append((src, missing_id(src), "missing_id"))
        elif kind == 2:
            out.append((src, wrong_type(src, rng.randrange(3)), "wrong_type"))
        else:
            out.append((src, empty(src), "empty_post"))
    return out


def _insert_superseded(rng: random.Random, host: _Post, lines: list[bytes],
                       entries: list[tuple[_Post, dict[str, Any] | None]]) -> None:
    """Insert an earlier copy of ``host`` (a higher price, no photos) above its line in the same dump."""
    j = next(i for i, (p, over) in enumerate(entries) if p is host and over is None)
    if j == 0:
        lines[0], lines[1] = lines[1], lines[0]
        entries[0], entries[1] = entries[1], entries[0]
        j = 1
    older_price = host.price_value * rng.uniform(1.1, 1.3)
    if host.source == "craigslist":
        over = {"price": _cl_price("dollar", _round_price(older_price))}
    else:
        over = {"price": _ou_price("int", float(_round_price(older_price)))}
    lines.insert(rng.randint(1, j), _render_line(host, over, with_images=False))


def _mix_in_bad_lines(gen: _Gen, n_posts: int, dump_lines: dict[str, list[bytes]],
                      dump_posts: dict[str, list[tuple[_Post, dict[str, Any] | None]]],
                      planted: _Planted, dump_key: Callable[[str, int], str]) -> None:
    """Add the quarantine lines to the dumps of their source (never as a dump's first line) and
    count them in ``planted.quarantine``."""
    rng = gen.rng
    bad_by_dump: dict[str, list[bytes]] = {k: [] for k in dump_lines}
    keys = list(dump_lines)
    for src, raw, reason in _bad_lines(gen, True, n_posts):
        cands = [k for k in keys if k.startswith(src + "/")]
        bad_by_dump[rng.choice(cands)].append(raw)
        planted.quarantine[reason] += 1

    for host in planted.dup_hosts:
        key = dump_key(host.source, host.day)
        _insert_superseded(rng, host, dump_lines[key], dump_posts[key])

    for key in keys:
        lines = dump_lines[key]
        for raw in bad_by_dump[key]:
            lines.insert(rng.randint(1, len(lines)), raw)


def _insert_blank_lines(rng: random.Random, dump_lines: dict[str, list[bytes]], n_posts: int) -> None:
    """Blank and whitespace-only lines (not counted in ``dumps``: they are not lines of a post)."""
    keys = list(dump_lines)
    n_blank = max(4, n_posts // 300)
    for _ in range(n_blank):
        key = rng.choice(keys)
        lines = dump_lines[key]
        lines.insert(rng.randint(1, len(lines)), rng.choice([b"", b"   ", b"\t", b"  \t "]))
