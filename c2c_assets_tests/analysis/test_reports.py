"""Reports: c-TF-IDF terms, the cluster report (HTML + Markdown), maps (PNG + interactive HTML),
the encoder comparison; and the pages in a real headless Chromium."""

from __future__ import annotations

import base64
import io
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from c2c_assets.analysis.reports import (
    ClusterCard,
    NearestPost,
    cluster_report_markdown,
    comparison_markdown,
    png_markdown,
    top_terms,
    write_cluster_report_html,
    write_comparison_html,
    write_map_html,
    write_map_png,
)
from c2c_assets_tests.browser import browser, open_page  # noqa: F401  (pytest fixtures)

HOSTILE = "<script>alert(1)</script>"
HOSTILE_2 = '"><img src=x onerror=alert(2)></script><script>alert(3)</script>'
HOSTILE_PRICE = 1234.5
HOSTILE_INDEX = 0  # the post with the hostile title, isolated on the map so hover finds it alone

# ----------------------------------------------------------------------------------------------
# Inputs: 3 clusters, 30 posts, thumbnails drawn with Pillow.

CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [5.0, 9.0]])
TOPICS = {
    0: ["ceramic brake pads front", "brake rotor pads kit", "rear brake caliper pads"],
    1: ["led headlight assembly", "headlight bulb h11 led", "fog light led headlight"],
    2: ["alloy wheel rims set", "wheel tire 265/70r17", "steel wheel rim spare"],
}
COLOURS = [(200, 40, 40), (40, 160, 40), (40, 60, 200)]


def _draw_thumb(path: Path, colour: tuple[int, int, int], seed: int) -> Path:
    im = Image.new("RGB", (240, 180), (245, 245, 245))
    d = ImageDraw.Draw(im)
    d.ellipse((30 + seed % 40, 20, 200, 160), fill=colour)
    d.rectangle((10, 10, 60 + seed % 50, 50), fill=(30, 30, 30))
    im.save(path, format="JPEG", quality=90)
    return path


@pytest.fixture(scope="module")
def posts(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """30 posts: coordinates, labels, titles, prices, urls, thumbnails (every 5th has none)."""
    folder = tmp_path_factory.mktemp("thumbs")
    rng = np.random.default_rng(7)
    labels = np.repeat([0, 1, 2], 10)
    coords = CENTRES[labels] + rng.normal(scale=0.8, size=(30, 2))
    titles, prices, urls, thumbs = [], [], [], []
    for i, label in enumerate(labels.tolist()):
        titles.append(f"{TOPICS[label][i % 3]} #{i}")
        prices.append(None if i % 7 == 3 else float(20 + 7 * i))
        urls.append(f"https://example.com/post/{i}?a=1&b=2")
        thumbs.append(None if i % 5 == 4 else _draw_thumb(folder / f"{i}.jpg", COLOURS[label], i))
    # The hostile post: cluster 0, parked in the empty middle of the map, far from any other point.
    coords[HOSTILE_INDEX] = [5.0, 3.6]
    titles[HOSTILE_INDEX] = HOSTILE
    prices[HOSTILE_INDEX] = HOSTILE_PRICE
    titles[1] = HOSTILE_2
    urls[1] = "javascript:alert(4)"
    return {"coords": coords, "labels": labels, "titles": titles, "prices": prices, "urls": urls, "thumbs": thumbs}


@pytest.fixture(scope="module")
def cards(posts: dict) -> list[ClusterCard]:
    labels, coords = posts["labels"], posts["coords"]
    texts = {c: [posts["titles"][i] for i in np.flatnonzero(labels == c)] for c in range(3)}
    terms = top_terms(texts, n=5)
    out = []
    for c in range(3):
        idx = np.flatnonzero(labels == c)
        dist = np.linalg.norm(coords[idx] - CENTRES[c], axis=1)
        order = idx[np.argsort(dist)][:6]
        if c == 0:  # make sure both hostile posts are on the card
            order = np.r_[[0, 1], [i for i in order if i not in (0, 1)][:4]]
        nearest = [
            NearestPost(
                post_id=f"p{i}",
                title=posts["titles"][i],
                price_usd=posts["prices"][i],
                url=posts["urls"][i],
                thumbnail=posts["thumbs"][i],
                distance=float(np.linalg.norm(coords[i] - CENTRES[c])),
            )
            for i in order
        ]
        share = 0.1 * (c + 1)
        out.append(ClusterCard(cluster_id=c, size=len(idx), multi_image_share=share, top_terms=terms[c], nearest=nearest))
    return out


METRICS = {"silhouette": 0.41234, "davies_bouldin": 0.87, "k": 3, "n_posts": 30, "note": "<b>bold?</b>"}
ROWS = [
    {"encoder": "clip-b32", "silhouette": 0.31, "davies_bouldin": 1.42, "n_clusters": 20, "embed_seconds": 812.4},
    {"encoder": "minilm+effnet", "silhouette": 0.38, "davies_bouldin": 1.10, "n_clusters": 20, "embed_seconds": 95.0},
    {"encoder": "<b>imagebind</b>", "silhouette": 0.35, "davies_bouldin": 1.25, "n_clusters": 18,
     "embed_seconds": 2310.7},
]


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory, cards: list[ClusterCard]) -> Path:
    return write_cluster_report_html(
        tmp_path_factory.mktemp("report") / "clusters.html", encoder="minilm+effnet", cards=cards,
        metrics=METRICS, method="k-means (k=3)",
    )  # fmt: skip


