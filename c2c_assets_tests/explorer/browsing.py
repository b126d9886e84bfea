"""Driving the embedding-atlas explorer in headless Chromium through its own UI.

Headless Chromium here has no GPU: embedding-atlas 0.26 draws its map only with WebGPU and the
``shader-f16`` feature (SwiftShader's WebGPU lacks it), so the map canvas, hover tooltips and the lasso
cannot be driven in these tests. What is driven: the page starts from disk or over http, loads every
post into its DuckDB, shows the count, the table with thumbnails and links, the cross-filter charts
(a click on a source filters the table and the count) and the text search.
"""

from __future__ import annotations

import re
from pathlib import Path

# The only console errors allowed: the front end saying it has no WebGPU device for the map.
WEBGPU_ERRORS = ("Could not request WebGPU adapter", "Could not get WebGPU device", "WebGPU adapter does not support")
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
