"""Driving the embedding-atlas explorer in headless Chromium through its own UI.

embedding-atlas 0.22 draws its map with WebGPU when the browser offers a device with ``shader-f16``
and otherwise falls back to WebGL 2: here (no GPU) Chromium's SwiftShader draws it, so the tests read
the map's own pixels, hover its points, drag a box on it, and use the table, charts and search.
"""

from __future__ import annotations

import base64
import io
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The only console errors allowed: the front end saying it has no WebGPU device for the map (then it
# falls back to WebGL 2); where the adapter lacks shader-f16, each device request it tries says so.
WEBGPU_ERRORS = (
    "Could not request WebGPU adapter", "Could not get WebGPU device", "WebGPU adapter does not support",
    "TypeError: Failed to execute 'requestDevice' on 'GPUAdapter': Unsupported feature: shader-f16",
)  # fmt: skip
# The hover card: embedding-atlas's tooltip layer over the map (it ignores the pointer).
TOOLTIP = "div[style*='z-index: 100'][style*='pointer-events: none'] .embedding-atlas-root"
LOAD_TIMEOUT_MS = 60_000


def assert_clean(log) -> None:
    """No page error, dialog or outbound request; console errors only about the missing WebGPU."""
    other = [e for e in log.console_errors if not e.startswith(WEBGPU_ERRORS)]
    assert not (other or log.page_errors or log.dialogs or log.external_requests), (
        f"console {other}, page errors {log.page_errors}, dialogs {log.dialogs}, external {log.external_requests}"
    )


def points(page) -> tuple[int, int]:
    """The ``shown / total points`` count the explorer reports."""
    text = page.get_by_text(re.compile(r"^[\d,]+ / [\d,]+ points$")).first.inner_text()
    shown, total = re.match(r"([\d,]+) / ([\d,]+) points", text).groups()
    return int(shown.replace(",", "")), int(total.replace(",", ""))


def open_explorer(open_page, target: Path | str, total: int):
    page, log = open_page(target, viewport={"width": 1600, "height": 1000})
    page.get_by_text(f"{total:,} / {total:,} points").wait_for(timeout=LOAD_TIMEOUT_MS)
    return page, log


_DECODED = "[...document.querySelectorAll(\"img[src^='thumbs/']\")].filter(i => i.complete && i.naturalWidth > 0).length"


def loaded_thumbnails(page, expected: int | None = None, timeout_ms: int = 30_000) -> int:
    """Thumbnails in the table that the browser actually decoded (read from the export's folder). With
    ``expected``, first waits (up to the timeout) for that many: the table renders its rows and decodes
    the images after the point count appears, later still on a loaded machine."""
    if expected is not None:
        try:
            page.wait_for_function(f"(n) => {_DECODED} === n", arg=expected, timeout=timeout_ms)
        except Exception:  # noqa: BLE001 - the count below is what the assertion reports
            pass
    return page.evaluate(f"() => {_DECODED}")


def open_served(browser, url: str, total: int):
    """The explorer served over http: like ``open_page``, with that server's origin counted as local."""
    from urllib.parse import urlsplit

    from c2c_assets_tests.browser import attach_log

    origin = "{0.scheme}://{0.netloc}/".format(urlsplit(url))
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    log = attach_log(page)
    page.unroute_all()

    def outside(route) -> None:
        log.external_requests.append(route.request.url)
        route.abort()

    page.route(lambda u: not re.match(rf"^({re.escape(origin)}|blob:|data:|about:)", u), outside)
    page.goto(url, wait_until="load")
    page.get_by_text(f"{total:,} / {total:,} points").wait_for(timeout=LOAD_TIMEOUT_MS)
    return page, log, context


@dataclass(frozen=True)
class MapPoints:
    """Drawn points on the map: centres in page pixels, and the canvas's painted pixel count."""

    centres: list[tuple[float, float]]
    painted: int


def map_pixels(page) -> tuple[np.ndarray, dict]:
    """The map canvas's own pixels (RGB, device pixels; the app re-renders it for toDataURL) and its box."""
    from PIL import Image

    canvas = page.locator("canvas").first
    url = canvas.evaluate("c => c.toDataURL('image/png')")
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
    return image, canvas.bounding_box()


def map_points(page, *, at_least: int = 1, timeout_ms: int = LOAD_TIMEOUT_MS) -> MapPoints:
    """Waits until the map has drawn ``at_least`` separate points (blobs of non-background pixels)."""
    from scipy import ndimage

    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        image, box = map_pixels(page)
        painted = np.abs(image.astype(np.int16) - image[0, 0].astype(np.int16)).sum(axis=-1) > 30
        labels, count = ndimage.label(painted)
        scale = image.shape[1] / box["width"]
        centres = [(box["x"] + cx / scale, box["y"] + cy / scale) for cy, cx in ndimage.center_of_mass(painted, labels, range(1, count + 1))]
        if count >= at_least or time.monotonic() > deadline:
            return MapPoints(centres, int(painted.sum()))
        page.wait_for_timeout(100)  # the next frame; the loop ends on the condition or the deadline


def hover_card(page, point: tuple[float, float], timeout_ms: int = 10_000) -> str:
    """Hovers ``point`` (page pixels) until the map's tooltip shows; its text."""
    card = page.locator(TOOLTIP)
    # Off the map first: the card of a point hovered before stays up until the pointer leaves the map.
    page.mouse.move(1, 1)
    card.first.wait_for(state="hidden", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    step = 0
    while time.monotonic() < deadline:
        # The map answers hover from a debounced query: small moves on the point until it does.
        page.mouse.move(point[0] + (step % 3 - 1) * 0.5, point[1])
        step += 1
        try:
            card.first.wait_for(state="visible", timeout=400)
            return card.first.inner_text()
        except Exception:  # noqa: BLE001 - not yet: move again
            continue
    raise AssertionError(f"no tooltip at {point}")


def box_select(page, corner: tuple[float, float], other: tuple[float, float]) -> None:
    """A rectangle selection on the map: shift + drag (embedding-atlas's gesture for it)."""
    page.keyboard.down("Shift")
    page.mouse.move(*corner)
    page.mouse.down()
    page.mouse.move((corner[0] + other[0]) / 2, (corner[1] + other[1]) / 2, steps=5)
    page.mouse.move(*other, steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")
