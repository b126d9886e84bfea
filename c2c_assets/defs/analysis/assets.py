"""Per-encoder analysis (reduce, cluster, report, map) and the encoder comparison."""

import dataclasses

import dagster as dg

from c2c_assets import catalog
from c2c_assets.analysis.pipeline import analyse, compare, load_truth, report_cards, summarise_metrics
from c2c_assets.analysis.settings import AnalysisSettings
from c2c_assets.analysis.views import VIEWS
from c2c_assets.defs.embeddings.assets import post_embeddings
from c2c_assets.defs.embeddings.partitions import all_dates_of_encoder, encoders
from c2c_assets.defs.resources import C2cResource
from c2c_assets.defs.settings import settings_of
from c2c_assets.explorer.app import cluster_link
from c2c_assets.explorer.data import cluster_label
from c2c_assets.explorer.pipeline import build_explorer
from c2c_assets.lake import partition_file
from c2c_assets.pricing.report import cluster_prices, with_pricing_columns
from c2c_assets.reporting.cluster_report import cluster_report_markdown, write_cluster_report_html
from c2c_assets.reporting.comparison import comparison_markdown, write_comparison_html
from c2c_assets.reporting.map_png import png_markdown
from c2c_assets.storage import read_table

OWNER = "team:c2c-ml"
# Columns that describe a row rather than score it: no "best" highlight.
NOT_SCORES = {"shared_posts": "none", "width": "none"}


class AnalysisConfig(dg.Config, AnalysisSettings):
    """The run config of the analysis assets: exactly ``AnalysisSettings`` (its fields, defaults, choices
    and validation), declared once in ``c2c_assets.analysis.settings``."""

    def settings(self) -> AnalysisSettings:
        return settings_of(self, AnalysisSettings)


@dg.multi_asset(
    name="analyse_encoder",
    specs=[
        dg.AssetSpec(
            "reduced",
            deps=[dg.AssetDep(post_embeddings, partition_mapping=all_dates_of_encoder)],
            description="An encoder's current vectors reduced to the analysis width (PCA, or UMAP on PCA); the "
            "width sweep 8..128 is in cluster_metrics.",
            group_name="analysis", kinds={"scikitlearn", "parquet"}, owners=[OWNER],
            automation_condition=dg.AutomationCondition.eager(),
        ),
        dg.AssetSpec(
            "clusters",
            deps=["reduced"],
            description="Cluster of every current post (FAISS k-means with k-means++ init, or HDBSCAN) and its distance "
            "to the centroid; metrics (silhouette on a seeded sample, Calinski-Harabasz, Davies-Bouldin; purity, NMI, "
            "ARI against known categories) in `cluster_metrics`. DuckDB views `clusters`, `cluster_metrics`.",
            group_name="analysis", kinds={"faiss", "parquet"}, owners=[OWNER],
            automation_condition=dg.AutomationCondition.eager(),
        ),
    ],
    partitions_def=encoders,
)
def analyse_encoder(context: dg.AssetExecutionContext, config: AnalysisConfig, c2c: C2cResource):

    home = c2c.paths()
    encoder = context.partition_key
    reduced, outcome, rows = analyse(home, encoder, config.settings(), c2c.inbox_path())
    catalog.refresh(home, VIEWS)
    final = summarise_metrics(rows[0])
    context.log.info(f"{encoder}: {len(reduced.post_ids)} posts ({reduced.update}), metrics {final}")
    yield dg.MaterializeResult(
        asset_key="reduced",
        metadata={
            "dagster/row_count": len(reduced.post_ids),
            "width": reduced.vectors.shape[1],
            "reduction": config.reduction,
            "update": reduced.update,
            "width_sweep": dg.MetadataValue.md(comparison_markdown([r for r in rows if r["kind"] == "sweep"])),
        },
    )
    sizes = {int(c): int((outcome.labels == c).sum()) for c in set(outcome.labels.tolist())}
    yield dg.MaterializeResult(
        asset_key="clusters",
        metadata={
            "dagster/row_count": len(reduced.post_ids),
            "clusters": len([c for c in sizes if c >= 0]),
            "metrics": dg.MetadataValue.md(comparison_markdown([final])),
            **{name: dg.MetadataValue.float(float(value)) for name, value in final.items() if isinstance(value, float)},
            "cluster_sizes": dg.MetadataValue.json(sizes),
        },
    )


