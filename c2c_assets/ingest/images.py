"""Checking, normalizing and storing post photos.

A photo reference is either a path inside its dump folder or an http(s) URL. Each is
checked on its own and ends as a stored image or a rejection with a reason; a bad photo
never sinks its post. Good photos are stored once, by the sha256 of their bytes as
delivered, as RGB JPEG with EXIF orientation applied, plus a thumbnail:
``images/<sha[:2]>/<sha>.jpg`` and ``images/<sha[:2]>/<sha>.thumb.jpg`` (relative to the home; the
folder may be an object-storage URL, ``C2C_IMAGES_URL``).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from c2c_assets.home import IMAGES_PREFIX, C2cHome
from c2c_assets.storage import Location, atomic_path, open_image, write_atomic

# Rejection reason codes for one image reference (the fetcher adds its own, see fetcher.FETCH_REASONS).
BAD_REFERENCE = "bad_reference"
UNSAFE_PATH = "unsafe_path"
MISSING_FILE = "missing_file"
UNREADABLE_FILE = "unreadable_file"
TOO_LARGE = "too_large"
NOT_AN_IMAGE = "not_an_image"
CORRUPT_IMAGE = "corrupt_image"
TOO_MANY_PIXELS = "too_many_pixels"

# Truncated files must fail, not decode half grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

_ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF"}
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ImageSettings:
    max_bytes: int = 20 * 1024 * 1024
    # A decompression bomb declares a huge canvas in a tiny file; 40 MP is above any phone photo.
    max_pixels: int = 40_000_000
    # Stored copies are capped: encoders read 224-448 px, galleries 1024 at most.
    max_side: int = 1024
    thumb_side: int = 256
    jpeg_quality: int = 90


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    width: int
    height: int
    path: str  # relative to C2C_HOME
    thumb_path: str
    n_bytes: int


class ImageRejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def is_url(ref: str) -> bool:
    return "://" in ref[:16] or ref.lower().startswith(("http:", "https:"))


def read_local_image(dump_dir: Path, ref: object, max_bytes: int) -> bytes:
    """Read a photo that a dump refers to by path, never touching a file outside ``dump_dir``."""
    if not isinstance(ref, str) or not ref.strip():
        raise ImageRejected(BAD_REFERENCE, f"image reference should be a non-empty string, got {ref!r:.80}")
    if "\x00" in ref:
        raise ImageRejected(UNSAFE_PATH, "path contains a NUL byte")
    relative = PurePosixPath(ref.replace("\\", "/"))
    if relative.is_absolute() or _WINDOWS_DRIVE.match(ref):
        raise ImageRejected(UNSAFE_PATH, f"absolute path {ref!r:.200} refused")
    if ".." in relative.parts:
        raise ImageRejected(UNSAFE_PATH, f"path {ref!r:.200} escapes the dump folder")
    base = os.path.realpath(dump_dir)
    real = os.path.realpath(os.path.join(base, *relative.parts))
    if os.path.commonpath([base, real]) != base:
        raise ImageRejected(UNSAFE_PATH, f"path {ref!r:.200} leads outside the dump folder (symbolic link)")
    try:
        # O_NOFOLLOW: the checked path must be the opened one, even if a link appears in between.
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise ImageRejected(MISSING_FILE, f"no file {ref!r:.200} in the dump folder") from None
    except IsADirectoryError:
        raise ImageRejected(NOT_AN_IMAGE, f"{ref!r:.200} is a folder") from None
    except OSError as error:
        raise ImageRejected(UNREADABLE_FILE, f"cannot open {ref!r:.200}: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ImageRejected(NOT_AN_IMAGE, f"{ref!r:.200} is not a regular file")
        if info.st_size > max_bytes:
            raise ImageRejected(TOO_LARGE, f"{info.st_size} bytes, over the limit of {max_bytes}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ImageRejected(TOO_LARGE, f"over the limit of {max_bytes} bytes")
    if not data:
        raise ImageRejected(NOT_AN_IMAGE, "empty file")
    return data


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB for every input mode: 16-bit scaled down, transparency flattened on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        scale = 1 / 256 if image.mode.startswith("I;16") or image.getextrema()[1] > 255 else 1
        image = image.convert("I").point(lambda value: value * scale).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


class ImageStore:
    """Content-addressed store of normalized photos under ``home.images`` (``C2C_HOME/images`` or ``C2C_IMAGES_URL``)."""

    def __init__(self, home: C2cHome | Path, settings: ImageSettings | None = None) -> None:
        self.home = home if isinstance(home, C2cHome) else C2cHome(home)
        self.home_root = self.home.root
        self.root = self.home.images
        self.settings = settings or ImageSettings()
        self._folders: set[Location] = set()

    def _paths(self, sha: str) -> tuple[Location, Location]:
        folder = self.root / sha[:2]
        return folder / f"{sha}.jpg", folder / f"{sha}.thumb.jpg"

    def _relative(self, path: Location) -> str:
        return f"{IMAGES_PREFIX}{path.parent.name}/{path.name}"

    def store(self, data: bytes) -> StoredImage:
        """Check, normalize and store ``data``; raises ImageRejected with a reason."""
        settings = self.settings
        if len(data) > settings.max_bytes:
            raise ImageRejected(TOO_LARGE, f"{len(data)} bytes, over the limit of {settings.max_bytes}")
        sha = hashlib.sha256(data).hexdigest()
        full_path, thumb_path = self._paths(sha)
        if full_path.exists() and thumb_path.exists():
            try:
                with open_image(full_path) as stored:
                    width, height = stored.size
                return StoredImage(sha, width, height, self._relative(full_path), self._relative(thumb_path), len(data))
            except OSError:
                pass  # a damaged stored copy is rebuilt below
        image, already_normal = self._decode(data)
        if full_path.parent not in self._folders:  # metadata calls are slow on overlay filesystems
            full_path.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(full_path.parent)
        if max(image.size) > settings.max_side:
            image.thumbnail((settings.max_side, settings.max_side), Image.Resampling.LANCZOS)
            already_normal = False
        thumb = image.copy()
        # reducing_gap=1 box-reduces first, then filters: thumbnails at a third of the cost, no visible loss.
        thumb.thumbnail((settings.thumb_side, settings.thumb_side), Image.Resampling.BILINEAR, reducing_gap=1.0)
        if already_normal:
            # An upright RGB JPEG of acceptable size is kept byte for byte: re-encoding would only lose quality and time.
            write_atomic(full_path, data)
        else:
            _save_atomically(image, full_path, settings.jpeg_quality)
        _save_atomically(thumb, thumb_path, 85)
        return StoredImage(sha, image.width, image.height, self._relative(full_path), self._relative(thumb_path), len(data))

    def _decode(self, data: bytes) -> tuple[Image.Image, bool]:
        """The decoded RGB image, and whether ``data`` already is its normalized JPEG form."""
        settings = self.settings
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(data))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageRejected(TOO_MANY_PIXELS, str(error)) from None
        except UnidentifiedImageError:
            raise ImageRejected(NOT_AN_IMAGE, "not a recognised image format") from None
        except Exception as error:  # Pillow raises many types on malformed headers
            raise ImageRejected(CORRUPT_IMAGE, f"unreadable header: {error}") from None
        if image.format not in _ACCEPTED_FORMATS:
            raise ImageRejected(NOT_AN_IMAGE, f"format {image.format} is not accepted")
        width, height = image.size
        if width <= 0 or height <= 0 or width * height > settings.max_pixels:
            raise ImageRejected(TOO_MANY_PIXELS, f"{width}x{height} is over the limit of {settings.max_pixels} pixels")
        try:
            orientation = image.getexif().get(0x0112, 1)
            if image.format == "JPEG":
                # Decode at a reduced scale straight away when the stored copy will be smaller anyway.
                image.draft("RGB", (settings.max_side, settings.max_side))
            image.load()
            already_normal = image.format == "JPEG" and image.mode == "RGB" and orientation == 1 and image.size == (width, height)
            if orientation != 1:  # exif_transpose copies the image even when there is nothing to turn
                image = ImageOps.exif_transpose(image) or image
            return to_rgb(image), already_normal
        except Exception as error:  # truncated streams raise OSError, bad EXIF SyntaxError/ValueError...
            raise ImageRejected(CORRUPT_IMAGE, f"cannot decode: {error}") from None


def _save_atomically(image: Image.Image, path: Location, quality: int) -> None:
    with atomic_path(path) as tmp:
        image.save(tmp, "JPEG", quality=quality, optimize=False)  # straight from the encoder to disk, no copy
