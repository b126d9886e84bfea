"""Maps: the PNG (and its Markdown), the interactive page; the page in a real headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from c2c_assets.reporting.map_page import write_map_html
from c2c_assets.reporting.map_png import png_markdown, write_map_png
from c2c_assets.reporting.render import TEMPLATES
from c2c_assets_tests.reporting.samples import HOSTILE, HOSTILE_INDEX


def test_map_png_has_the_expected_size(tmp_path: Path, posts: dict) -> None:
    path = write_map_png(tmp_path / "map.png", posts["coords"], posts["labels"], "UMAP of minilm")
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (1200, 900)
        # Not a blank canvas: the three cluster colours are on it.
        colours = {c for _, c in im.convert("RGB").getcolors(maxcolors=1 << 20)}
    assert {(31, 119, 180), (255, 127, 14), (44, 160, 44)} <= colours
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]  # atomic: no temp file left
    assert path.stat().st_mode & 0o777 == 0o644
    md = png_markdown(path, width=600)
    b64 = re.fullmatch(r"!\[map\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md)
    assert b64 is not None
    with Image.open(io.BytesIO(base64.b64decode(b64.group(1)))) as small:
        assert small.size == (600, 450)
    assert len(md) < 200_000
    assert png_markdown(path, alt="a [map](javascript:x)").startswith("![a \\[map\\](javascript:x)](data:image/png;")


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


def test_map_html_script_is_the_static_file_allowed_by_hash(map_html: Path) -> None:
    text = map_html.read_text(encoding="utf-8")
    script = re.search(r"<script>(.*?)</script>", text, re.DOTALL).group(1)
    assert script == (TEMPLATES / "map.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1)
    assert csp.endswith(f"script-src 'sha256-{digest}'") and "unsafe-inline'; script" not in csp
    assert "default-src 'none'" in csp


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
