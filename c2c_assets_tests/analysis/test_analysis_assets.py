"""The analysis assets end to end: real Dagster runs over real embeddings of the example inbox."""

import shutil
import subprocess
import sys

import dagster as dg
import pyarrow.parquet as pq
import pytest

from c2c_assets.defs.analysis.assets import analyse_encoder, cluster_report, encoder_comparison, explorer
from c2c_assets.defs.resources import C2cResource
from c2c_assets.warehouse import query
from c2c_assets_tests.browser import browser, open_page  # noqa: F401  (pytest fixtures)
from c2c_assets_tests.explorer.browsing import (
    assert_clean, box_select, hover_card, loaded_thumbnails, map_points, open_explorer, open_served, points,
)  # fmt: skip
from c2c_assets_tests.fixtures import embed, ingest


@pytest.fixture
def embedded(home, tmp_path, examples_inbox, instance):
    inbox = tmp_path / "inbox"
    shutil.copytree(examples_inbox, inbox)
    ingest(home, inbox, instance)
    for encoder in ("clip-tiny", "vit-tiny"):
        embed(home, instance, encoder)
    return inbox


def analyse(home, inbox, instance, encoder, assets, **config):
    result = dg.materialize(
        assets,
        partition_key=encoder,
        instance=instance,
        resources={"c2c": C2cResource(home=str(home.root), inbox=str(inbox))},
        run_config={"ops": {name: {"config": {"k": 3, "width": 8, **config}} for name in ("analyse_encoder", "explorer") if any(a.node_def.name == name for a in assets)}},
    )
    assert result.success
    return {e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()} for e in result.get_asset_materialization_events()}


