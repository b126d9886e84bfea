"""``generate_sample``: the posts, their roles (special encodings, re-scraped listings, bad inputs),
the lines of each dump, and the files, in an order that never depends on anything but the arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from .bad_inputs import (
    IMAGE_REJECTION_REASONS,
    QUARANTINE_REASONS,
    _insert_blank_lines,
    _mix_in_bad_lines,
    _plant_bad_posts,
    _Planted,
)
from .painter import _Painter
from .planted_duplicates import QualityPlan, plant_quality
from .posts import _Gen, _Photo, _Post
from .prices import write_price_labels
from .realism import write_labels as _write_realism_labels
from .vocabulary import CATEGORIES, SOURCES
from .writer import _n_refs, _render_line, _write_dump, _write_labels, _write_outside_secret

_MIN_POSTS = 30
_MIN_POSTS_PER_DUMP = 3


@dataclass(frozen=True)
class SampleSummary:
    inbox: Path
    dumps: dict[str, int]
    n_posts: int
    expected_quarantine: dict[str, int]
    expected_image_rejections: dict[str, int]
    n_images: int
    labels_path: Path


def generate_sample(
    inbox: Path,
    *,
    n_posts: int = 3000,
    start_date: date = date(2024, 3, 1),
    n_days: int = 3,
    seed: int = 7,
    bad_inputs: bool = True,
    image_size: tuple[int, int] = (224, 168),
    plant_quality_labels: bool = True,
    realism: bool = True,
) -> SampleSummary:
    """Write a deterministic synthetic inbox under ``inbox`` and describe it.

    ``inbox`` must be absent or empty. Posts are split evenly over the two sources
    and ``n_days`` scrape dates starting at ``start_date``; OfferUp's last date is
    written gzipped. ``posts.jsonl[.gz]`` is written last in each dump folder. With
    ``plant_quality_labels``, reposts, stock photos and junk are planted (``planted_duplicates``) and
    labelled in ``labels_quality.csv``. ``realism=False`` writes the template-only posts (no Spanish,
    noisy titles or catalogue part numbers: ``sample.realism``), e.g. for a baseline.
    """
    inbox = Path(inbox)
    if n_days < 1:
        raise ValueError("n_days must be >= 1")
    if n_posts < max(_MIN_POSTS, _MIN_POSTS_PER_DUMP * len(SOURCES) * n_days):
        raise ValueError(f"n_posts must be >= {max(_MIN_POSTS, _MIN_POSTS_PER_DUMP * len(SOURCES) * n_days)}"
                         f" for n_days={n_days}")
    w, h = image_size
    if w < 32 or h < 32:
        raise ValueError("image_size must be at least 32x32")
    if inbox.exists() and any(inbox.iterdir()):
        raise FileExistsError(f"{inbox} is not empty")

    gen = _Gen(seed, start_date, n_days, realism=realism)
    rng = gen.rng

    # ---- good posts: balanced over sources and days, every category present
    cats = list(CATEGORIES)
    weights = [14, 12, 8, 7, 7, 7, 11, 7, 6, 7, 5, 6, 5, 4]
    cats += rng.choices(CATEGORIES, weights=weights, k=n_posts - len(cats))
    rng.shuffle(cats)
    posts: list[_Post] = []
    for i in range(n_posts):
        source = SOURCES[i % 2]
        day = (i // 2) % n_days
        posts.append(gen.make_post(source, day, cats[i]))

    # ---- roles (each on a distinct post)
    pool = list(range(n_posts))
    rng.shuffle(pool)
    taken: set[int] = set()

    def take(pred: Callable[[_Post], bool]) -> _Post:
        for i in pool:
            if i not in taken and pred(posts[i]):
                taken.add(i)
                return posts[i]
        raise ValueError("n_posts too small for the requested sample")

    def ensure_photo(p: _Post, fmt: str) -> None:
        ext = "png" if fmt == "png" else "jpg"
        if not p.photos:
            p.photos.append(_Photo(f"images/{p.sid}_0.{ext}", rng.getrandbits(63), fmt, 85, f"{p.sid}-0"))
        ph = p.photos[0]
        ph.fmt = fmt
        ph.name = f"images/{p.sid}_0.{ext}"

    specials = [("cmyk", "jpeg"), ("rgba", "png"), ("p", "png"), ("i16", "png"), ("exif6", "jpeg")]
    for special, fmt in specials:
        p = take(lambda q: True)
        ensure_photo(p, fmt)
        p.photos[0].special = special

    # repeated listings: the same id again on a later date with a changed price
    repeats: list[tuple[_Post, int, dict[str, Any]]] = []
    if n_days >= 2:
        for _ in range(max(2, n_posts // 150)):
            p = take(lambda q: q.day < n_days - 1)
            later = rng.randint(p.day + 1, n_days - 1)
            over: dict[str, Any] = {"price": gen.reprice(p)}
            if rng.random() < 0.5:
                key = "body" if p.source == "craigslist" else "description"
                over[key] = (p.record[key] + " Price dropped!").strip()
            repeats.append((p, later, over))

    def dump_key(source: str, day: int) -> str:
        return f"{source}/{(start_date + timedelta(days=day)).isoformat()}"

    planted = _plant_bad_posts(rng, take, dump_key) if bad_inputs else _Planted()
    # ---- reposts, stock photos, junk (planted_duplicates: its own random stream, its own labels file)
    quality = plant_quality(seed, posts, take, dump_key, n_posts) if plant_quality_labels else QualityPlan()

    # ---- lines per dump
    dump_posts: dict[str, list[tuple[_Post, dict[str, Any] | None]]] = {}
    for s in SOURCES:
        for d in range(n_days):
            dump_posts[dump_key(s, d)] = []
    for p in posts:
        dump_posts[dump_key(p.source, p.day)].append((p, None))
    for p, later, over in repeats:
        dump_posts[dump_key(p.source, later)].append((p, over))

    dump_lines: dict[str, list[bytes]] = {}
    n_images = 0
    for key, entries in dump_posts.items():
        entries.sort(key=lambda e: (e[0].posted, e[0].sid), reverse=True)
        lines = []
        for p, over in entries:
            lines.append(_render_line(p, over))
            n_images += _n_refs(p)
        dump_lines[key] = lines

    if bad_inputs:
        _mix_in_bad_lines(gen, n_posts, dump_lines, dump_posts, planted, dump_key)
    dumps: dict[str, int] = {k: len(v) for k, v in dump_lines.items()}
    if bad_inputs:
        _insert_blank_lines(rng, dump_lines, n_posts)

    # ---- write
    inbox.mkdir(parents=True, exist_ok=True)
    painter = _Painter(seed, image_size)
    if planted.outside_needed:
        _write_outside_secret(inbox, painter, rng)

    last_ou = dump_key("offerup", n_days - 1)
    first_cl = dump_key("craigslist", 0)
    for key, lines in dump_lines.items():
        jobs: dict[str, tuple] = {}
        for p, _over in dump_posts[key]:
            for ph in p.photos:
                jobs[ph.name] = ("photo", p.category, p.vis_seed, ph)
        jobs.update(planted.extra_files.get(key, {}))
        jobs.update(quality.files(key, painter))
        _write_dump(inbox / key, jobs, lines, painter,
                    gzipped=key == last_ou, bom=bad_inputs and key == first_cl)
    labels_path = _write_labels(inbox / "labels.csv", posts)
    if plant_quality_labels:
        quality.write_labels(inbox / "labels_quality.csv")
    quality_placeholders = {post_id for post_id, kind, *_ in quality.labels if kind == "placeholder_price"}
    write_price_labels(inbox / "labels_prices.csv", posts, repeats, gen.prices, quality_placeholders)  # prices.py
    if realism:
        _write_realism_labels(inbox / "labels_realism.csv", posts, gen.realism)  # realism.py's books

    return SampleSummary(
        inbox=inbox,
        dumps=dict(sorted(dumps.items())),
        n_posts=n_posts,
        expected_quarantine={k: planted.quarantine[k] for k in QUARANTINE_REASONS if planted.quarantine[k]},
        expected_image_rejections={k: planted.image_rejections[k] for k in IMAGE_REJECTION_REASONS
                                   if planted.image_rejections[k]},
        n_images=n_images,
        labels_path=labels_path,
    )
