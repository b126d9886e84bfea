"""Hostile scraped text into EVERY page the project writes; the output is parsed, not grepped.

Titles, descriptions, top terms, encoder names, metric names and URLs get script tags, attribute
breakouts and every spelling of a script URL. For each page: no ``<script>`` but the page's own
trusted ones, no ``on*`` attribute, no ``href``/``src`` (after the clean-up a browser does) with a
``javascript:``, ``vbscript:`` or ``data:`` URL other than ``data:image/...`` in ``src``, no
protocol-relative link, and the Content-Security-Policy meta tag. The Markdown for the Dagster UI
gets the same inputs and must keep them as text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from c2c_assets.home import C2cHome
from c2c_assets.reporting.cluster_report import (
    ClusterCard,
    NearestPost,
    cluster_report_markdown,
    write_cluster_report_html,
)
from c2c_assets.reporting.comparison import comparison_markdown, write_comparison_html
from c2c_assets.reporting.gallery import write_gallery
from c2c_assets.reporting.map_png import png_markdown, write_map_png
from c2c_assets.reporting.render import TEMPLATES
from c2c_assets.search.service import Hit
from c2c_assets_tests.reporting.samples import draw_thumb

HOSTILE_TEXT = [
    "<script>alert(1)</script>",
    '" onmouseover="alert(1)',
    "' onfocus='alert(1)' autofocus x='",
    "'><img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "</textarea></title></style></script><script>alert(1)</script>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<!--<script>alert(1)//-->",
    "[click](javascript:alert(1))",
    "![x](javascript:alert(1))",
    "{{ 7*7 }} {% raw %}",
]
HOSTILE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "\njavascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "javascript&colon;alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:image/svg+xml,<svg onload=alert(1)>",
    "vbscript:msgbox(1)",
    "//evil.example/x",
    "/\\evil.example/x",
    "\\\\evil.example\\x",
    'https://example.com/" onmouseover="alert(1)',
    "https://example.com/'><script>alert(1)</script>",
]
HOSTILE = HOSTILE_TEXT + HOSTILE_URLS
GOOD_URL = "https://example.com/post/1?a=1&b=2"

# Where a browser fetches or navigates: no script URL may reach any of them.
URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "background", "data", "ping"}
FORBIDDEN_TAGS = {"iframe", "frame", "object", "embed", "base", "form", "svg", "math", "link", "textarea"}
BROWSER_STRIPS = re.compile(r"[\x00-\x20]")  # leading C0 + space stripped, tab/LF/CR removed anywhere


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._script: dict[str, str | None] | None = None
        self._script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._script_text = dict(attrs), []

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._script_text)))
            self._script = None


def page_problems(text: str, trusted_scripts: int = 0) -> list[str]:
    """Everything unsafe about a page; empty when it is safe."""
    parser = PageParser()
    parser.feed(text)
    parser.close()
    problems = []
    for tag, attrs in parser.tags:
        if tag in FORBIDDEN_TAGS:
            problems.append(f"<{tag}> element")
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"<{tag} {name}=...> event handler")
            if name in URL_ATTRS and value is not None:
                url = BROWSER_STRIPS.sub("", value).lower()
                if url.startswith(("javascript:", "vbscript:", "data:text", "//", "/\\", "\\")):
                    problems.append(f"<{tag} {name}={value!r}>")
                if url.startswith("data:") and not (name == "src" and url.startswith("data:image/")):
                    problems.append(f"<{tag} {name}={value!r}>: data: URL")
                if name == "href" and not url.startswith(("https://", "http://", "#")):
                    problems.append(f"<{tag} href={value!r}>: not an http(s) or in-page link")
    csp = [
        a.get("content") or ""
        for t, a in parser.tags
        if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    ]
    if len(csp) != 1:
        problems.append(f"{len(csp)} Content-Security-Policy meta tags")
    else:
        directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp[0].split(";") if d.strip())
        script_src = directives.get("script-src", "").split()
        if directives.get("default-src") != "'none'" or any(not s.startswith("'sha256-") for s in script_src):
            problems.append(f"weak policy {csp[0]!r}")
    if trusted_scripts == 0 and parser.scripts:
        problems.append(f"{len(parser.scripts)} script elements: {[s for _, s in parser.scripts][:2]!r}")
    if trusted_scripts and len(parser.scripts) != trusted_scripts:
        problems.append(f"{len(parser.scripts)} script elements, expected {trusted_scripts}")
    if "<" + "script" in text.lower() and not trusted_scripts:
        problems.append("'<script' in the page source")
    return problems


def thumbs_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "thumbs"
    folder.mkdir(exist_ok=True)
    return folder


# ------------------------------------------------------------------------------------------ pages


def cluster_report(tmp_path: Path) -> Path:
    thumb = draw_thumb(thumbs_folder(tmp_path) / "t.jpg", (200, 40, 40), 1)
    posts = [
        NearestPost(post_id=h, title=h, price_usd=1.0, url=u, thumbnail=thumb if i % 2 else None, distance=0.5)
        for i, (h, u) in enumerate(zip(HOSTILE_TEXT * 2, HOSTILE_URLS, strict=False))
    ]
    posts.append(NearestPost(post_id="ok", title="fine", price_usd=None, url=GOOD_URL, thumbnail=thumb, distance=1))
    cards = [
        ClusterCard(cluster_id=c, size=10, multi_image_share=0.5, top_terms=HOSTILE, nearest=posts) for c in (-1, 0)
    ]
    metrics = {h: h for h in HOSTILE} | {"silhouette": 0.5}
    return write_cluster_report_html(tmp_path / "clusters.html", encoder=HOSTILE_TEXT[0] + HOSTILE_TEXT[3],
                                     cards=cards, metrics=metrics, method=HOSTILE_TEXT[1])  # fmt: skip


def hostile_rows() -> list[dict[str, object]]:
    return [{"encoder": h, h: i, "silhouette": 0.1 * i, "description": HOSTILE_URLS[i % len(HOSTILE_URLS)]}
            for i, h in enumerate(HOSTILE)]  # fmt: skip


def comparison(tmp_path: Path) -> Path:
    return write_comparison_html(tmp_path / "encoders.html", hostile_rows(), HOSTILE_TEXT[0])


def width_sweep(tmp_path: Path) -> Path:
    rows = [{"width": w, "encoder": h, "silhouette": w / 100} for w, h in zip((8, 16, 32, 64), HOSTILE, strict=False)]
    return write_comparison_html(tmp_path / "width_sweep.html", rows, HOSTILE_TEXT[3], better={"width": "none"},
                                 row_noun=HOSTILE_TEXT[1])  # fmt: skip


def hostile_hits(tmp_path: Path) -> tuple[C2cHome, list[Hit]]:
    home = C2cHome(tmp_path / "home")
    photo = home.stored_image("images/ab/abc.jpg")
    photo.parent.mkdir(parents=True, exist_ok=True)
    draw_thumb(photo, (40, 60, 200), 3)
    hits = [
        Hit(post_id=h, score=0.9, title=h, price_usd=10.0, source=h, url=u, thumb_path="images/ab/abc.jpg")
        for h, u in zip(HOSTILE * 2, HOSTILE_URLS * 2, strict=False)
    ]
    hits.append(Hit(post_id="ok", score=0.5, title="fine", price_usd=None, source="s", url=GOOD_URL, thumb_path=None))
    return home, hits


def gallery(tmp_path: Path) -> Path:
    home, hits = hostile_hits(tmp_path)
    path = tmp_path / "gallery.html"
    write_gallery(path, home, hits, title=HOSTILE_TEXT[0])
    return path


def price_page(tmp_path: Path) -> Path:
    from c2c_assets.pricing.estimate import Comparable, Estimate
    from c2c_assets.reporting.prices import write_price_page

    home, hits = hostile_hits(tmp_path)
    comparables = [Comparable(h.post_id, h.title, 10.0, h.source, None, h.score, h.url, h.thumb_path) for h in hits]
    result = Estimate(10.0, 5.0, 20.0, len(comparables), comparables, None, HOSTILE_TEXT[2])
    write_price_page(tmp_path / "none.html", home, Estimate(None, None, None, 0, [], HOSTILE_TEXT[0], "e"), HOSTILE_TEXT[1])
    return write_price_page(tmp_path / "price.html", home, result, title=HOSTILE_TEXT[0])


PAGES: dict[str, tuple[Callable[[Path], Path], int]] = {
    "cluster report": (cluster_report, 0),
    "comparison": (comparison, 0),
    "width sweep": (width_sweep, 0),
    "search gallery": (gallery, 0),
    "price page": (price_page, 0),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_hostile_input_stays_inert_on_every_page(name: str, tmp_path: Path) -> None:
    write, trusted = PAGES[name]
    text = write(tmp_path).read_text(encoding="utf-8")
    assert page_problems(text, trusted) == []
    assert "alert(1)" in text  # the hostile text is on the page, as text


def test_hostile_gallery_thumbnail_paths_are_dropped(tmp_path: Path) -> None:
    home = C2cHome(tmp_path / "home")
    hits = [Hit(post_id="x", score=1.0, title="t", price_usd=None, source="s", url=None, thumb_path=p)
            for p in ["javascript:alert(1)", "../../etc/passwd", "images/../../x.jpg", "images/missing.jpg"]]  # fmt: skip
    text = write_gallery(tmp_path / "g.html", home, hits, "t").read_text(encoding="utf-8")
    assert page_problems(text) == [] and "<img" not in text


def test_the_checker_sees_what_it_must() -> None:
    # Guards the parametrized test against passing vacuously.
    csp = '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
    assert page_problems(csp) == []
    assert page_problems("<p>x</p>")  # no CSP
    assert page_problems(csp.replace("'none'", "'none'; script-src 'unsafe-inline'"))  # a weak policy
    assert page_problems(csp.replace("'none'", "'none'; script-src 'sha256-abc='")) == []
    for bad in ['<a href="javascript:alert(1)">x</a>', '<a href=" JaVaScRiPt:alert(1)">x</a>',
                '<a href="java&#9;script:alert(1)">x</a>', '<img src="data:text/html,x">', '<a href="//evil">x</a>',
                '<p onmouseover="alert(1)">x</p>', "<script>alert(1)</script>", '<a href="data:image/png,x">x</a>',
                '<a href="vbscript:x">x</a>', "<iframe></iframe>"]:  # fmt: skip
        assert page_problems(csp + bad), bad
    assert page_problems(csp + '<img src="data:image/jpeg;base64,AAAA" alt="">') == []


def test_markdown_keeps_hostile_text_as_text(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    png = write_map_png(tmp_path / "m.png", rng.normal(size=(20, 2)), np.arange(20) % 2, HOSTILE_TEXT[0])
    cards = [
        ClusterCard(cluster_id=0, size=3, multi_image_share=0.1, top_terms=HOSTILE,
                    nearest=[NearestPost(post_id="p", title=h, price_usd=None, url=u, thumbnail=None, distance=0.1)
                             for h, u in zip(HOSTILE, HOSTILE_URLS + [GOOD_URL], strict=False)])
    ]  # fmt: skip
    for md in [
        cluster_report_markdown(cards, {h: h for h in HOSTILE}, max_posts=len(HOSTILE)),
        comparison_markdown(hostile_rows()),
        png_markdown(png, alt=HOSTILE_TEXT[8]),
    ]:
        assert "<" not in md.replace("<!--", "")  # Markdown passes raw HTML through: none may be left
        targets = re.findall(r"(?<!\\)\]\(([^)]*)\)", md)
        assert all(t.startswith(("https://", "data:image/")) for t in targets), targets
        assert all(line.count("|") == line.count("\\|") or line.startswith("|") for line in md.splitlines())


@pytest.mark.parametrize("name", list(PAGES))
def test_hostile_pages_run_nothing_in_chromium(name: str, open_page, tmp_path: Path) -> None:
    write, trusted = PAGES[name]
    page, log = open_page(write(tmp_path))
    if trusted:  # the map's own script ran (allowed by its hash) and drew the hostile points
        page.wait_for_selector("body[data-ready='1']")
        assert page.evaluate("() => c2cMap.n") == len(HOSTILE)
    page.hover("h1")
    page.wait_for_timeout(50)
    assert page.locator("a[href^='javascript' i], a[href^='data' i], a[href^='vbscript' i]").count() == 0
    log.assert_clean()  # no dialog from an injected alert(1), no error, no fetch
