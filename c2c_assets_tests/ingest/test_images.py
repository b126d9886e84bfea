import io
import os

import pytest
from PIL import Image

from c2c_assets.ingest.images import (
    BAD_REFERENCE,
    CORRUPT_IMAGE,
    MISSING_FILE,
    NOT_AN_IMAGE,
    TOO_LARGE,
    TOO_MANY_PIXELS,
    UNREADABLE_FILE,
    UNSAFE_PATH,
    ImageRejected,
    ImageSettings,
    ImageStore,
    read_local_image,
)
from c2c_assets_tests.fixtures import bomb_png, jpeg_bytes, png_bytes, write


@pytest.fixture
def dump_dir(tmp_path):
    folder = tmp_path / "inbox" / "craigslist" / "2024-03-01"
    write(folder / "images" / "good.jpg", jpeg_bytes())
    write(tmp_path / "inbox" / "secret.jpg", jpeg_bytes(color=(1, 2, 3)))
    os.symlink(tmp_path / "inbox" / "secret.jpg", folder / "images" / "link.jpg")
    os.symlink(folder / "images" / "good.jpg", folder / "images" / "inside_link.jpg")
    return folder


@pytest.mark.parametrize(
    ("ref", "reason"),
    [
        ("/etc/passwd", UNSAFE_PATH),
        ("../secret.jpg", UNSAFE_PATH),
        ("images/../../secret.jpg", UNSAFE_PATH),
        ("images/link.jpg", UNSAFE_PATH),
        ("C:\\Windows\\win.ini", UNSAFE_PATH),
        ("images/a\x00.jpg", UNSAFE_PATH),
        ("images/nope.jpg", MISSING_FILE),
        ("images/good.jpg/inside", UNREADABLE_FILE),  # a file used as a folder: the open itself fails
        ("images", NOT_AN_IMAGE),
        ("", BAD_REFERENCE),
        (None, BAD_REFERENCE),
        ({"uuid": "x"}, BAD_REFERENCE),
    ],
)
def test_local_references_outside_or_missing_are_refused(dump_dir, ref, reason):
    with pytest.raises(ImageRejected) as error:
        read_local_image(dump_dir, ref, max_bytes=1 << 20)
    assert error.value.reason == reason


def test_symlink_that_stays_inside_the_dump_is_fine(dump_dir):
    assert read_local_image(dump_dir, "images/inside_link.jpg", 1 << 20) == (dump_dir / "images/good.jpg").read_bytes()


def test_file_outside_is_never_opened(dump_dir, monkeypatch):
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *a, **k: opened.append(str(path)) or real_open(path, *a, **k))
    with pytest.raises(ImageRejected):
        read_local_image(dump_dir, "images/link.jpg", 1 << 20)
    assert not any("secret" in path for path in opened)


def test_byte_limit(dump_dir):
    with pytest.raises(ImageRejected) as error:
        read_local_image(dump_dir, "images/good.jpg", max_bytes=100)
    assert error.value.reason == TOO_LARGE


@pytest.fixture
def store(tmp_path):
    return ImageStore(tmp_path / "home", ImageSettings(max_pixels=4_000_000, max_side=512, thumb_side=64))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"this is not an image at all", NOT_AN_IMAGE),
        (b"<html><body>404</body></html>", NOT_AN_IMAGE),
        (jpeg_bytes((400, 300))[:300], CORRUPT_IMAGE),
        (bomb_png(), TOO_MANY_PIXELS),
        (bomb_png(3000, 3000), TOO_MANY_PIXELS),  # over this store's 4 MP limit, under Pillow's own
    ],
)
def test_bad_image_bytes_are_rejected_with_reason(store, data, reason):
    with pytest.raises(ImageRejected) as error:
        store.store(data)
    assert error.value.reason == reason


def test_bomb_is_refused_before_decoding(store, monkeypatch):
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoded a bomb"))
    with pytest.raises(ImageRejected):
        store.store(bomb_png())


def _stored(store, stored):
    return Image.open(store.home_root / stored.path)


@pytest.mark.parametrize(
    "image",
    [
        Image.new("CMYK", (40, 30), (0, 255, 255, 0)),
        Image.new("RGBA", (40, 30), (255, 0, 0, 128)),
        Image.new("P", (40, 30), 3),
        Image.new("L", (40, 30), 90),
        Image.new("I;16", (40, 30), 40_000),
        Image.new("1", (40, 30), 1),
    ],
    ids=lambda im: im.mode,
)
def test_every_mode_becomes_rgb(store, image):
    fmt = "JPEG" if image.mode == "CMYK" else "PNG"
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    stored = store.store(buffer.getvalue())
    with _stored(store, stored) as result:
        assert result.mode == "RGB" and result.size == (40, 30)


def test_sixteen_bit_is_scaled_not_clipped(store):
    stored = store.store(png_bytes(Image.new("I;16", (8, 8), 32_768)))
    with _stored(store, stored) as result:
        assert 120 <= result.getpixel((4, 4))[0] <= 136  # half of full scale, not saturated white


def test_transparency_is_flattened_on_white(store):
    stored = store.store(png_bytes(Image.new("RGBA", (8, 8), (0, 0, 0, 0))))
    with _stored(store, stored) as result:
        assert result.getpixel((4, 4)) == (255, 255, 255)


def test_exif_orientation_is_applied(store):
    image = Image.new("RGB", (60, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif)
    stored = store.store(buffer.getvalue())
    assert (stored.width, stored.height) == (20, 60)


def test_images_are_stored_once_by_content_hash_with_thumbnail(store):
    data = jpeg_bytes((1024, 768))
    first, second = store.store(data), store.store(data)
    assert first == second
    assert first.path == f"images/{first.sha256[:2]}/{first.sha256}.jpg"
    assert max(first.width, first.height) == 512  # capped by max_side
    with Image.open(store.home_root / first.thumb_path) as thumb:
        assert max(thumb.size) == 64
    assert len(list((store.root / first.sha256[:2]).iterdir())) == 2
    assert not list(store.root.rglob("*.tmp"))
