"""One listing's words: the drawn context (vehicle, part number, sizes, brands), its title and
description sentences from the templates in ``vocabulary``, and its price in each source's style
(``$1,250``, ``1.2k``, ``OBO``, ``"120.00"``, ``120``, null...)."""

from __future__ import annotations

import random
from typing import Any

from .vocabulary import (
    _AUDIO_BRANDS,
    _BOLTS,
    _BRAKE_BRANDS,
    _COLORS,
    _ENGINES,
    _EXHAUST_BRANDS,
    _FINISHES,
    _LIGHT_BRANDS,
    _PAINT_CODES,
    _SEAT_BRANDS,
    _SEAT_COLORS,
    _SENTENCES,
    _SHORT_DESCS,
    _SIDES,
    _SLANG,
    _SUSP_BRANDS,
    _SUVS,
    _TIRE_SIZES,
    _TIRES,
    _TITLES,
    _TRANS,
    _TRUCKS,
    _VEHICLES,
    _WHEEL_BRANDS,
)


def _pick_vehicle(rng: random.Random, pool: list | None = None) -> tuple[str, str, int, int, int]:
    make, model, lo, hi, _ = rng.choice(pool or _VEHICLES)
    year = rng.randint(lo, hi)
    return make, model, year, max(lo, year - rng.randint(0, 2)), min(hi, year + rng.randint(0, 3))


def _part_number(rng: random.Random) -> str:
    kind = rng.randrange(3)
    digits = "0123456789"
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    if kind == 0:
        return "".join(rng.choice(digits) for _ in range(8))
    if kind == 1:
        return (rng.choice(letters) + rng.choice(digits) + rng.choice(letters) + rng.choice(letters)
                + "-" + "".join(rng.choice(digits) for _ in range(5)) + "-" + rng.choice(letters))
    return ("".join(rng.choice(digits) for _ in range(5)) + "-"
            + "".join(rng.choice(letters + digits) for _ in range(3)) + "-"
            + rng.choice(letters) + "0" + rng.choice(digits))


def _context(rng: random.Random, city: str) -> dict[str, Any]:
    make, model, year, y0, y1 = _pick_vehicle(rng)
    tmake, tmodel, _tyear, _, _ = _pick_vehicle(rng, _TRUCKS)
    smake, smodel, _, _, _ = _pick_vehicle(rng, _SUVS)
    tire_brand, tire_models = rng.choice(_TIRES)
    bolt, lug = rng.choice(_BOLTS)
    inch = rng.choice([15, 16, 17, 17, 18, 18, 20, 20, 22, 24])
    width = rng.choice([7, 7.5, 8, 8.5, 9, 10, 12])
    color = rng.choice(_COLORS)
    return {
        "make": make, "model": model, "year": year,
        "mm": f"{make} {model}", "ymm": f"{year} {make} {model}",
        "yr_range": f"{y0}-{y1}" if y0 != y1 else str(year),
        "truck_mm": f"{tmake} {tmodel}", "suv_mm": f"{smake} {smodel}",
        "tire_brand": tire_brand, "tire_model": rng.choice(tire_models),
        "tire_size": rng.choice(_TIRE_SIZES), "tread": rng.choice([50, 60, 70, 75, 80, 85, 90, 95]),
        "tread32": rng.randint(4, 11), "dot": f"{rng.randint(1, 52):02d}{rng.randint(18, 23)}",
        "low_miles": rng.randint(2, 15),
        "wheel_brand": rng.choice(_WHEEL_BRANDS), "wheel_size": f"{inch}x{width:g}",
        "inch": inch, "finish": rng.choice(_FINISHES), "bolt": bolt, "lug": lug,
        "offset": f"{rng.choice(['+', '-', '+'])}{rng.choice([0, 12, 18, 20, 35, 40, 45])}",
        "light_brand": rng.choice(_LIGHT_BRANDS), "side": rng.choice(_SIDES),
        "part_no": _part_number(rng),
        "audio_brand": rng.choice(_AUDIO_BRANDS), "sub_size": rng.choice([8, 10, 12, 12, 15]),
        "watts": rng.choice([300, 500, 800, 1000, 1500, 2000, 3000]),
        "engine": rng.choice(_ENGINES), "miles": rng.randint(40, 220), "psi": rng.randint(140, 190),
        "exhaust_brand": rng.choice(_EXHAUST_BRANDS), "pipe": rng.choice([2.5, 3, 3.5, 4, 5]),
        "brake_brand": rng.choice(_BRAKE_BRANDS), "pistons": rng.choice([4, 6, 8]),
        "seat_brand": rng.choice(_SEAT_BRANDS), "seat_color": rng.choice(_SEAT_COLORS),
        "susp_brand": rng.choice(_SUSP_BRANDS), "lift": rng.choice([2, 2.5, 3, 4, 6]),
        "trans": rng.choice(_TRANS), "speeds": rng.choice([5, 6]),
        "color": color, "color_cap": color.capitalize(), "paint_code": rng.choice(_PAINT_CODES),
        "city": city,
    }


def _fmt(template: str, ctx: dict[str, Any]) -> str:
    return template.format(**ctx)


def _title(rng: random.Random, category: str, ctx: dict[str, Any]) -> str:
    t = _fmt(rng.choice(_TITLES[category]), ctx)
    r = rng.random()
    if r < 0.06:
        t = t.upper()
    elif r < 0.10:
        t = t.lower()
    r = rng.random()
    if r < 0.08:
        t += " OBO"
    elif r < 0.12:
        t += " - must go"
    elif r < 0.15:
        t = "OEM " + t
    elif r < 0.17:
        t = "NEW " + t
    return t


def _sentences(rng: random.Random, category: str, ctx: dict[str, Any]) -> list[str]:
    """1-4 sentences, or [] / a very short one for some posts."""
    r = rng.random()
    if r < 0.05:
        return []
    if r < 0.12:
        return [rng.choice(_SHORT_DESCS)]
    n = rng.choices([1, 2, 3, 4], weights=[25, 35, 25, 15])[0]
    pool = _SENTENCES[category]
    n_cat = min(len(pool), max(1, n - (1 if rng.random() < 0.6 else 0)))
    out = [_fmt(s, ctx) for s in rng.sample(pool, n_cat)]
    while len(out) < n:
        out.append(_fmt(rng.choice(_SLANG), ctx))
    return out


# ------------------------------------------------------------------------ prices

def _round_price(v: float) -> int:
    if v < 50:
        return max(5, round(v / 5.0) * 5)
    if v < 500:
        return round(v / 10.0) * 10
    return round(v / 25.0) * 25


def _cl_price(style: str, value: int) -> str | None:
    if style == "dollar":
        return f"${value:,}"
    if style == "plain":
        return str(value)
    if style == "obo":
        return f"${value:,} obo"
    if style == "k":
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    if style == "free":
        return "Free"
    if style == "OBO":
        return "OBO"
    return None


def _ou_price(style: str, value: float) -> Any:
    if style == "str2":
        return f"{value:.2f}"
    if style == "int":
        return int(value)
    if style == "float":
        return value
    if style == "strint":
        return str(int(value))
    return None