@pytest.fixture(scope="module")
def map_html(tmp_path_factory: pytest.TempPathFactory, posts: dict) -> Path:
    return write_map_html(
        tmp_path_factory.mktemp("map") / "map.html", coords2d=posts["coords"], labels=posts["labels"],
        titles=posts["titles"], prices=posts["prices"], thumbnails=posts["thumbs"], title="UMAP <minilm>",
    )  # fmt: skip


@pytest.fixture(scope="module")
def comparison_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_comparison_html(tmp_path_factory.mktemp("cmp") / "encoders.html", ROWS, "Encoders <compared>")


# ----------------------------------------------------------------------------------------------
# c-TF-IDF


def test_top_terms_finds_each_clusters_topic() -> None:
    corpus = {
        0: ["used brake pads", "brake pads and rotors, used", "new brake caliper", "brake pads 2019"],
        1: ["used headlight", "LED headlight for sale", "headlight assembly left", "used LED bulb"],
        2: ["alloy wheel", "used wheel and tire 265/70r17", "wheel set of 4", "spare wheel tire"],
        3: [],
    }
    terms = top_terms(corpus, n=3)
    assert terms[0][:2] == ["brake", "pads"]
    assert terms[1][:2] == ["headlight", "led"]
    assert terms[2][:2] == ["wheel", "tire"]
    assert terms[3] == []
    # "used" is in every cluster: c-TF-IDF ranks it below each cluster's own words.
    assert all("used" not in t for t in terms.values())
    # Stop words and pure numbers are not terms.
    assert not {"and", "for", "of", "2019", "4", "265"} & {w for t in terms.values() for w in t}
    assert len(top_terms(corpus, n=1)[0]) == 1


def test_top_terms_follows_the_c_tf_idf_formula() -> None:
    # Class 0: "alpha alpha beta" (3 words), class 1: "beta gamma" (2 words); A = 2.5.
    terms = top_terms({0: ["alpha alpha", "beta"], 1: ["beta gamma"]}, n=3)
    a = 2.5
    w = {
        ("alpha", 0): 2 / 3 * math.log(1 + a / 2),
        ("beta", 0): 1 / 3 * math.log(1 + a / 2),
        ("beta", 1): 1 / 2 * math.log(1 + a / 2),
        ("gamma", 1): 1 / 2 * math.log(1 + a / 1),
    }
    assert w["alpha", 0] > w["beta", 0] and w["gamma", 1] > w["beta", 1]
    assert terms == {0: ["alpha", "beta"], 1: ["gamma", "beta"]}


def test_top_terms_with_no_usable_words() -> None:
    assert top_terms({0: ["the and of", "123 456"], 1: []}) == {0: [], 1: []}
    assert top_terms({}) == {}


