"""Files of the inbox: a post as its source's JSON line (Craigslist: UTF-8, spaced; OfferUp: ASCII
escapes, compact), dumps (gzip with ``mtime=0`` and no file name, so the bytes depend on the data
only), photos, the symbolic link (a relative target) and ``labels.csv``.

Every file is published with ``storage.write_atomic`` except the half JPEG, whose truncation is the
bad input itself.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import random
from pathlib import Path
from typing import Any

from c2c_assets.storage import write_atomic

# A sample can be generated again: its files are published atomically (a reader never sees half a dump)
# but not synced to disk, which for thousands of small photos would cost more than drawing them.

from .painter import _encode, _Painter
from .posts import _BADBYTES_MARK, _Post
from .vocabulary import CATEGORIES


def _render_line(post: _Post, overrides: dict[str, Any] | None = None, with_images: bool = True) -> bytes:
    rec = dict(post.record)
    if overrides:
        rec.update(overrides)
    if post.source == "craigslist":
        images = [ph.name for ph in post.photos] if with_images else []
        if with_images:
            images += [value for _kind, value, _reason in post.bad_refs]
        rec["images"] = images
        text = json.dumps(rec, ensure_ascii=False)
    else:
        photos = []
        if with_images:
            photos = [{"uuid": ph.uuid, "url": None, "localPath": ph.name} for ph in post.photos]
            for kind, value, _reason in post.bad_refs:
                u = f"{post.sid}-x{len(photos)}"
                if kind == "url":
                    photos.append({"uuid": u, "url": value, "localPath": None})
                else:
                    photos.append({"uuid": u, "url": None, "localPath": value})
        rec["photos"] = photos
        text = json.dumps(rec, ensure_ascii=True, separators=(",", ":"))
    data = text.encode("utf-8")
    if post.bad_bytes is not None:
        data = data.replace(_BADBYTES_MARK.encode(), post.bad_bytes)
    return data


def _n_refs(post: _Post) -> int:
    return len(post.photos) + len(post.bad_refs)


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()


def _write_outside_secret(inbox: Path, painter: _Painter, rng: random.Random) -> None:
    """The photo outside every dump that the unsafe references point at."""
    secret = painter.render(rng.choice(CATEGORIES), rng.getrandbits(63), rng.getrandbits(63))
    write_atomic(inbox / "outside" / "secret.jpg", _encode(secret, "jpeg", None, 85), durable=False)


def _write_dump(folder: Path, jobs: dict[str, tuple], lines: list[bytes], painter: _Painter, *,
                gzipped: bool, bom: bool) -> None:
    """One dump folder: its files (``jobs``: name -> what to write), then ``posts.jsonl[.gz]`` last."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for name in sorted(jobs):
        job = jobs[name]
        target = folder / name
        if job[0] == "photo":
            _cat, vis, ph = job[1], job[2], job[3]
            img = painter.render(_cat, vis, ph.seed, noisy=ph.fmt != "png" or ph.special is not None)
            write_atomic(target, _encode(img, ph.fmt, ph.special, ph.quality), durable=False)
        elif job[0] == "bytes":
            write_atomic(target, job[1], durable=False)
        elif job[0] == "truncated":
            data = _encode(painter.render(job[1], job[2], job[3]), "jpeg", None, 85)
            target.write_bytes(data[: len(data) // 2])  # half a file is the bad input
        elif job[0] == "symlink":
            if target.is_symlink() or target.exists():
                target.unlink()
            os.symlink(job[1], target)
    data = b"\n".join(lines) + b"\n"
    if bom:
        data = b"\xef\xbb\xbf" + data
    if gzipped:
        write_atomic(folder / "posts.jsonl.gz", _gzip(data), durable=False)
    else:
        write_atomic(folder / "posts.jsonl", data, durable=False)


def _write_labels(path: Path, posts: list[_Post]) -> Path:
    """``labels.csv``: the known category of every good post, sorted by post id."""
    rows = sorted((p.post_id, p.source, p.category) for p in posts)
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["post_id", "source", "category"])
    wr.writerows(rows)
    return write_atomic(path, buf.getvalue(), durable=False)