def test_reduce_cluster_report_and_map(home, embedded, instance, browser, open_page):
    meta = analyse(home, embedded, instance, "clip-tiny", [analyse_encoder, cluster_report, explorer])
    assert meta["reduced"]["dagster/row_count"] == 10 and meta["reduced"]["width"] == 8
    assert meta["clusters"]["clusters"] == 3 and sum(meta["clusters"]["cluster_sizes"].values()) == 10
    assert query(home, "SELECT count(*), count(DISTINCT cluster) FROM clusters WHERE encoder = 'clip-tiny'") == [(10, 3)]
    final = query(home, "SELECT silhouette, calinski_harabasz, davies_bouldin, purity, nmi, ari, n_labelled FROM cluster_metrics WHERE kind = 'final'")[0]
    assert -1 <= final[0] <= 1 and final[1] > 0 and final[2] > 0
    assert final[6] == 5 and 0 < final[3] <= 1  # the OfferUp posts carry the site's category
    widths = [row[0] for row in query(home, "SELECT width FROM cluster_metrics WHERE kind = 'sweep' ORDER BY width")]
    assert widths == [8]  # 10 posts: PCA cannot go wider than the data
    report = home.reports / "clip-tiny" / "clusters.html"
    assert report.exists() and meta["cluster_report"]["clusters"] == 3
    assert "data:image/jpeg;base64," in meta["cluster_report"]["preview"]
    assert (home.reports / "clip-tiny" / "map.png").exists() and not (home.reports / "clip-tiny" / "map.html").exists()
    assert meta["explorer"]["umap_sample_size"] == 10 and "data:image/png;base64," in meta["explorer"]["map"]
    assert meta["explorer"]["dagster/row_count"] == 10
    assert query(home, "SELECT count(*) FROM read_parquet(?)", [meta["explorer"]["data"]]) == [(10,)]
    assert meta["explorer"]["umap_refitted"] is True
    # The next run with the same reduced vectors reuses the stored fit: every post keeps its place.
    before = pq.read_table(meta["explorer"]["data"], columns=["post_id", "x", "y"])
    again = analyse(home, embedded, instance, "clip-tiny", [explorer])["explorer"]
    assert again["umap_refitted"] is False and again["posts_kept_in_place"] == 10
    assert pq.read_table(again["data"], columns=["post_id", "x", "y"]).equals(before)

    # The files people open render in a real browser, with every cluster and point, and no errors.
    page, log = open_page(report)
    assert page.locator("section.cluster").count() == 3
    assert page.locator("section.cluster figure.post").count() == 10
    log.assert_clean()

    # Each cluster links to the explorer beside the report, filtered to that cluster.
    link = page.locator("section.cluster p.explore a").first
    href = link.get_attribute("href")
    assert href.startswith("explorer/index.html#?state=") and page.locator("section.cluster p.explore a").count() == 3
    size = meta["clusters"]["cluster_sizes"][page.locator("section.cluster").first.get_attribute("data-cluster")]
    # The explorer the asset wrote, opened at the link (a fresh load: the app reads its state at start).
    filtered, flog = open_page((report.parent / "explorer" / "index.html").as_uri() + href[len("explorer/index.html"):])
    filtered.get_by_text(f"{size} / 10 points").wait_for(timeout=60_000)
    assert_clean(flog)

    # The explorer: exported by the command, opened from disk (no server), all 10 posts in its DuckDB.
    from typer.testing import CliRunner

    from c2c_assets.cli import app

    out = home.root.parent / "export"
    result = CliRunner().invoke(app, ["explore", "-e", "clip-tiny", "--export", str(out), "--home", str(home.root)])
    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file() and str(out / "index.html") in result.output
    page, log = open_explorer(open_page, out / "index.html", 10)
    assert points(page) == (10, 10)
    posts = pq.read_table(meta["explorer"]["data"], columns=["post_id", "title", "source"]).to_pylist()
    # The map draws every post (WebGL 2 here: no GPU), and hovering a point shows that post's card.
    drawn = map_points(page, at_least=10)
    assert len(drawn.centres) == 10, f"{len(drawn.centres)} points drawn, {drawn.painted} pixels"
    at: dict[str, tuple[float, float]] = {}
    for centre in drawn.centres:
        card = hover_card(page, centre)
        [post] = [p for p in posts if p["post_id"] in card.split()]
        assert post["title"] in card, card
        at[post["post_id"]] = centre
    assert len(at) == 10  # each point is a different post
    # A box on the map (shift + drag) around the posts left of the widest gap: the count and the
    # gallery follow, with exactly those posts' thumbnails.
    xs = sorted(x for x, _ in at.values())
    gap = max(range(1, 10), key=lambda i: xs[i] - xs[i - 1])
    cut = (xs[gap - 1] + xs[gap]) / 2
    chosen = {pid for pid, (x, _) in at.items() if x < cut}
    ys = [y for _, y in at.values()]
    box_select(page, (xs[0] - 15, min(ys) - 15), (cut, max(ys) + 15))
    page.get_by_text(f"{len(chosen)} / 10 points").wait_for()
    page.mouse.move(1, 1)  # off the map: no tooltip thumbnail among the gallery's
    page.get_by_title("Card view").click()
    assert loaded_thumbnails(page, len(chosen)) == len(chosen)
    for post in posts:
        expect = 1 if post["post_id"] in chosen else 0
        assert page.get_by_text(post["title"], exact=True).count() == expect, (post, chosen)
    page.get_by_title("Table view").click()
    page.get_by_title("Clear filters").click()
    page.get_by_text("10 / 10 points").wait_for()
    assert loaded_thumbnails(page, 10) == 10  # the table of posts shows each one's thumbnail
    assert page.locator("a.underline[href^='https://']").count() == 10  # each post's link (its "url" renderer)
    # Cross-filter: a click on a source in its chart; the count and the thumbnails follow.
    page.get_by_text("offerup", exact=True).last.click()
    page.get_by_text("5 / 10 points").wait_for()
    page.wait_for_function("() => document.querySelectorAll(\"img[src^='thumbs/']\").length === 5")
    assert loaded_thumbnails(page, 5) == 5
    assert_clean(log)

    # `c2c explore` serves the same on 127.0.0.1 and prints the URL.
    server = subprocess.Popen(
        [sys.executable, "-c", "from c2c_assets.cli import app; app()", "explore", "-e", "clip-tiny", "--port", "0", "--home", str(home.root)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = server.stdout.readline()
        url = line.split()[1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/index.html"), line
        page, log, context = open_served(browser, url, 10)
        assert loaded_thumbnails(page, 10) == 10
        assert_clean(log)
        context.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: what the test checked was already checked
            server.kill()
            server.wait(timeout=10)


def test_comparison_puts_encoders_side_by_side_on_shared_posts(home, embedded, instance):
    for encoder in ("clip-tiny", "vit-tiny"):
        analyse(home, embedded, instance, encoder, [analyse_encoder])
    result = dg.materialize(
        [encoder_comparison], instance=instance,
        resources={"c2c": C2cResource(home=str(home.root), inbox=str(embedded))},
        run_config={"ops": {"encoder_comparison": {"config": {"k": 3}}}},
    )
    [event] = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["encoders"] == 2 and meta["shared_posts"] == 10
    assert "clip-tiny" in meta["comparison"] and "vit-tiny" in meta["comparison"]
    assert (home.reports / "comparison.html").exists()

