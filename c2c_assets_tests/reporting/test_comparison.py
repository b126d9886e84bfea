"""The encoder comparison (and width sweep) page and Markdown; the page in a real headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

from c2c_assets.reporting.comparison import comparison_markdown, write_comparison_html
from c2c_assets_tests.reporting.samples import ROWS


def test_comparison_highlights_the_best_value_per_column(comparison_html: Path) -> None:
    text = comparison_html.read_text(encoding="utf-8")
    best = re.findall(r'<td class="num best">([^<]*)</td>', text)
    # silhouette: higher is better; davies_bouldin and embed_seconds: lower; n_clusters: a count, no best.
    assert sorted(best) == sorted(["0.3800", "1.100", "95"])  # one number of decimals per column
    assert "2,311" in text and "1.420" in text and "&lt;b&gt;imagebind&lt;/b&gt;" in text
    assert "Encoders &lt;compared&gt;" in text and "3 encoders ·" in text
    assert 'http-equiv="Content-Security-Policy"' in text and "<script" not in text
    md = comparison_markdown(ROWS)
    lines = md.strip().splitlines()
    assert len(lines) == 2 + len(ROWS)
    assert lines[0] == "| encoder | silhouette ↑ | davies\\_bouldin ↓ | n\\_clusters | embed\\_seconds ↓ |"
    assert lines[3] == "| minilm+effnet | **0.3800** | **1.100** | 20 | **95** |"
    assert "&lt;b&gt;imagebind&lt;/b&gt;" in md
    custom = comparison_markdown(ROWS, better={"silhouette": "lower", "embed_seconds": "none"})
    assert "**0.3100**" in custom and "**95**" not in custom
    assert comparison_markdown([]) == "_No encoders to compare._\n"


def test_width_sweep_is_the_same_table_with_other_rows(tmp_path: Path) -> None:
    rows = [{"width": w, "silhouette": 0.1 + w / 1000, "seconds": 100 / w} for w in (8, 32, 128)]
    path = write_comparison_html(tmp_path / "width_sweep.html", rows, "Width sweep", better={"width": "none"},
                                 row_noun="widths")  # fmt: skip
    text = path.read_text(encoding="utf-8")
    assert "3 widths ·" in text
    assert sorted(re.findall(r'<td class="num best">([^<]*)</td>', text)) == [
        "0.2280",
        "0.78",
    ]  # seconds: 12.50 is the widest
    assert '<th scope="col" class="num">width</th>' in text  # "none": no arrow, no hint


def test_comparison_in_chromium(open_page, comparison_html: Path) -> None:
    page, log = open_page(comparison_html)
    assert page.locator("table.comparison tbody tr").count() == len(ROWS)
    assert page.locator("table.comparison thead th").count() == len(ROWS[0])
    assert page.locator("td.best").count() == 3
    assert page.get_by_text("<b>imagebind</b>", exact=True).count() == 1
    bg = page.eval_on_selector("td.best", "td => getComputedStyle(td).backgroundColor")
    assert bg not in ("rgba(0, 0, 0, 0)", "transparent")
    log.assert_clean()
