"""The rendering rules: safe_url, script_json, autoescape, the one base template with the CSP."""

from __future__ import annotations


import pytest

from c2c_assets.reporting.formatting import md_link, md_text
from c2c_assets.reporting.render import (
    CSP_STATIC,
    TEMPLATES,
    environment,
    render_page,
    safe_url,
    write_page,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a?b=1&c=2#d", "https://example.com/a?b=1&c=2#d"),
        ("HTTP://Example.com", "HTTP://Example.com"),
        ("  https://example.com/x  ", "https://example.com/x"),
        ('https://example.com/a b(c)"<>', "https://example.com/a%20b%28c%29%22%3C%3E"),
        ("page.html", "page.html"),
        ("../reports/map.html#top", "../reports/map.html#top"),
        ("/reports/x.html", "/reports/x.html"),
        ("#cluster-3", "#cluster-3"),
        ("?q=brake:pads", "?q=brake:pads"),
        ("a/b:c", "a/b:c"),
    ],
)
def test_safe_url_keeps_http_and_relative_links(url: str, expected: str) -> None:
    assert safe_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        None, "", "   ", 42, "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "\tjavascript:x",
        "\njavascript:x", "\x00javascript:x", "java\tscript:x", "java\nscript:x", "javascript&colon;x",
        "javascript&#58;x", "data:text/html,<script>", "data:image/png;base64,AAAA", "vbscript:msgbox(1)",
        "file:///etc/passwd", "ftp://example.com/x", "mailto:a@b.c", "//evil.example/x", "/\\evil.example",
        "\\\\evil\\x", "https:/example.com", "https://", "http://[::1", "1x:abc", "foo:bar",
    ],
)  # fmt: skip
def test_safe_url_refuses_everything_else(url: object) -> None:
    assert safe_url(url) is None




def test_every_template_extends_the_base_and_autoescapes() -> None:
    env = environment()
    assert env.autoescape is True
    pages = sorted(p.name for p in TEMPLATES.glob("*.html.j2"))
    assert pages == ["base.html.j2", "cluster_report.html.j2", "comparison.html.j2", "explorer.html.j2", "gallery.html.j2",
                     "price.html.j2", "quality_gallery.html.j2"]
    for name in pages[1:]:
        assert (TEMPLATES / name).read_text(encoding="utf-8").count('{% extends "base.html.j2" %}') == 1, name
    html = render_page("gallery.html.j2", title="<b>x</b>", hits=[])
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>" not in html
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP_STATIC}">' in html
    assert "No results." in html




def test_write_page_is_atomic_and_readable(tmp_path) -> None:
    path = write_page(tmp_path / "sub" / "g.html", "gallery.html.j2", title="t", hits=[])
    assert path.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["g.html"]


def test_markdown_helpers() -> None:
    assert md_text("a|b *c* [d](e)\nf <g>") == "a\\|b \\*c\\* \\[d\\](e) f &lt;g&gt;"
    assert md_link("t", "https://x.example/a(b)") == "[t](https://x.example/a%28b%29)"
    assert md_link("t]x", "javascript:alert(1)") == "t\\]x"
