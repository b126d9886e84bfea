"""Listings in memory: a post with its source record and photos, and the seeded generator that draws
posts (ids, city, words, price, dates, photos) in each source's own format."""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from .realism import Realism
from .vocabulary import (
    _CITIES,
    _CL_CONDITIONS,
    _OFFERUP_CATEGORY,
    _OFFERUP_CONDITIONS,
    _SENTENCES,
)
from .prices import PriceBook
from .wording import _cl_price, _context, _fmt, _ou_price, _round_price, _sentences, _title


@dataclass
class _Photo:
    name: str  # path relative to the dump folder
    seed: int
    fmt: str  # "jpeg" | "png"
    quality: int
    uuid: str
    special: str | None = None


@dataclass
class _Post:
    source: str
    sid: str
    category: str
    day: int
    vis_seed: int
    record: dict[str, Any]
    photos: list[_Photo]
    price_value: float
    price_style: str
    posted: datetime
    bad_refs: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, value, reason)
    bad_bytes: bytes | None = None  # raw invalid UTF-8 to splice into a text field

    @property
    def post_id(self) -> str:
        return f"{self.source}:{self.sid}"


_BADBYTES_MARK = "QQBADUTF8QQ"


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"


def _slug(text: str) -> str:
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in text).split()
    return "-".join(words[:6]) or "auto-parts"