# ----------------------------------------------------------------------------------------------
# Cluster report, HTML and Markdown


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
    assert "<img src=x" not in text and "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in text
    assert "javascript:" not in text
    assert "https://example.com/post/5?a=1&amp;b=2" in text  # attribute escaping of &
    # Thumbnails are inlined; nothing refers to a file or the network.
    n_thumbs = sum(1 for c in cards for p in c.nearest if p.thumbnail is not None)
    assert text.count('src="data:image/jpeg;base64,') == n_thumbs > 0
    assert not re.search(r'(src|href)="(?!data:|#|https://example\.com/)', text)
    # The metrics table formats numbers and escapes strings.
    assert "0.4123" in text and "&lt;b&gt;bold?&lt;/b&gt;" in text
    # Atomic write left no temp file; the page still works after a move (nothing relative).
    assert [p.name for p in report_html.parent.iterdir()] == ["clusters.html"]
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


# ----------------------------------------------------------------------------------------------
# Maps


def test_map_png_has_the_expected_size(tmp_path: Path, posts: dict) -> None:
    path = write_map_png(tmp_path / "map.png", posts["coords"], posts["labels"], "UMAP of minilm")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (1200, 900)
        # Not a blank canvas: the three cluster colours are on it.
        colours = {c for _, c in im.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert {(31, 119, 180), (255, 127, 14), (44, 160, 44)} <= colours
    md = png_markdown(path, width=600)
    b64 = re.fullmatch(r"!\[map\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md)
    assert b64 is not None
    with Image.open(io.BytesIO(base64.b64decode(b64.group(1)))) as small:
        assert small.size == (600, 450)
    assert len(md) < 200_000


def test_map_png_handles_noise_and_many_clusters(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(-1, 45, size=5_000)
    path = write_map_png(tmp_path / "big.png", rng.normal(size=(5_000, 2)), labels, "45 clusters")
    with Image.open(path) as im:
        assert im.size == (1200, 900)
    with pytest.raises(ValueError, match="NaN"):
        write_map_png(tmp_path / "bad.png", np.array([[0.0, np.nan]]), [0], "bad")


def test_map_html_data_cannot_break_out_of_its_script(map_html: Path, posts: dict) -> None:
    text = map_html.read_text(encoding="utf-8")
    # Exactly our two script elements; the hostile "</script>" titles are \u003c-escaped JSON.
    assert text.count("<script") == 2 and text.count("</script>") == 2
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in text
    assert "UMAP &lt;minilm&gt;" in text
    assert not re.search(r"https?://", text)  # no CDN, no network
    n_thumbs = sum(t is not None for t in posts["thumbs"])
    assert text.count("/9j/") == n_thumbs  # every JPEG's base64 starts with /9j/


def test_map_html_caps_thumbnails(tmp_path: Path, posts: dict) -> None:
    path = write_map_html(
        tmp_path / "capped.html", coords2d=posts["coords"], labels=posts["labels"], titles=posts["titles"],
        prices=posts["prices"], thumbnails=posts["thumbs"], title="capped", max_thumbnails=6,
    )  # fmt: skip
    text = path.read_text(encoding="utf-8")
    assert text.count("/9j/") == 6
    assert "(capped at 6)" in text
    # Round-robin over clusters: each of the 3 clusters got 2 of the 6.
    idx = [int(i) for i in re.search(r'"thumb_idx":\[([0-9,]*)\]', text).group(1).split(",")]
    assert sorted(np.bincount(posts["labels"][idx]).tolist()) == [2, 2, 2]
    with pytest.raises(ValueError, match="titles"):
        write_map_html(tmp_path / "x.html", coords2d=posts["coords"], labels=posts["labels"], titles=["a"],
                       prices=posts["prices"], thumbnails=posts["thumbs"], title="x")  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Comparison


def test_comparison_highlights_the_best_value_per_column(comparison_html: Path) -> None:
    text = comparison_html.read_text(encoding="utf-8")
    best = re.findall(r'<td class="num best">([^<]*)</td>', text)
    # silhouette: higher is better; davies_bouldin and embed_seconds: lower; n_clusters: a count, no best.
    assert sorted(best) == sorted(["0.3800", "1.100", "95"])  # one number of decimals per column
    assert "2,311" in text and "1.420" in text and "&lt;b&gt;imagebind&lt;/b&gt;" in text
    md = comparison_markdown(ROWS)
    lines = md.strip().splitlines()
    assert len(lines) == 2 + len(ROWS)
    assert lines[0] == "| encoder | silhouette ↑ | davies\\_bouldin ↓ | n\\_clusters | embed\\_seconds ↓ |"
    assert lines[3] == "| minilm+effnet | **0.3800** | **1.100** | 20 | **95** |"
    assert "&lt;b&gt;imagebind&lt;/b&gt;" in md
    custom = comparison_markdown(ROWS, better={"silhouette": "lower", "embed_seconds": "none"})
    assert "**0.3100**" in custom and "**95**" not in custom


# ----------------------------------------------------------------------------------------------
# In a real browser


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


def test_map_in_chromium_hover_zoom_pan(open_page, map_html: Path, posts: dict) -> None:
    page, log = open_page(map_html, viewport={"width": 1100, "height": 750})
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("canvas#map").count() == 1
    assert page.locator("#legend li").all_inner_texts() == ["cluster 0 (10)", "cluster 1 (10)", "cluster 2 (10)"]
    box = page.locator("canvas#map").bounding_box()

    def hover(i: int) -> dict:
        pt = page.evaluate("i => c2cMap.screenOf(i)", i)
        page.mouse.move(box["x"] + pt["x"], box["y"] + pt["y"])
        return pt

    # Hover: the tooltip shows that post's title (as text), price and thumbnail.
    hover(HOSTILE_INDEX)
    tip = page.locator("#tip")
    tip.wait_for(state="visible")
    assert tip.locator(".t").inner_text() == HOSTILE
    assert tip.locator(".p").inner_text() == "$1,234.50"
    assert tip.locator(".c").inner_text() == "cluster 0"
    assert page.evaluate("() => c2cMap.hovered()") == HOSTILE_INDEX
    img = tip.locator("img")
    assert img.get_attribute("src").startswith("data:image/jpeg;base64,")
    assert page.evaluate("() => document.querySelector('#tip img').naturalWidth") > 0

    # A post without a thumbnail (every 5th): the tooltip hides its image.
    hover(4)
    page.wait_for_function("() => c2cMap.hovered() === 4")
    assert tip.locator(".t").inner_text() == posts["titles"][4]
    assert not img.is_visible()

    # Wheel zoom around the cursor: scale grows, the point under the cursor stays put.
    before = page.evaluate("() => c2cMap.view()")
    at = hover(HOSTILE_INDEX)
    page.mouse.wheel(0, -400)
    page.wait_for_function("s => c2cMap.view().scale > s * 1.5", arg=before["scale"])
    after = page.evaluate("() => c2cMap.view()")
    moved_to = page.evaluate("i => c2cMap.screenOf(i)", HOSTILE_INDEX)
    assert abs(moved_to["x"] - at["x"]) < 1 and abs(moved_to["y"] - at["y"]) < 1
    assert (after["tx"], after["ty"]) != (before["tx"], before["ty"])

    # Drag pans by exactly the drag.
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 180, box["y"] + 140, steps=4)
    page.mouse.up()
    panned = page.evaluate("() => c2cMap.view()")
    assert panned["scale"] == after["scale"]
    assert panned["tx"] == pytest.approx(after["tx"] + 80) and panned["ty"] == pytest.approx(after["ty"] + 40)

    # Double-click resets; clicking a legend entry hides that cluster from hover.
    page.mouse.dblclick(box["x"] + 5, box["y"] + 5)
    assert page.evaluate("() => c2cMap.view()") == before
    page.locator("#legend li[data-label='0']").click()
    assert "off" in page.locator("#legend li[data-label='0']").get_attribute("class")
    hover(HOSTILE_INDEX)
    assert page.evaluate("() => c2cMap.hovered()") == -1 and not tip.is_visible()
    log.assert_clean()


def test_comparison_in_chromium(open_page, comparison_html: Path) -> None:
    page, log = open_page(comparison_html)
    assert page.locator("table.comparison tbody tr").count() == len(ROWS)
    assert page.locator("table.comparison thead th").count() == len(ROWS[0])
    assert page.locator("td.best").count() == 3
    assert page.get_by_text("<b>imagebind</b>", exact=True).count() == 1
    bg = page.eval_on_selector("td.best", "td => getComputedStyle(td).backgroundColor")
    assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
    log.assert_clean()


def test_browser_log_catches_what_the_page_tests_rely_on(open_page, tmp_path: Path) -> None:
    # Guards the assert_clean() calls above against passing vacuously.
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
