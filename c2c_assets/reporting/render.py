"""The one jinja2 environment every page renders through, and the rules that keep pages safe.

Scraped text (titles, descriptions, URLs, even encoder names) is hostile. Here:

- autoescape is on for every template, so ``{{ value }}`` is always HTML-escaped;
- :func:`safe_url` (also the ``safe_url`` filter) lets only ``http(s)`` absolute URLs and plain
  relative links become links: ``javascript:``, ``data:``, ``vbscript:``, protocol-relative
  ``//host`` and anything odd give ``None``, and the template shows the text without a link;
- every page extends ``base.html.j2``, whose Content-Security-Policy meta tag forbids every fetch
  (``default-src 'none'``; images only as ``data:``) and every script; the explorer's entry page
  (``c2c_assets.explorer.app``) names its own scripts by SHA-256 and allows no network request.

Pages are written with :func:`c2c_assets.storage.write_atomic`: a reader never sees half a file.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from c2c_assets.storage import Location, location, write_atomic

__all__ = [
    "CSP_STATIC",
    "environment",
    "render_page",
    "safe_url",
    "write_page",
]

TEMPLATES = Path(__file__).parent / "templates"

# Pages without scripts: no fetch of any kind, inlined data: images, inline styles only.
CSP_STATIC = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

# What a browser strips around an URL (C0 controls and space) and deletes inside it (tab, LF, CR).
_URL_EDGE = "".join(chr(c) for c in range(0x21))
_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")  # a backslash is a slash to browsers: "/\host" = "//host"
_LINK_SCHEMES = ("http", "https")
_NOT_A_PATH = re.compile(r"[:&]")


def safe_url(url: object) -> str | None:
    """``url`` if it is safe as a link, else None: an absolute ``http(s)`` URL with a host, or a
    relative link (``page.html``, ``../x``, ``/path``, ``#id``, ``?q=1``) that is not
    protocol-relative (``//host``) and has no ``:`` or ``&`` before its first ``/``, ``?`` or ``#``. Control characters, tabs, newlines or backslashes anywhere in
    it (browsers drop or reinterpret those, e.g. ``java\\tscript:``) make it unsafe.

    The result is percent-encoded where it could end a Markdown link or an attribute (spaces,
    quotes, ``<>``, parentheses); URL syntax is kept. Templates still HTML-escape it.
    """
    if not isinstance(url, str):
        return None
    url = url.strip(_URL_EDGE)
    if not url or _URL_CONTROL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme:
        if parts.scheme.lower() not in _LINK_SCHEMES or not parts.netloc:
            return None
    elif url.startswith("//") or _NOT_A_PATH.search(re.split(r"[/?#]", url, maxsplit=1)[0]):
        # Protocol-relative; or a first segment with ":" (a scheme urlsplit did not take) or "&": Markdown
        # decodes character references in link targets, so "javascript&colon;x" would become a scheme.
        return None
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")








@cache
def environment() -> Environment:
    """The jinja2 environment: templates from this package, autoescape on for everything."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt variable fails the render instead of vanishing
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["safe_url"] = safe_url
    env.globals["CSP_STATIC"] = Markup(CSP_STATIC)  # our constant: quotes stay readable
    return env


def render_page(template: str, **context: Any) -> str:
    """Render ``templates/<template>`` with ``context``."""
    return environment().get_template(template).render(**context)


def write_page(path: Location | str, template: str, **context: Any) -> Location:
    """Render a page and publish it atomically (mode 0644) at ``path``."""
    return write_atomic(location(path), render_page(template, **context))
