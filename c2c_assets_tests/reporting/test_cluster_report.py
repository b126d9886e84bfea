"""The cluster report: HTML page and Dagster Markdown; the page in a real headless Chromium."""

from __future__ import annotations

import base64
import io
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from c2c_assets.reporting.cluster_report import ClusterCard, cluster_report_markdown
from c2c_assets_tests.reporting.samples import HOSTILE, HOSTILE_2, METRICS


def test_cluster_report_html_is_self_contained_and_escaped(
    report_html: Path, cards: list[ClusterCard], tmp_path: Path
) -> None:
    text = report_html.read_text(encoding="utf-8")
    for card in cards:
        assert f'id="cluster-{card.cluster_id}"' in text
        assert all(term in text for term in card.top_terms)
    # Hostile titles are text, never markup; a javascript: URL never becomes a link.
    assert "<script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x" not in text and "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in text
    assert "javascript:" not in text
    assert "https://example.com/post/5?a=1&amp;b=2" in text  # attribute escaping of &
    assert 'http-equiv="Content-Security-Policy"' in text and "default-src 'none'" in text
    # Thumbnails are inlined; nothing refers to a file or the network.
    n_thumbs = sum(1 for c in cards for p in c.nearest if p.thumbnail is not None)
    assert text.count('src="data:image/jpeg;base64,') == n_thumbs > 0
    assert not re.search(r'(src|href)="(?!data:|#|https://example\.com/)', text)
    # The metrics table formats numbers and escapes strings.
    assert "0.4123" in text and "&lt;b&gt;bold?&lt;/b&gt;" in text
    # Atomic write left no temp file; the page still works after a move (nothing relative).
    assert [p.name for p in report_html.parent.iterdir()] == ["clusters.html"]
    assert report_html.stat().st_mode & 0o777 == 0o644
    moved = shutil.move(report_html, tmp_path / "moved.html")
    assert Path(moved).read_text(encoding="utf-8") == text
    shutil.move(moved, report_html)


def test_cluster_report_markdown_is_small(cards: list[ClusterCard]) -> None:
    md = cluster_report_markdown(cards, METRICS)
    # At most 3 posts per cluster, one small thumbnail each: about 2-3 KB per post.
    # Markdown image syntax: Dagster's UI drops raw <img> HTML but renders these.
    thumbs = re.findall(r"!\[thumbnail\]\(data:image/jpeg;base64,([A-Za-z0-9+/=]+)\)", md)
    assert 0 < len(thumbs) <= 3 * len(cards)
    assert len(md.encode()) < 3 * len(cards) * 3_000 + 2_000, len(md.encode())
    for b64 in thumbs:
        with Image.open(io.BytesIO(base64.b64decode(b64))) as im:
            assert max(im.size) <= 64 and im.format == "JPEG"
    for card in cards:
        assert f"Cluster {card.cluster_id} · {card.size} posts" in md
    # Hostile text: HTML-escaped (Markdown passes raw HTML through), links only for http(s).
    assert "<script" not in md and "<img" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "javascript:" not in md
    assert "(https://example.com/post/" in md
    assert "| silhouette | 0.4123 |" in md


def test_cluster_report_in_chromium(open_page, report_html: Path, cards: list[ClusterCard]) -> None:
    page, log = open_page(report_html)
    assert page.locator("section.cluster").count() == len(cards)
    for card in cards:
        section = page.locator(f"section#cluster-{card.cluster_id}")
        assert section.locator("figure.post").count() == len(card.nearest)
        assert section.locator(".term").all_inner_texts() == card.top_terms
    assert page.locator("#metrics tr").count() == len(METRICS)
    # The hostile titles are on the page as text, and nothing ran.
    assert page.get_by_text(HOSTILE, exact=True).count() == 1
    assert page.get_by_text(HOSTILE_2, exact=True).count() == 1
    assert page.locator("script").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    # Every inlined thumbnail decoded.
    widths = page.eval_on_selector_all("figure.post img", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
    assert widths and all(w and w > 0 for w in widths)
    log.assert_clean()


def test_browser_log_catches_what_the_page_tests_rely_on(open_page, tmp_path: Path) -> None:
    # Guards the assert_clean() calls of the page tests against passing vacuously.
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!doctype html><title>bad</title><img src='https://cdn.example.invalid/x.png'>"
        "<script>alert('hi'); console.error('oops'); setTimeout(() => { throw new Error('boom'); });</script>",
        encoding="utf-8",
    )
    page, log = open_page(bad)
    page.wait_for_timeout(100)
    assert log.dialogs == ["alert: hi"]
    assert any("oops" in e for e in log.console_errors)
    assert any("boom" in e for e in log.page_errors)
    assert log.external_requests == ["https://cdn.example.invalid/x.png"]
    with pytest.raises(AssertionError, match="not clean"):
        log.assert_clean()


def test_cluster_report_cards_show_the_posts_attributes(tmp_path: Path) -> None:
    """A nearest post's attributes (post_attributes, one line) are on its card, escaped like the title."""
    from c2c_assets.attributes.extract import describe
    from c2c_assets.reporting.cluster_report import NearestPost, write_cluster_report_html

    line = describe({"tire_sizes": ["265/70r17"], "part_numbers": ["<b>x</b>"], "models": ["honda civic"], "year_min": 2016, "year_max": 2018})
    assert line == "265/70r17 · #<b>x</b> · fits 2016-2018 honda civic"
    card = ClusterCard(cluster_id=0, size=1, multi_image_share=0.0,
                       nearest=[NearestPost("p1", "Llantas", 10.0, None, None, 0.1, attributes=line)])
    page = tmp_path / "clusters.html"
    write_cluster_report_html(page, encoder="e", method="kmeans", cards=[card], metrics={})
    text = page.read_text(encoding="utf-8")
    assert "265/70r17 · #&lt;b&gt;x&lt;/b&gt; · fits 2016-2018 honda civic" in text and "<b>x</b>" not in text
