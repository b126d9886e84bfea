"""The drawing primitive of the synthetic photos: a pen that draws shapes given in an object's local
frame (scale, rotation, translation) on a supersampled canvas, and small colour helpers."""

from __future__ import annotations

import math
import random

from PIL import ImageDraw

_SS = 2  # supersampling factor for smoother edges


class _Pen:
    """Draws shapes given in a local frame, mapped by scale, rotation and translation."""

    __slots__ = ("a", "b", "c", "d", "draw", "s", "tx", "ty")

    def __init__(self, draw: ImageDraw.ImageDraw, cx: float, cy: float, scale: float, angle: float):
        ca, sa = math.cos(angle), math.sin(angle)
        self.draw = draw
        self.a, self.b, self.c, self.d = scale * ca, -scale * sa, scale * sa, scale * ca
        self.tx, self.ty, self.s = cx, cy, scale

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return (self.a * x + self.b * y + self.tx, self.c * x + self.d * y + self.ty)

    def _w(self, width: float) -> int:
        return max(1, round(width * self.s))

    def poly(self, pts, fill=None, outline=None, width: float = 0.0) -> None:
        xy = [self.pt(x, y) for x, y in pts]
        if outline is not None:
            self.draw.polygon(xy, fill=fill, outline=outline, width=self._w(width))
        else:
            self.draw.polygon(xy, fill=fill)

    def circle(self, x, y, r, fill=None, outline=None, width: float = 0.0) -> None:
        X, Y = self.pt(x, y)
        R = r * self.s
        if outline is not None:
            self.draw.ellipse((X - R, Y - R, X + R, Y + R), fill=fill, outline=outline,
                              width=self._w(width))
        else:
            self.draw.ellipse((X - R, Y - R, X + R, Y + R), fill=fill)

    def ellipse(self, x, y, rx, ry, fill=None, outline=None, width: float = 0.0, n: int = 28) -> None:
        pts = [(x + rx * math.cos(2 * math.pi * k / n), y + ry * math.sin(2 * math.pi * k / n))
               for k in range(n)]
        self.poly(pts, fill=fill, outline=outline, width=width)

    def rect(self, x0, y0, x1, y1, fill=None, outline=None, width: float = 0.0) -> None:
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], fill=fill, outline=outline, width=width)

    def rrect(self, x0, y0, x1, y1, r, fill=None, outline=None, width: float = 0.0) -> None:
        r = min(r, (x1 - x0) / 2, (y1 - y0) / 2)
        pts = []
        for cx, cy, a0 in ((x1 - r, y0 + r, -90), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90),
                           (x0 + r, y0 + r, 180)):
            for k in range(5):
                a = math.radians(a0 + 22.5 * k)
                pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
        self.poly(pts, fill=fill, outline=outline, width=width)

    def line(self, pts, fill, width: float) -> None:
        self.draw.line([self.pt(x, y) for x, y in pts], fill=fill, width=self._w(width),
                       joint="curve")

    def sector(self, r0, r1, a0, a1, fill, n: int = 6) -> None:
        outer = [(r1 * math.cos(a0 + (a1 - a0) * k / n), r1 * math.sin(a0 + (a1 - a0) * k / n))
                 for k in range(n + 1)]
        inner = [(r0 * math.cos(a1 - (a1 - a0) * k / n), r0 * math.sin(a1 - (a1 - a0) * k / n))
                 for k in range(n + 1)]
        self.poly(outer + inner, fill=fill)


def _jit(c, rng: random.Random, amt: int = 12) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(v + rng.randint(-amt, amt)))) for v in c)  # type: ignore[return-value]


def _shade(c, f: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(v * f))) for v in c)  # type: ignore[return-value]
