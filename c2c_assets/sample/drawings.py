"""One simple drawing per category (tyre rings, spoked discs, lenses, seats, ...), in a local frame
of about [-1, 1]: ``V`` (post-level) draws the object's look, ``P`` (photo-level) its jitter.

``_DRAWERS`` maps a category to its extent, whether any rotation suits it, and its drawing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from .pen import _jit, _Pen, _shade

_CAR_COLORS = [(235, 235, 232), (25, 25, 28), (175, 178, 182), (170, 25, 30), (30, 60, 140),
               (95, 98, 102), (25, 75, 45), (220, 110, 20), (190, 160, 90), (120, 20, 35)]
_CALIPER_COLORS = [(200, 30, 30), (230, 190, 30), (30, 30, 32), (40, 80, 170), (180, 180, 185)]
_SEAT_RGB = [(30, 30, 32), (190, 160, 120), (110, 110, 115), (140, 30, 30), (215, 200, 170)]


def _d_tires(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    rubber = _jit((28, 28, 30), V, 6)
    hollow = V.random() < 0.5
    letters = V.random() < 0.35
    n_tread = V.choice([28, 32, 36, 40])
    pair = V.random() < 0.3
    spots = [(-0.42, 0.0, 0.58), (0.42, 0.0, 0.58)] if pair else [(0.0, 0.0, 1.0)]
    for ox, oy, k in spots:
        p.circle(ox, oy, 1.0 * k, fill=rubber)
        p.circle(ox, oy, 0.86 * k, outline=_shade(rubber, 1.6), width=0.02 * k)
        for t in range(n_tread):
            a = 2 * math.pi * t / n_tread + 0.05 * P.random()
            ca, sa = math.cos(a), math.sin(a)
            p.line([(ox + 0.87 * k * ca, oy + 0.87 * k * sa), (ox + 0.99 * k * ca, oy + 0.99 * k * sa)],
                   fill=(70, 70, 72), width=0.035 * k)
        if letters:
            for t in range(10):
                a = -2.4 + 0.16 * t
                p.line([(ox + 0.74 * k * math.cos(a), oy + 0.74 * k * math.sin(a)),
                        (ox + 0.74 * k * math.cos(a + 0.09), oy + 0.74 * k * math.sin(a + 0.09))],
                       fill=(225, 225, 220), width=0.05 * k)
        if hollow:
            p.circle(ox, oy, 0.6 * k, fill=bg)
        else:
            p.circle(ox, oy, 0.6 * k, fill=(90, 92, 95))
            p.circle(ox, oy, 0.2 * k, fill=(60, 60, 62))


def _d_wheels(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    finish = V.choice([(205, 208, 212), (230, 232, 236), (45, 45, 48), (120, 122, 126), (160, 120, 70)])
    finish = _jit(finish, V, 8)
    spokes = V.choice([5, 6, 7, 10])
    lugs = V.choice([5, 6, 8])
    with_tire = V.random() < 0.4
    r = 1.0
    if with_tire:
        p.circle(0, 0, 1.0, fill=(30, 30, 32))
        r = 0.78
    p.circle(0, 0, r, fill=finish)
    p.circle(0, 0, r * 0.95, outline=_shade(finish, 0.7), width=0.03)
    gap = 2 * math.pi / spokes
    dark = (25, 25, 27) if sum(finish) > 300 else (10, 10, 12)
    for t in range(spokes):
        a0 = t * gap + gap * 0.22
        a1 = (t + 1) * gap - gap * 0.22
        p.sector(r * 0.32, r * 0.88, a0, a1, fill=dark)
    p.circle(0, 0, r * 0.3, fill=_shade(finish, 0.9))
    for t in range(lugs):
        a = 2 * math.pi * t / lugs
        p.circle(r * 0.2 * math.cos(a), r * 0.2 * math.sin(a), r * 0.035, fill=(80, 80, 85))
    p.circle(0, 0, r * 0.1, fill=_jit((60, 60, 65), P, 10))
    p.line([(-r * 0.6, -r * 0.7), (-r * 0.2, -r * 0.9)], fill=_shade(finish, 1.25), width=0.03)


def _lens_shape(V: random.Random) -> list[tuple[float, float]]:
    base = [(-1.0, -0.25), (-0.5, -0.5), (0.55, -0.62), (1.0, -0.25), (0.95, 0.35),
            (0.3, 0.55), (-0.85, 0.45)]
    return [(x + V.uniform(-0.08, 0.08), y + V.uniform(-0.08, 0.08)) for x, y in base]


def _d_headlights(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    shape = _lens_shape(V)
    housing = _jit((40, 40, 44), V, 8)
    lens = V.choice([(215, 225, 235), (225, 220, 190), (205, 190, 130)])
    p.poly(shape, fill=housing)
    p.poly([(x * 0.9, y * 0.86) for x, y in shape], fill=_jit(lens, P, 6))
    n = V.choice([1, 2])
    for k in range(n):
        cx = -0.45 + 0.55 * k if n == 2 else 0.0
        for rr, g in ((0.3, 150), (0.24, 190), (0.17, 225), (0.1, 250)):
            p.circle(cx, 0.0, rr, fill=(g, g, min(255, g + 5)))
        if V.random() < 0.5:
            p.circle(cx, 0.0, 0.09, fill=(30, 35, 45))
            p.circle(cx - 0.03, -0.03, 0.03, fill=(240, 240, 255))
    if V.random() < 0.6:
        p.line([(-0.75, 0.3), (-0.1, 0.38), (0.6, 0.25)], fill=(250, 250, 255), width=0.05)
    if V.random() < 0.5:
        p.rect(0.55, -0.1, 0.85, 0.15, fill=(235, 140, 20))


def _d_tail_lights(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    l_shape = V.random() < 0.5
    red = V.choice([(190, 25, 35), (210, 35, 40), (95, 20, 25)])
    if l_shape:
        shape = [(-1.0, -0.6), (0.1, -0.6), (0.1, 0.0), (1.0, 0.0), (1.0, 0.6), (-1.0, 0.6)]
    else:
        shape = [(-1.0, -0.45), (0.7, -0.55), (1.0, 0.0), (0.7, 0.55), (-1.0, 0.45)]
    shape = [(x + V.uniform(-0.06, 0.06), y + V.uniform(-0.06, 0.06)) for x, y in shape]
    p.poly(shape, fill=(35, 30, 30))
    p.poly([(x * 0.92, y * 0.85) for x, y in shape], fill=_jit(red, P, 8))
    for k in range(V.choice([2, 3, 4])):
        x = -0.8 + 0.35 * k
        p.line([(x, -0.4), (x + 0.1, 0.4)], fill=_shade(red, 0.6), width=0.04)
    p.rect(-0.9, 0.15, -0.45, 0.4, fill=(235, 235, 235))
    if V.random() < 0.5:
        p.rect(-0.35, 0.2, 0.0, 0.38, fill=(240, 150, 30))


def _d_bumpers(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    kind = V.choice(["front", "front", "rear", "steel"])
    if kind == "steel":
        col = (35, 35, 37)
        p.poly([(-1.6, -0.3), (1.6, -0.3), (1.5, 0.35), (-1.5, 0.35)], fill=col)
        p.rect(-1.3, -0.55, 1.3, -0.3, fill=_shade(col, 1.2))
        for x in (-0.9, 0.9):
            p.circle(x, 0.05, 0.12, fill=(200, 30, 30))
            p.circle(x, 0.05, 0.06, fill=col)
        for k in range(8):
            p.circle(-1.2 + 0.34 * k, 0.25, 0.02, fill=(70, 70, 70))
        return
    col = _jit(V.choice(_CAR_COLORS), V, 8)
    top = [(-1.6 + 3.2 * k / 8, -0.45 + 0.12 * (1 - ((k - 4) / 4) ** 2)) for k in range(9)]
    bottom = [(1.5, 0.5), (-1.5, 0.5)]
    p.poly([(-1.6, 0.1)] + top + [(1.6, 0.1)] + bottom, fill=col)
    p.line([(-1.4, -0.25), (1.4, -0.25)], fill=_shade(col, 1.3) if sum(col) < 500 else (250, 250, 250), width=0.04)
    if kind == "front":
        p.poly([(-0.8, -0.05), (0.8, -0.05), (0.65, 0.38), (-0.65, 0.38)], fill=(20, 20, 22))
        for k in range(4):
            y = 0.02 + 0.09 * k
            p.line([(-0.75 + 0.03 * k, y), (0.75 - 0.03 * k, y)], fill=(60, 60, 62), width=0.02)
        for x in (-1.2, 1.2):
            p.circle(x, 0.15, 0.13, fill=(25, 25, 27))
            p.circle(x, 0.15, 0.08, fill=(230, 230, 215))
    else:
        p.rect(-0.45, -0.1, 0.45, 0.25, fill=_shade(col, 0.75))
        for x in (-1.25, -0.8, 0.8, 1.25):
            p.circle(x, -0.05, 0.035, fill=(30, 30, 30))


def _one_seat(p: _Pen, ox: float, k: float, col, V: random.Random) -> None:
    dark = _shade(col, 0.7)
    light = _shade(col, 1.35) if sum(col) < 300 else _shade(col, 0.85)
    p.rrect(ox - 0.42 * k, -0.75 * k, ox + 0.42 * k, 0.35 * k, 0.12 * k, fill=col)
    p.rrect(ox - 0.5 * k, -0.6 * k, ox - 0.34 * k, 0.35 * k, 0.08 * k, fill=dark)
    p.rrect(ox + 0.34 * k, -0.6 * k, ox + 0.5 * k, 0.35 * k, 0.08 * k, fill=dark)
    p.rrect(ox - 0.22 * k, -1.0 * k, ox + 0.22 * k, -0.78 * k, 0.08 * k, fill=col)
    p.rect(ox - 0.1 * k, -0.8 * k, ox - 0.06 * k, -0.74 * k, fill=(150, 150, 150))
    p.rect(ox + 0.06 * k, -0.8 * k, ox + 0.1 * k, -0.74 * k, fill=(150, 150, 150))
    p.rrect(ox - 0.5 * k, 0.3 * k, ox + 0.55 * k, 0.75 * k, 0.12 * k, fill=_shade(col, 0.9))
    for t in (-0.15, 0.0, 0.15):
        p.line([(ox + t * k, -0.65 * k), (ox + t * k, 0.25 * k)], fill=light, width=0.015 * k)
    p.rect(ox - 0.35 * k, 0.75 * k, ox + 0.35 * k, 0.85 * k, fill=(60, 60, 60))


def _d_seats(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    col = _jit(V.choice(_SEAT_RGB), V, 8)
    if V.random() < 0.4:
        _one_seat(p, -0.5, 0.85, col, V)
        _one_seat(p, 0.5, 0.85, col, V)
    else:
        _one_seat(p, 0.0, 1.0, col, V)


def _d_audio(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    kind = V.choice(["head", "speaker", "box", "amp"])
    if kind == "head":
        h = V.choice([0.35, 0.6])
        p.rrect(-1.1, -h, 1.1, h, 0.06, fill=(22, 22, 24))
        p.rect(-0.7, -h * 0.75, 0.7, h * 0.55, fill=_jit(V.choice([(40, 110, 200), (30, 160, 150), (60, 60, 160)]), V, 10))
        p.rect(-0.6, -h * 0.55, 0.1, -h * 0.3, fill=(200, 220, 240))
        p.circle(-0.9, 0.0, 0.13, fill=(70, 70, 75))
        p.circle(-0.9, 0.0, 0.07, fill=(150, 150, 155))
        for k in range(5):
            p.rect(-0.6 + 0.26 * k, h * 0.65, -0.42 + 0.26 * k, h * 0.88, fill=(90, 90, 95))
    elif kind == "speaker":
        p.circle(0, 0, 1.0, fill=(30, 30, 32))
        p.circle(0, 0, 0.92, fill=(185, 185, 190))
        p.circle(0, 0, 0.82, fill=(40, 40, 44))
        p.circle(0, 0, 0.74, fill=_jit((22, 22, 25), P, 5))
        p.circle(0, 0, 0.3, fill=(55, 55, 60))
        p.circle(-0.08, -0.08, 0.08, fill=(120, 120, 125))
        for t in range(8):
            a = 2 * math.pi * t / 8
            p.circle(0.96 * math.cos(a), 0.96 * math.sin(a), 0.025, fill=(90, 90, 90))
    elif kind == "box":
        p.rect(-1.4, -0.75, 1.4, 0.75, fill=_jit((45, 45, 50), V, 6))
        for x in (-0.7, 0.7) if V.random() < 0.6 else (0.0,):
            p.circle(x, 0, 0.62, fill=(170, 170, 175))
            p.circle(x, 0, 0.55, fill=(20, 20, 22))
            p.circle(x, 0, 0.2, fill=(60, 60, 65))
        p.rect(-1.3, 0.55, -1.0, 0.68, fill=(190, 30, 30))
    else:
        col = V.choice([(190, 192, 196), (25, 25, 28), (30, 60, 140)])
        p.rect(-1.2, -0.55, 1.2, 0.55, fill=col)
        for k in range(9):
            y = -0.45 + 0.11 * k
            p.line([(-1.1, y), (1.1, y)], fill=_shade(col, 0.6) if sum(col) > 200 else (90, 90, 95), width=0.03)
        for k in range(4):
            p.circle(-1.05 + 0.15 * k, 0.45, 0.04, fill=(220, 180, 40))
        p.rect(0.3, -0.2, 0.9, 0.1, fill=(200, 200, 205))


def _d_engine(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    block = _jit((125, 126, 130), V, 12)
    cover = V.choice([(190, 30, 30), (25, 25, 28), (200, 200, 205), (230, 120, 20), (30, 60, 150)])
    p.poly([(-1.1, -0.3), (1.1, -0.3), (0.95, 0.75), (-0.95, 0.75)], fill=block)
    p.rect(-1.2, -0.45, 1.2, -0.3, fill=_shade(block, 0.85))
    p.rrect(-1.05, -0.85, 1.05, -0.45, 0.12, fill=cover)
    n = V.choice([4, 6, 8])
    for k in range(n):
        x = -0.9 + 1.8 * k / (n - 1)
        p.circle(x, -0.65, 0.05, fill=_shade(cover, 0.6))
    for k in range(V.choice([2, 3])):
        p.circle(-0.8 + 0.55 * k, 0.3, 0.22 - 0.04 * k, fill=(40, 40, 42))
        p.circle(-0.8 + 0.55 * k, 0.3, 0.07, fill=(170, 170, 175))
    p.rect(-0.7, 0.75, 0.7, 0.95, fill=_shade(block, 0.7))
    p.line([(-0.9, 0.3), (-0.25, 0.3), (0.3, 0.26)], fill=(20, 20, 20), width=0.03)


def _d_exhaust(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    metal = V.choice([(175, 175, 180), (140, 95, 60), (200, 200, 205), (60, 60, 62)])
    metal = _jit(metal, V, 10)
    kind = V.choice(["muffler", "cat", "tips", "pipes"])
    pw = 0.14
    if kind in ("muffler", "cat"):
        p.line([(-1.6, 0.1), (-0.7, 0.0)], fill=metal, width=pw)
        p.line([(0.7, 0.0), (1.3, -0.2), (1.6, -0.2)], fill=metal, width=pw)
        if kind == "muffler":
            p.rrect(-0.75, -0.4, 0.75, 0.4, 0.3, fill=_shade(metal, 0.95))
        else:
            p.ellipse(0.0, 0.0, 0.7, 0.3, fill=_shade(metal, 0.9))
            p.ellipse(0.0, 0.0, 0.55, 0.2, outline=_shade(metal, 0.7), width=0.03)
        p.line([(-0.6, -0.25), (0.6, -0.25)], fill=_shade(metal, 1.3), width=0.04)
        p.circle(1.6, -0.2, 0.08, fill=(20, 20, 20))
    elif kind == "tips":
        for y in (-0.35, 0.35) if V.random() < 0.6 else (0.0,):
            p.rect(-1.2, y - 0.22, 0.9, y + 0.22, fill=metal)
            p.line([(-1.2, y - 0.12), (0.9, y - 0.12)], fill=_shade(metal, 1.3), width=0.04)
            p.ellipse(0.9, y, 0.12, 0.26, fill=_shade(metal, 1.1))
            p.ellipse(0.92, y, 0.08, 0.19, fill=(15, 15, 15))
    else:
        for k in range(2):
            y = -0.3 + 0.6 * k
            p.line([(-1.6, y), (-0.6, y), (0.0, y + 0.3 * (1 - 2 * k)), (1.6, y + 0.2)], fill=metal, width=pw)
            p.line([(-1.5, y - 0.04), (-0.6, y - 0.04)], fill=_shade(metal, 1.3), width=0.03)


def _d_brakes(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    disc = _jit((160, 160, 165), V, 10)
    p.circle(0, 0, 1.0, fill=disc)
    for rr in (0.9, 0.8, 0.7):
        p.circle(0, 0, rr, outline=_shade(disc, 0.85), width=0.01)
    if V.random() < 0.6:
        for t in range(24):
            a = 2 * math.pi * t / 24
            rr = (0.62, 0.75, 0.88)[t % 3]
            p.circle(rr * math.cos(a), rr * math.sin(a), 0.035, fill=(45, 45, 48))
    p.circle(0, 0, 0.48, fill=_shade(disc, 0.75))
    p.circle(0, 0, 0.17, fill=(35, 35, 38))
    for t in range(5):
        a = 2 * math.pi * t / 5
        p.circle(0.32 * math.cos(a), 0.32 * math.sin(a), 0.05, fill=(40, 40, 42))
    cal = _jit(V.choice(_CALIPER_COLORS), V, 8)
    a = V.uniform(-2.6, -0.6)
    p.sector(0.62, 1.12, a - 0.55, a + 0.55, fill=cal)
    p.sector(0.75, 0.98, a - 0.3, a + 0.3, fill=_shade(cal, 1.25) if sum(cal) < 400 else (245, 245, 245))


def _d_mirrors(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    kind = V.choice(["side", "side", "tow", "rear"])
    col = _jit(V.choice(_CAR_COLORS + [(20, 20, 22)] * 3), V, 8)
    glass_top = _jit((175, 200, 225), P, 10)
    glass_bot = _jit((120, 130, 140), P, 10)
    if kind == "rear":
        p.line([(0.0, -0.9), (0.0, -0.4)], fill=(40, 40, 40), width=0.1)
        p.rrect(-1.2, -0.45, 1.2, 0.45, 0.25, fill=(25, 25, 27))
        p.rrect(-1.1, -0.37, 1.1, 0.37, 0.2, fill=glass_top)
        p.rect(-1.0, 0.05, 1.0, 0.3, fill=glass_bot)
        return
    if kind == "tow":
        p.rect(-1.3, -0.15, -0.5, 0.15, fill=(30, 30, 30))
        p.rrect(-0.5, -1.0, 0.6, 1.0, 0.12, fill=(25, 25, 27))
        p.rect(-0.42, -0.9, 0.52, 0.3, fill=glass_top)
        p.rect(-0.42, 0.35, 0.52, 0.9, fill=glass_bot)
        return
    p.poly([(-1.2, -0.2), (-0.6, -0.25), (-0.6, 0.3), (-1.2, 0.35)], fill=(30, 30, 30))
    shape = [(-0.7, -0.55), (0.6, -0.7), (1.05, -0.3), (1.0, 0.45), (0.4, 0.65), (-0.7, 0.55)]
    p.poly(shape, fill=col)
    inner = [(x * 0.85 + 0.03, y * 0.8) for x, y in shape]
    p.poly(inner, fill=glass_top)
    p.poly([(x, max(y, 0.1)) for x, y in inner], fill=glass_bot)
    if V.random() < 0.4:
        p.rect(0.5, 0.3, 0.75, 0.42, fill=(240, 150, 20))


def _d_body_panels(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    col = _jit(V.choice(_CAR_COLORS), V, 8)
    hi = _shade(col, 1.3) if sum(col) < 500 else (252, 252, 252)
    lo = _shade(col, 0.75)
    kind = V.choice(["door", "hood", "fender", "tailgate"])
    if kind == "door":
        p.poly([(-1.3, -0.1), (-0.9, -0.95), (1.2, -0.95), (1.35, -0.1), (1.3, 0.9), (-1.3, 0.9)], fill=col)
        glass = (30, 35, 45) if V.random() < 0.5 else bg
        p.poly([(-1.05, -0.15), (-0.75, -0.82), (1.1, -0.82), (1.2, -0.15)], fill=glass)
        p.rect(0.7, 0.05, 1.0, 0.13, fill=lo)
        p.line([(-1.2, 0.35), (1.25, 0.3)], fill=hi, width=0.04)
    elif kind == "hood":
        p.poly([(-1.4, -0.8), (1.4, -0.8), (1.1, 0.85), (-1.1, 0.85)], fill=col)
        p.line([(-0.3, -0.75), (-0.25, 0.8)], fill=lo, width=0.03)
        p.line([(0.3, -0.75), (0.25, 0.8)], fill=lo, width=0.03)
        p.line([(-1.0, -0.5), (0.9, -0.55)], fill=hi, width=0.05)
    elif kind == "fender":
        p.poly([(-1.4, -0.6), (1.3, -0.8), (1.4, 0.8), (-1.4, 0.8)], fill=col)
        p.circle(0.0, 0.85, 0.72, fill=bg)
        p.line([(-1.3, -0.35), (1.25, -0.5)], fill=hi, width=0.04)
    else:
        p.rrect(-1.5, -0.7, 1.5, 0.7, 0.08, fill=col)
        p.rect(-1.5, -0.7, 1.5, -0.55, fill=lo)
        p.rect(-0.3, -0.1, 0.3, 0.1, fill=(200, 200, 205))
        p.line([(-1.3, 0.35), (1.3, 0.35)], fill=hi, width=0.04)


def _d_suspension(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    body = V.choice([(230, 190, 30), (30, 30, 32), (200, 200, 205), (200, 30, 30), (40, 80, 170)])
    spring = _jit(V.choice([(200, 30, 30), (40, 80, 170), (25, 25, 27), (230, 190, 30), (230, 230, 230)]), V, 8)
    if V.random() < 0.25:
        p.line([(-1.0, 0.3), (0.0, -0.3), (1.0, 0.3)], fill=_jit((60, 60, 65), V, 10), width=0.18)
        for x, y in ((-1.0, 0.3), (1.0, 0.3), (0.0, -0.3)):
            p.circle(x, y, 0.2, fill=(25, 25, 25))
            p.circle(x, y, 0.09, fill=(170, 170, 175))
        return
    p.rect(-0.14, -0.6, 0.14, 1.0, fill=body)
    p.rect(-0.05, -1.05, 0.05, -0.6, fill=(200, 200, 205))
    p.ellipse(0, -1.0, 0.42, 0.1, fill=(50, 50, 55))
    turns = V.choice([5, 6, 7])
    pts = []
    for k in range(turns * 2 + 1):
        pts.append((0.38 if k % 2 else -0.38, -0.9 + 1.6 * k / (turns * 2)))
    p.line(pts, fill=spring, width=0.09)
    p.ellipse(0, 0.75, 0.42, 0.1, fill=(50, 50, 55))
    p.circle(0, 1.05, 0.12, outline=(40, 40, 40), width=0.05)


def _d_transmission(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    alu = _jit((168, 168, 162), V, 12)
    p.circle(-0.55, 0.0, 0.75, fill=alu)
    p.poly([(-0.5, -0.6), (1.0, -0.3), (1.4, -0.2), (1.4, 0.2), (1.0, 0.35), (-0.5, 0.65)], fill=_shade(alu, 0.92))
    p.rect(1.4, -0.08, 1.6, 0.08, fill=(100, 100, 105))
    p.rect(-0.4, 0.45, 0.9, 0.75, fill=_shade(alu, 0.7))
    for k in range(7):
        p.circle(-0.35 + 0.2 * k, 0.7, 0.03, fill=(60, 60, 60))
    for t in range(10):
        a = 2 * math.pi * t / 10
        p.circle(-0.55 + 0.68 * math.cos(a), 0.68 * math.sin(a), 0.035, fill=(90, 90, 90))
    p.circle(-0.55, 0.0, 0.2, fill=(70, 70, 72))


# category -> (half extent x, half extent y, round (any rotation), drawer)
_DRAWERS: dict[str, tuple[float, float, bool, Callable]] = {
    "tires": (1.0, 1.0, True, _d_tires),
    "wheels": (1.0, 1.0, True, _d_wheels),
    "headlights": (1.05, 0.7, False, _d_headlights),
    "tail lights": (1.05, 0.65, False, _d_tail_lights),
    "bumpers": (1.65, 0.6, False, _d_bumpers),
    "seats": (1.0, 1.0, False, _d_seats),
    "audio": (1.4, 1.0, False, _d_audio),
    "engine": (1.25, 1.0, False, _d_engine),
    "exhaust": (1.65, 0.6, False, _d_exhaust),
    "brakes": (1.1, 1.1, True, _d_brakes),
    "mirrors": (1.3, 1.0, False, _d_mirrors),
    "body panels": (1.5, 0.95, False, _d_body_panels),
    "suspension": (1.0, 1.1, False, _d_suspension),
    "transmission": (1.6, 0.8, False, _d_transmission),
}
