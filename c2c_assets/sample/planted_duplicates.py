"""Ground truth for the quality domain: reposts, stock photos and junk planted in the sample.

Planted on posts the generator already drew (taken through its ``take``, after the bad inputs), so the
number of listings stays the same; every random choice comes from this module's own stream,
``random.Random(f"{seed}-quality")``, so the base stream (and every other post) is unchanged.

- **reposts**: a listing posted again as another listing (a new id), on the same site or the other one:
  the same item's photos re-encoded (another JPEG quality), resized or lightly cropped, or the very same
  bytes, or new photos of the same item; title and text lightly edited; price within 5% (inside the
  10% the issue allows).
- **stock photos**: one catalog photo used by 3-4 listings of different items (same category).
- **photo junk**: a post's first photo blurred, darkened, burnt out or shrunk to a thumbnail.
- **text and price junk**: a phone number only, boilerplate only, no text at all, a placeholder price
  ($0-$1, 123456...). Listings the generator itself priced "Free" are placeholder prices by the same rule.

``labels_quality.csv`` (beside ``labels.csv``): ``post_id, kind, group, position`` - one row per planted
fact; ``group`` ties the listings of one repost or stock photo, or the photos of one near-duplicate set
(``kind = photo_duplicate``, ``position`` the photo's index in the post).
"""

from __future__ import annotations

import csv
import html
import io
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageFilter

from c2c_assets.storage import write_atomic

from .painter import _encode, _Painter
from .posts import _Photo, _Post
from .wording import _cl_price, _ou_price, _round_price

REPOST_VARIANTS = ("reencode", "resize", "crop", "exact", "new_photos")
PHOTO_JUNK = ("blurry", "dark", "bright", "tiny")
PLACEHOLDER_PRICES = (0, 1, 123456, 999999, 12345)
_PRICED_STYLES = {"dollar", "plain", "obo", "k", "str2", "int", "float", "strint"}


@dataclass
class _PhotoJob:
    category: str
    vis_seed: int
    photo_seed: int
    noisy: bool
    transform: str  # "none" | "resize" | "crop" | one of PHOTO_JUNK
    quality: int


@dataclass
class QualityPlan:
    """What was planted: photo files to write per dump and the label rows."""

    jobs: dict[str, dict[str, _PhotoJob]] = field(default_factory=dict)  # dump key -> photo name -> job
    labels: list[tuple[str, str, str, str]] = field(default_factory=list)  # post_id, kind, group, position

    def files(self, dump_key: str, painter: _Painter) -> dict[str, tuple]:
        """The planted photos of one dump as the writer's ``("bytes", data)`` jobs."""
        return {name: ("bytes", _render(painter, job)) for name, job in sorted(self.jobs.get(dump_key, {}).items())}

    def write_labels(self, path: Path) -> Path:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["post_id", "kind", "group", "position"])
        writer.writerows(sorted(self.labels))
        return write_atomic(path, buf.getvalue(), durable=False)