class _Gen:
    def __init__(self, seed: int, start_date: date, n_days: int, realism: bool = True):
        self.rng = random.Random(seed)
        self.realism = Realism(seed, enabled=realism)  # realism.py: Spanish, slang, noisy titles, codes (own stream)
        self.start_date = start_date
        self.n_days = n_days
        self.used_ids: set[str] = set()
        self.prices = PriceBook(seed)  # prices.py: the price follows the part and its wording (own stream)

    # ---- ids
    def new_id(self, source: str) -> str:
        while True:
            if source == "craigslist":
                sid = str(self.rng.randrange(7_700_000_000, 7_799_999_999))
            else:
                sid = f"{self.rng.getrandbits(48):012x}"
            if sid not in self.used_ids:
                self.used_ids.add(sid)
                return sid

    def scrape_dt(self, day: int, offset: str) -> datetime:
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        d = self.start_date + timedelta(days=day)
        return datetime(d.year, d.month, d.day, 6, 0, 0, tzinfo=tz)

    # ---- one post
    def make_post(self, source: str, day: int, category: str, n_photos: int | None = None) -> _Post:
        rng = self.rng
        sid = self.new_id(source)
        site, hoods, offset, ou_loc = rng.choice(_CITIES)
        hood_name = rng.choice(hoods)
        ctx = _context(rng, hood_name)
        title = _title(rng, category, ctx)
        sents = _sentences(rng, category, ctx)
        # ---- realism.py: other words for some posts, drawn from its own stream (applied below)
        words = self.realism.rewrite(f"{source}:{sid}", category, ctx, title, sents)
        # ---- end realism
        if rng.random() < 0.03 and sents and len(sents[0]) > 2:
            title = rng.choice(["", "", "   "])  # empty title, the description carries it
        if not title.strip() and not sents:
            sents = [_fmt(rng.choice(_SENTENCES[category]), ctx)]
        # ---- prices.py: the old uniform draw is still made, so the base stream (every other choice) stays
        rng.random()
        value = self.prices.draw(category, title, sents)
        # ----
        posted = self.scrape_dt(day, offset) - timedelta(seconds=rng.randint(600, 21 * 86400))
        if n_photos is None:
            n_photos = rng.choices([0, 1, 2, 3, 4, 5], weights=[8, 30, 27, 20, 9, 6])[0]
        fmt = "png" if rng.random() < 0.12 else "jpeg"
        ext = "png" if fmt == "png" else "jpg"
        photos = [
            _Photo(f"images/{sid}_{k}.{ext}", rng.getrandbits(63), fmt,
                   rng.choice([80, 85, 85, 85, 90]), _uuid(rng) if rng.random() < 0.5 else f"{sid}-{k}")
            for k in range(n_photos)
        ]
        vis_seed = rng.getrandbits(63)
        if source == "craigslist":
            style = rng.choices(["dollar", "plain", "obo", "k", "free", "OBO", "null"],
                                weights=[52, 10, 9, 6, 2, 3, 10])[0]
            if style == "k" and value < 1000:
                style = "dollar"
            body = self._cl_body(sents, ctx)
            ttl = title
            if rng.random() < 0.02:
                ttl = self._zwsp(ttl)
            if rng.random() < 0.04 and "&" in ttl:
                ttl = ttl.replace("&", "&amp;")
            attrs: dict[str, str] = {"condition": rng.choice(_CL_CONDITIONS)}
            if rng.random() < 0.5 and ctx["make"].lower() in title.lower():
                attrs["make / manufacturer"] = ctx["make"]
            if rng.random() < 0.3:
                attrs["model name / number"] = ctx["part_no"]
            if category == "tires" and rng.random() < 0.6:
                attrs["size / dimensions"] = ctx["tire_size"]
            hood = rng.choices([f" ({hood_name}) ", f"({hood_name})", f" {hood_name} ", None],
                               weights=[70, 10, 8, 12])[0]
            record: dict[str, Any] = {
                "pid": sid,
                "url": f"https://{site}.craigslist.org/pts/d/{_slug(hood_name + ' ' + (title or category))}/{sid}.html",
                "title": ttl,
                "price": _cl_price(style, value),
                "hood": hood,
                "datetime": None if rng.random() < 0.05 else posted.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "body": body,
                "attrs": attrs,
            }
            if rng.random() < 0.04:
                del record["attrs"]
        else:
            style = rng.choices(["str2", "int", "float", "strint", "null"], weights=[40, 32, 10, 10, 8])[0]
            if style == "float":
                value = value + rng.choice([0.5, 0.99, 0.25])
            ttl = title
            if rng.random() < 0.04:
                ttl = ttl + rng.choice([" \U0001F525", " \u2705", " \U0001F697"])
            desc = " ".join(sents) if rng.random() < 0.7 else "\n".join(sents)
            r = rng.random()
            if r < 0.8:
                pdate: Any = int(posted.timestamp() * 1000)
            elif r < 0.95:
                pdate = posted.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            else:
                pdate = None
            cat_name = _OFFERUP_CATEGORY.get(category, "Auto parts")
            if rng.random() < 0.08:
                cat_name = rng.choice(["Auto parts", "Vehicles", "Other", "Truck parts"])
            record = {
                "listingId": sid,
                "title": ttl,
                "price": _ou_price(style, value),
                "description": desc,
                "condition": rng.choice(_OFFERUP_CONDITIONS),
                "categoryName": cat_name,
                "locationName": None if rng.random() < 0.06 else ou_loc,
                "postDate": pdate,
            }
            if rng.random() < 0.03:
                del record["condition"]
        # ---- realism.py: its words replace the drawn ones after every base draw, so the base stream
        # (ids, prices, photos of every post) is the same with or without them
        if words is not None:
            self.realism.apply(record, source, *words, blank_title=not title.strip(),
                               cl_body=lambda lines, stream: self._cl_body(lines, ctx, stream))
        # ---- end realism
        self.prices.plant(source, sid, record)  # prices.py: a few listed prices are placeholders
        return _Post(source, sid, category, day, vis_seed, record, photos, value, style, posted)

    def _zwsp(self, s: str, rng: random.Random | None = None) -> str:
        sp = [i for i, ch in enumerate(s) if ch == " "]
        if not sp:
            return s + "\u200b"
        i = (rng or self.rng).choice(sp)
        return s[:i] + "\u200b" + s[i:]

    def _cl_body(self, sents: list[str], ctx: dict[str, Any], rng: random.Random | None = None) -> str:
        rng = rng or self.rng
        escape = rng.random() < 0.7
        parts = [html.escape(s, quote=True) if escape else s for s in sents]
        sep = rng.choices([" ", "\n", "<br>", "\n\n", "<br>\n"], weights=[50, 20, 10, 12, 8])[0]
        body = sep.join(parts)
        if rng.random() < 0.06 and body:
            body = self._zwsp(body, rng)
        if rng.random() < 0.15 and body:
            body += "\n\ndo NOT contact me with unsolicited services or offers"
        if rng.random() < 0.75:
            body = "QR Code Link to This Post\n\n" + body
        return body

    def reprice(self, post: _Post) -> Any:
        new_val = _round_price(post.price_value * self.rng.uniform(0.72, 0.92))
        if post.source == "craigslist":
            style = post.price_style if post.price_style in ("dollar", "plain", "obo") else "dollar"
            return _cl_price(style, new_val)
        style = post.price_style if post.price_style != "null" else "int"
        return _ou_price(style, float(new_val))
