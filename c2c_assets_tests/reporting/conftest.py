"""Module-scoped inputs and pages for the reporting tests (built once per test module), and the
headless Chromium fixtures (``browser`` is module-scoped: one Chromium per test module)."""

from __future__ import annotations

from pathlib import Path

import pytest

from c2c_assets.reporting.cluster_report import ClusterCard, write_cluster_report_html
from c2c_assets.reporting.comparison import write_comparison_html
from c2c_assets_tests.browser import browser, open_page  # noqa: F401  (pytest fixtures for every module here)
from c2c_assets_tests.reporting.samples import METRICS, ROWS, make_cards, make_posts


@pytest.fixture(scope="module")
def posts(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return make_posts(tmp_path_factory.mktemp("thumbs"))


@pytest.fixture(scope="module")
def cards(posts: dict) -> list[ClusterCard]:
    return make_cards(posts)


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory, cards: list[ClusterCard]) -> Path:
    return write_cluster_report_html(
        tmp_path_factory.mktemp("report") / "clusters.html", encoder="minilm+effnet", cards=cards,
        metrics=METRICS, method="k-means (k=3)",
    )  # fmt: skip


@pytest.fixture(scope="module")
def comparison_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_comparison_html(tmp_path_factory.mktemp("cmp") / "encoders.html", ROWS, "Encoders <compared>")
