"""Perceptual hashes and quality measurements of stored photos, computed once per sha256.

A photo is decoded once for everything (both hashes, sharpness, exposure, entropy, size). The table
``photo_hashes`` is keyed by sha256; a new day hashes only the photos it has not seen. A photo that
cannot be read or hashed gets a row with ``status = 'unhashable'`` and the reason, never an exception:
its post keeps every other photo and is flagged (``flags``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa

from c2c_assets.home import C2cHome
from c2c_assets.quality import thresholds as T
from c2c_assets.quality.schema import PHOTO_HASHES
from c2c_assets.storage import open_image

# JPEG DCT scaling: decode at 1/2, 1/4, 1/8 while the photo stays at least this big (the hashes see 64 px).
_DECODE_AT_LEAST = 256


def measure(image) -> dict[str, object]:  # noqa: ANN001 - a PIL image
    """Hashes and measurements of one decoded photo."""
    import imagehash
    from PIL import Image

    width, height = image.size
    image.draft("RGB", (_DECODE_AT_LEAST, _DECODE_AT_LEAST))
    rgb = image.convert("RGB")
    grey = rgb.convert("L")
    pixels = np.asarray(grey, dtype=np.float32)
    return {
        "status": "ok",
        "reason": None,
        "phash": _bits(imagehash.phash(rgb, hash_size=T.HASH_SIZE)),
        "dhash": _bits(imagehash.dhash(rgb, hash_size=T.HASH_SIZE)),
        "colour": np.asarray(rgb.resize((4, 4), Image.Resampling.BOX), dtype=np.uint8).tobytes(),
        "width": width,
        "height": height,
        "laplacian_var": laplacian_variance(pixels),
        "brightness": float(pixels.mean()),
        "entropy": float(grey.entropy()),
    }


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image stretched to a standard deviation of 64 grey levels:
    sharpness without contrast (a dark or washed-out photo is not taken for a blurry one)."""
    from scipy.ndimage import laplace

    spread = float(grey.std())
    if spread < 1e-3:
        return 0.0
    return float(laplace(grey * (64.0 / spread)).var())


def _bits(value) -> bytes:  # noqa: ANN001 - an imagehash.ImageHash
    return np.packbits(value.hash.reshape(-1)).tobytes()


def hash_photo(read: Callable[[], object]) -> dict[str, object]:
    """One photo's row; ``read`` opens it. Whatever goes wrong becomes ``unhashable`` with a reason."""
    try:
        image = read()
        with image:
            return measure(image)
    except Exception as error:  # noqa: BLE001 - any unreadable photo is a row, not a failed run
        return {"status": "unhashable", "reason": f"{type(error).__name__}: {error}"[:300]}


def hash_photos(home: C2cHome, photos: Iterable[tuple[str, str]]) -> pa.Table:
    """Rows of ``PHOTO_HASHES`` for ``(sha256, stored path)`` pairs."""
    rows = []
    for sha, path in photos:
        row = hash_photo(lambda p=path: open_image(home.stored_image(p)))
        rows.append({"sha256": sha, **row})
    return pa.Table.from_pylist(rows, schema=PHOTO_HASHES)


def hash_codes(table: pa.Table) -> np.ndarray:
    """(n, 64) uint8: pHash || dHash of every ``ok`` row of a ``PHOTO_HASHES`` table, in its order."""
    return np.ascontiguousarray(np.hstack([_fixed(table.column("phash")), _fixed(table.column("dhash"))]))


def colour_layouts(table: pa.Table) -> np.ndarray:
    """(n, 48) float32 colour layouts of the rows of a ``PHOTO_HASHES`` table."""
    return _fixed(table.column("colour")).astype(np.float32)


def _fixed(column: pa.ChunkedArray) -> np.ndarray:
    array = column.combine_chunks()
    width = array.type.byte_width
    data = np.frombuffer(array.buffers()[1], dtype=np.uint8)
    return data[array.offset * width : (array.offset + len(array)) * width].reshape(-1, width)