def _render(painter: _Painter, job: _PhotoJob) -> bytes:
    img = painter.render(job.category, job.vis_seed, job.photo_seed, noisy=job.noisy)
    w, h = img.size
    if job.transform == "resize":
        img = img.resize((int(w * 0.8), int(h * 0.8)), Image.Resampling.LANCZOS)
    elif job.transform == "crop":
        dx, dy = max(1, w // 50), max(1, h // 50)  # 2% off each side
        img = img.crop((dx, dy, w - dx, h - dy))
    elif job.transform == "blurry":
        img = img.filter(ImageFilter.GaussianBlur(radius=4))
    elif job.transform == "dark":
        img = img.point(lambda v: int(v * 0.08))
    elif job.transform == "bright":
        img = img.point(lambda v: min(255, int(250 + v * 0.02)))
    elif job.transform == "tiny":
        img = img.resize((40, 30), Image.Resampling.LANCZOS)
    return _encode(img, "jpeg", None, job.quality)


def _plain_text(post: _Post) -> tuple[str, str]:
    """A post's title and description as plain text (Craigslist's HTML and boilerplate removed)."""
    title = post.record.get("title") or ""
    if post.source == "craigslist":
        body = post.record.get("body") or ""
        body = body.replace("QR Code Link to This Post", "").replace("<br>", " ")
        body = html.unescape(body.replace("do NOT contact me with unsolicited services or offers", ""))
    else:
        body = post.record.get("description") or ""
    return html.unescape(title).strip(), re.sub(r"\s+", " ", body).strip()


def _set_text(post: _Post, title: str, body: str) -> None:
    post.record["title"] = title
    post.record["body" if post.source == "craigslist" else "description"] = body


def _set_price(post: _Post, value: float, *, placeholder: bool = False) -> None:
    """List ``value``; a placeholder is only what the listing says (the part keeps its true price)."""
    if not placeholder:
        post.price_value = value
    if post.source == "craigslist":
        post.price_style = "dollar"
        post.record["price"] = _cl_price("dollar", int(value))
    else:
        post.price_style = "int"
        post.record["price"] = _ou_price("int", float(value))


def _edit(rng: random.Random, title: str, body: str) -> tuple[str, str]:
    """A light edit: a word added to the title, one sentence dropped or one added."""
    title = title + rng.choice([" - must go", " OBO", " (reposted)", " !!", ""])
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", body) if s]
    if len(sentences) >= 4 and rng.random() < 0.5:
        sentences.pop(rng.randrange(1, len(sentences)))
    else:
        sentences.append(rng.choice(["Still available.", "Reposted, serious buyers only.", "Price firm."]))
    return title, " ".join(sentences)


def _photo(post: _Post, k: int) -> _Photo:
    return _Photo(f"images/{post.sid}_q{k}.jpg", 0, "jpeg", 85, f"{post.sid}-q{k}")


def plant_quality(seed: int, posts: list[_Post], take: Callable[[Callable[[_Post], bool]], _Post],
                  dump_key: Callable[[str, int], str], n_posts: int) -> QualityPlan:
    """Plant reposts, stock photos and junk on posts drawn with ``take``; stop quietly when a small sample
    runs out of posts of the kind needed."""
    rng = random.Random(f"{seed}-quality")
    plan = QualityPlan()

    def job(post: _Post, photo: _Photo, spec: _PhotoJob) -> None:
        plan.jobs.setdefault(dump_key(post.source, post.day), {})[photo.name] = spec

    def label(post: _Post, kind: str, group: str = "", position: int | str = "") -> None:
        plan.labels.append((post.post_id, kind, group, str(position)))

    priced = lambda q: q.price_style in _PRICED_STYLES and q.price_value >= 20  # noqa: E731
    try:
        for r in range(max(4, n_posts // 40)):
            variant = REPOST_VARIANTS[r % len(REPOST_VARIANTS)]
            cross = r % 2 == 0
            original = take(lambda q: priced(q) and (variant == "new_photos" or len(q.photos) >= 1) and len(q.photos) <= 4)
            copy = take(lambda q, o=original: (q.source != o.source) == cross)
            group = f"repost{r:03d}"
            copy.category, copy.vis_seed = original.category, original.vis_seed
            _set_text(copy, *_edit(rng, *_plain_text(original)))
            _set_price(copy, _round_price(original.price_value * rng.uniform(0.95, 1.05)))
            photos = []
            n = max(1, len(original.photos))
            for k in range(n):
                photo = _photo(copy, k)
                if variant == "new_photos" or not original.photos:
                    job(copy, photo, _PhotoJob(original.category, original.vis_seed, rng.getrandbits(63), True, "none", 85))
                else:
                    src = original.photos[k]
                    if variant == "exact" and src.fmt == "jpeg" and src.special is None:
                        photo = _Photo(photo.name, src.seed, "jpeg", src.quality, photo.uuid)  # the same bytes
                    else:
                        transform = variant if variant in ("resize", "crop") else "none"
                        quality = 70 if src.quality >= 85 else 92
                        job(copy, photo, _PhotoJob(original.category, original.vis_seed, src.seed, src.fmt != "png" or src.special is not None, transform, quality))
                    for post in (original, copy):
                        label(post, "photo_duplicate", f"{group}-p{k}", k)
                photos.append(photo)
            copy.photos = photos
            kind = "repost_cross_site" if cross else "repost_same_site"
            label(original, kind, group)
            label(copy, kind, group)

        for s in range(max(2, n_posts // 200)):
            first = take(lambda q: q.price_style in _PRICED_STYLES)
            members = [first] + [take(lambda q, c=first.category: q.category == c) for _ in range(2 + s % 2)]
            stock_vis, stock_seed = rng.getrandbits(63), rng.getrandbits(63)
            for m, post in enumerate(members):
                photo = _photo(post, 9)
                job(post, photo, _PhotoJob(first.category, stock_vis, stock_seed, False, "none", 90 if m else 95))
                post.photos = [photo] + post.photos[:2]
                label(post, "stock_photo", f"stock{s:03d}")
                label(post, "photo_duplicate", f"stock{s:03d}-p0", 0)

        for j in range(max(len(PHOTO_JUNK), n_posts // 100)):
            kind = PHOTO_JUNK[j % len(PHOTO_JUNK)]
            post = take(lambda q: 1 <= len(q.photos) <= 4)
            photo = _photo(post, 0)
            job(post, photo, _PhotoJob(post.category, post.vis_seed, rng.getrandbits(63), True, kind, 85))
            post.photos = [photo] + post.photos[1:]
            label(post, f"photo_{kind}", "", 0)

        for j in range(max(3, n_posts // 150)):
            post = take(lambda q: len(q.photos) >= 1)
            digits = f"{rng.randint(200, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            phone = rng.choice(["({0}) {1}-{2}", "{0}-{1}-{2}", "{0}.{1}.{2}", "call or text {0} {1} {2}"]).format(digits[:3], digits[3:6], digits[6:])
            _set_text(post, phone, phone if rng.random() < 0.5 else "")
            label(post, "phone_only")
        for j in range(max(3, n_posts // 150)):
            post = take(lambda q: len(q.photos) >= 1)
            _set_text(post, rng.choice(["Everything must go", "Make offer", "Must sell", "Moving sale"]),
                      rng.choice(["Make offer. Cash only.", "Everything must go! No lowballers.", "Must sell ASAP, best offer takes it.", ""]))
            label(post, "boilerplate_only")
        for j in range(max(2, n_posts // 300)):
            post = take(lambda q: len(q.photos) >= 1)
            _set_text(post, "", "")
            label(post, "empty_text")
        for j in range(max(len(PLACEHOLDER_PRICES), n_posts // 100)):
            post = take(lambda q: q.price_style in _PRICED_STYLES)
            _set_price(post, PLACEHOLDER_PRICES[j % len(PLACEHOLDER_PRICES)], placeholder=True)
            label(post, "placeholder_price")
    except ValueError:
        pass  # a small sample: what was planted so far is labelled
    planted = {(pid, kind) for pid, kind, _, _ in plan.labels}
    for post in posts:
        if post.price_style == "free" and (post.post_id, "placeholder_price") not in planted:
            label(post, "placeholder_price", "natural")
    return plan
