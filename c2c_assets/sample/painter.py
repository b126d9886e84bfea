"""Photos: a scene background, the category's drawing, camera softness, exposure, colour cast and
seeded sensor noise (``_Painter``); encoding as JPEG/PNG including the unusual modes (CMYK, RGBA,
palette, 16-bit grey, EXIF-rotated); and the decompression-bomb PNG."""

from __future__ import annotations

import io
import math
import random
import struct
import zlib

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .drawings import _DRAWERS
from .pen import _SS, _jit, _Pen, _shade

BOMB_SIDE = 30000
BOMB_PIXELS = BOMB_SIDE * BOMB_SIDE

_SCENES: list[tuple[str, tuple[int, int, int], tuple[int, int, int], bool]] = [
    # name, wall/top colour, floor/bottom colour, has horizon
    ("garage", (200, 198, 190), (120, 118, 112), True),
    ("driveway", (185, 200, 215), (150, 148, 142), True),
    ("grass", (175, 195, 215), (70, 115, 50), True),
    ("carpet", (150, 130, 105), (125, 105, 85), False),
    ("asphalt", (70, 70, 72), (55, 55, 58), False),
    ("cardboard", (175, 140, 95), (160, 125, 85), False),
    ("wood", (140, 100, 65), (115, 80, 50), False),
    ("bedliner", (45, 45, 48), (30, 30, 32), False),
    ("white", (232, 232, 228), (212, 212, 208), False),
]


_RAMP = np.arange(256, dtype=np.float64)


class _Painter:
    """Renders category photos; holds seeded sensor-noise images shared by all photos."""

    _NOISE_LEVELS = (3, 5, 7, 10)
    _PAD = 64

    def __init__(self, seed: int, size: tuple[int, int]):
        self.size = size
        nrng = np.random.default_rng(seed)
        w, h = size
        base = nrng.standard_normal((h + self._PAD, w + self._PAD, 3)).astype(np.float32)
        # uint8 noise centred on 128, one image per noise level: added with ImageChops
        self.noise = {
            k: Image.fromarray(np.clip(np.rint(base * k) + 128, 0, 255).astype(np.uint8), "RGB")
            for k in self._NOISE_LEVELS
        }

    def _background(self, V: random.Random, P: random.Random) -> tuple[Image.Image, tuple[int, int, int]]:
        w, h = self.size
        name, top, bottom, horizon = V.choice(_SCENES)
        top_a = np.array(_jit(top, V, 15), dtype=np.float32)
        bot_a = np.array(_jit(bottom, V, 15), dtype=np.float32)
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)
        if horizon:
            hy = P.uniform(0.2, 0.5)
            t = np.where(t < hy, t * 0.3, 0.85 + 0.15 * (t - hy) / max(1e-3, 1 - hy))
        col = top_a[None, :] * (1 - t[:, None]) + bot_a[None, :] * t[:, None]  # (h, 3)
        if name in ("wood", "bedliner"):
            period = V.choice([14, 18, 24])
            col[(np.arange(h) % period) < 2] -= 25.0
        column = Image.fromarray(np.clip(col, 0, 255).astype(np.uint8)[:, None, :], "RGB")
        bg = column.resize((w * _SS, h * _SS), Image.Resampling.NEAREST)
        bgc = tuple(int(v) for v in (top_a * 0.4 + bot_a * 0.6))
        return bg, bgc  # type: ignore[return-value]

    def render(self, category: str, vis_seed: int, photo_seed: int, noisy: bool = True) -> Image.Image:
        """One photo: post-level look from ``vis_seed``, photo-level jitter from ``photo_seed``."""
        V = random.Random(vis_seed)
        P = random.Random(photo_seed)
        w, h = self.size
        W, H = w * _SS, h * _SS
        canvas, bgc = self._background(V, P)
        draw = ImageDraw.Draw(canvas)

        ex, ey, round_, fn = _DRAWERS[category]
        scale = min(W / (2 * ex), H / (2 * ey)) * P.uniform(0.68, 0.92)
        if P.random() < 0.15:
            scale *= 1.3  # close-up, partly cropped
        cx = W / 2 + P.uniform(-0.1, 0.1) * W
        cy = H / 2 + P.uniform(-0.1, 0.1) * H
        angle = P.uniform(0, 2 * math.pi) if round_ else P.uniform(-0.26, 0.26)
        # flat shadow on the ground below the object
        sx, sy = ex * scale * 0.9, max(ey * scale * 0.3, 4.0)
        gy = cy + ey * scale * 0.8
        draw.ellipse((cx - sx + 0.1 * scale, gy - sy, cx + sx + 0.1 * scale, gy + sy),
                     fill=_shade(bgc, 0.7))
        fn(_Pen(draw, cx, cy, scale, angle), V, P, bgc)
        img = canvas.reduce(_SS)
        if P.random() < 0.3:
            img = img.filter(ImageFilter.SMOOTH)  # a slightly soft camera
        # exposure and colour cast through a lookup table, then sensor noise
        gain = P.uniform(0.85, 1.12)
        bias = P.randint(-12, 12)
        gains = np.array([gain * P.uniform(0.96, 1.04) for _ in range(3)], dtype=np.float64)
        lut = np.clip(np.floor(_RAMP[None, :] * gains[:, None] + bias + 0.5), 0, 255).astype(np.uint8)
        img = img.point(lut.tobytes())
        ox, oy = P.randrange(self._PAD), P.randrange(self._PAD)
        k = P.choice(self._NOISE_LEVELS)
        if noisy:  # PNG "product shots" stay clean (and small)
            noise = self.noise[k].crop((ox, oy, ox + w, oy + h))
            img = ImageChops.add(img, noise, 1.0, -128)
        return img


def _encode(img: Image.Image, fmt: str, special: str | None, quality: int) -> bytes:
    buf = io.BytesIO()
    if special == "cmyk":
        img.convert("CMYK").save(buf, "JPEG", quality=quality)
    elif special == "exif6":
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: display needs a 90 degree clockwise rotation
        img.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    elif special == "rgba":
        rgba = img.convert("RGBA")
        w, h = img.size
        mask = Image.new("L", (w, h), 0)
        ImageDraw.Draw(mask).rounded_rectangle((6, 6, w - 7, h - 7), radius=min(w, h) // 5, fill=255)
        rgba.putalpha(mask)
        rgba.save(buf, "PNG")
    elif special == "p":
        img.quantize(colors=64).save(buf, "PNG")
    elif special == "i16":
        a = np.asarray(img.convert("L"), dtype=np.uint16) * 257
        Image.fromarray(a.astype("<u2")).save(buf, "PNG")
    elif fmt == "png":
        img.save(buf, "PNG", compress_level=4)
    else:
        img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _bomb_png(side: int = BOMB_SIDE) -> bytes:
    """A tiny PNG whose IHDR declares side x side 8-bit grey pixels (decompression bomb)."""

    def chunk(typ: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (side + 1) * 4, 9)  # the first 4 rows only
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
