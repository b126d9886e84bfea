"""Headless Chromium for tests, through Playwright and Debian's /usr/bin/chromium.

Use it from a test module by importing the fixtures::

    from c2c_assets_tests.browser import browser, open_page  # noqa: F401  (pytest fixtures)

    def test_page(open_page, tmp_path):
        page, log = open_page(tmp_path / "report.html")
        assert page.locator("h1").count() == 1
        log.assert_clean()

``browser`` is module-scoped (one Chromium per test module: launching costs about a second);
``open_page`` gives each test a fresh context, so pages never share state. Each page records
console errors, uncaught page errors, dialogs (an ``alert`` from injected script shows up here)
and any request that tried to leave the machine (those are aborted).

Playwright never downloads its own browser here (that fails offline): it drives Debian's
``chromium`` package. Without it the tests skip locally, but FAIL when ``CI`` is set, so a CI
image that lost the browser cannot turn the browser tests green by skipping them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Route

CHROMIUM = Path(os.environ.get("C2C_CHROMIUM", "/usr/bin/chromium"))
# --no-sandbox: containers lack the user namespaces the sandbox needs; the other flags stop
# Chromium phoning home (component updates, safe-browsing lists) on a machine without network.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
DEFAULT_VIEWPORT = {"width": 1200, "height": 800}
DEFAULT_TIMEOUT_MS = 10_000

_LOCAL_URL = re.compile(r"^(file|data|blob|about):", re.IGNORECASE)


def in_ci() -> bool:
    """True when the CI variable is set to anything but an explicit no."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def require_chromium() -> Path:
    """The Chromium binary, or skip (locally) / fail (in CI) with the reason and the fix."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"Chromium not found at {CHROMIUM}: `apt-get update && apt-get install -y chromium`"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the `playwright` Python package is missing: `pip install playwright` (no `playwright install`)"
    if problem is None:
        return CHROMIUM
    if in_ci():
        pytest.fail(f"browser tests cannot run in CI: {problem}", pytrace=False)
    pytest.skip(f"browser tests skipped: {problem}")


@dataclass
class PageLog:
    """What a page reported while a test drove it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        """No console error, no uncaught exception, no dialog, no attempt to reach the network."""
        problems = {
            "console errors": self.console_errors,
            "page errors": self.page_errors,
            "dialogs": self.dialogs,
            "external requests": self.external_requests,
        }
        found = {k: v for k, v in problems.items() if v}
        assert not found, f"the page was not clean: {found}"


def attach_log(page: Page) -> PageLog:
    """Record errors, dialogs and outbound requests of ``page``; dialogs are dismissed."""
    log = PageLog()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            log.console_errors.append(f"{msg.text} ({loc.get('url', '')}:{loc.get('lineNumber', '')})")

    def on_dialog(dialog: Dialog) -> None:
        log.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()  # with a listener attached Playwright no longer auto-dismisses

    def on_route(route: Route) -> None:
        log.external_requests.append(route.request.url)
        route.abort()

    page.on("console", on_console)
    page.on("pageerror", lambda exc: log.page_errors.append(str(exc)))
    page.on("dialog", on_dialog)
    # Anything not local is recorded and aborted: a report must work from the file alone.
    page.route(lambda url: not _LOCAL_URL.match(url), on_route)
    return log


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test module."""
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(executable), args=LAUNCH_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


OpenPage = Callable[..., "tuple[Page, PageLog]"]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """``open_page(path_or_url, viewport=None) -> (page, log)``: a fresh context per call.

    A ``Path`` is opened as a file:// URL; the call returns after the ``load`` event.
    """
    contexts = []

    def _open(target: Path | str, *, viewport: dict[str, int] | None = None) -> tuple[Page, PageLog]:
        ctx = browser.new_context(viewport=viewport or DEFAULT_VIEWPORT)
        ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(ctx)
        page = ctx.new_page()
        log = attach_log(page)
        url = Path(target).resolve().as_uri() if isinstance(target, Path) else target
        page.goto(url, wait_until="load")
        return page, log

    try:
        yield _open
    finally:
        for ctx in contexts:
            ctx.close()