@dg.asset(
    partitions_def=encoders,
    deps=["clusters", "price_comparables"],  # price_comparables: each cluster's price strip and flagged share
    group_name="analysis", kinds={"html"}, owners=[OWNER],
    automation_condition=dg.AutomationCondition.eager(),
    description="Per cluster: size, the 10 posts nearest the centroid (title, price, thumbnail, link), top terms "
    "(class-based TF-IDF of titles and descriptions), the share of multi-photo posts, the price distribution (median, "
    "10th-90th percentile, a strip plot) with the share of prices flagged by price_comparables, where the quality "
    "group has run the shares of reposts, stock photos and flagged posts, and a link to the explorer filtered to the "
    "cluster. HTML under reports/<encoder>/clusters.html; the same in the UI.",
)
def cluster_report(context: dg.AssetExecutionContext, c2c: C2cResource) -> dg.MaterializeResult:

    home = c2c.paths()
    encoder = context.partition_key
    strips = cluster_prices(home, encoder)  # each cluster's usable prices and the share price_comparables flagged
    cards = [
        # The explorer sits beside the report (reports/<encoder>/explorer/); the link selects the cluster there.
        dataclasses.replace(card, prices=strips.get(card.cluster_id),
                            explorer=cluster_link("explorer/index.html", cluster_label(card.cluster_id, card.top_terms)))
        for card in report_cards(home, encoder)
    ]
    rows = read_table(partition_file(home.lake, "cluster_metrics", {"encoder": encoder})).to_pylist()
    final = next(r for r in rows if r["kind"] == "final")
    metrics = summarise_metrics(final)
    method = f"{final['reduction']} to {final['width']}, {final['algorithm']}" + (f" k={final['k']}" if final["k"] else "")
    path = write_cluster_report_html(home.reports / encoder / "clusters.html", encoder=encoder, cards=cards, metrics=metrics, method=method)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(path)),
            "report_url": dg.MetadataValue.url(path.as_uri()),
            "clusters": len(cards),
            "preview": dg.MetadataValue.md(cluster_report_markdown(cards, metrics)),
        }
    )


@dg.asset(
    partitions_def=encoders,
    deps=["clusters"],
    group_name="analysis", kinds={"umap", "parquet", "html"}, owners=[OWNER],
    automation_condition=dg.AutomationCondition.eager(),
    description="Every current post on a 2-D map (UMAP fitted on a seeded sample of 70,000, the others placed from "
    "their nearest sample posts; a later run places only new and changed posts into that fit while the sample's "
    "reduced vectors are unchanged) with its cluster, the cluster's top terms as label, category, price, source, date, "
    "thumbnail and nearest neighbours: Parquet in lake/explorer/encoder=<e>/; the embedding-atlas explorer (colour, "
    "search, cross-filters, selection and its export) under reports/<encoder>/explorer/index.html; the PNG map with "
    "cluster names (and a density layer for many posts) in the UI.",
)
def explorer(context: dg.AssetExecutionContext, config: AnalysisConfig, c2c: C2cResource) -> dg.MaterializeResult:

    home = c2c.paths()
    result = build_explorer(home, context.partition_key, config.settings(), c2c.inbox_path())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": result.posts,
            "data": dg.MetadataValue.path(str(result.data)),
            "explorer": dg.MetadataValue.path(str(result.page)),
            "explorer_url": dg.MetadataValue.url(result.page.as_uri()),
            "map": dg.MetadataValue.md(png_markdown(result.png)),
            "png": dg.MetadataValue.path(str(result.png)),
            "umap_sample_size": result.sample_size,
            "umap_refitted": result.refitted,
            "posts_kept_in_place": result.kept,
            "neighbours_searched": result.neighbours_searched,
            "data_bytes": result.data_bytes,
        }
    )


@dg.asset(
    deps=["clusters", "price_comparables", "predicted_categories"],
    group_name="analysis", kinds={"html"}, owners=[OWNER],
    description="All analysed encoders side by side on the posts they share: clustering metrics, agreement with "
    "known categories, price estimation error and category accuracy (pricing), the width sweep, and the ablations (fusion weight, photos only, first photo only, structured "
    "prefix, multi-image strategy) as encoder configs. HTML under reports/comparison.html; `c2c report` prints it.",
)
def encoder_comparison(context: dg.AssetExecutionContext, config: AnalysisConfig, c2c: C2cResource) -> dg.MaterializeResult:

    home = c2c.paths()
    analysed = sorted(p.parent.name.split("=", 1)[1] for p in home.lake.glob("clusters/encoder=*/part-0.parquet"))
    rows, sweep_rows = compare(home, analysed, load_truth(home, c2c.inbox_path()), config.settings())
    rows = with_pricing_columns(home, rows)
    if not rows:
        raise RuntimeError("no encoder has clusters yet: materialize clusters for at least one encoder")
    page = write_comparison_html(home.reports / "comparison.html", rows, "Encoders compared on shared posts", better=NOT_SCORES)
    write_comparison_html(home.reports / "width_sweep.html", sweep_rows, "Width sweep (PCA, k-means)", better=NOT_SCORES)
    return dg.MaterializeResult(
        metadata={
            "comparison": dg.MetadataValue.md(comparison_markdown(rows, better=NOT_SCORES)),
            "width_sweep": dg.MetadataValue.md(comparison_markdown(sweep_rows, better=NOT_SCORES)),
            "encoders": len(rows),
            "shared_posts": rows[0]["shared_posts"],
            "report": dg.MetadataValue.path(str(page)),
        }
    )


analysis_job = dg.define_asset_job(
    "analysis_job",
    selection=dg.AssetSelection.assets("reduced", "clusters", cluster_report, explorer),
    description="Reduce, cluster, report and map (the explorer) one encoder.",
)
