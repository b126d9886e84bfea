"""The search indexes: one FAISS index per encoder and side, over all current vectors."""

import dagster as dg

from c2c_assets.defs.embeddings.assets import post_embeddings
from c2c_assets.defs.embeddings.partitions import all_dates_of_encoder, encoders
from c2c_assets.defs.resources import C2cResource
from c2c_assets.ingest.summary import markdown_table
from c2c_assets.search.build import build_indexes
from c2c_assets.search.settings import IndexSettings

OWNER = "team:c2c-ml"


class IndexConfig(dg.Config, IndexSettings):
    """The run config of faiss_index: exactly ``IndexSettings`` (``c2c_assets.search.settings``)."""


@dg.asset(
    partitions_def=encoders,
    deps=[dg.AssetDep(post_embeddings, partition_mapping=all_dates_of_encoder)],
    group_name="search",
    kinds={"faiss"},
    # Rebuilt after any of the encoder's embedding partitions lands (the nightly schedule's runs included).
    automation_condition=dg.AutomationCondition.eager(),
    owners=[OWNER],
    description="FAISS indexes over an encoder's current vectors (post side, and text/image sides where the encoder "
    "has them): exact below 50K vectors, else HNSW (or IVF-PQ with re-ranking over the memory budget), tuned on "
    "held-out queries to recall@10 >= 0.95 against exact search. Replaced atomically; `c2c search` reads it. A nightly "
    "change under 10% of the rows is added to the live build (changed rows tombstoned) instead of a rebuild.",
)
def faiss_index(context: dg.AssetExecutionContext, config: IndexConfig, c2c: C2cResource) -> dg.MaterializeResult:

    encoder = context.partition_key
    infos = build_indexes(c2c.paths(), encoder, int(config.memory_budget_gb * (1 << 30)), log=context.log.info,
                          incremental=config.incremental)
    if not infos:
        raise RuntimeError(f"encoder {encoder!r} has no current vectors: materialize post_embeddings for it first")
    rows = [[i.side, i.kind, json_params(i.params), i.n, i.dim, f"{i.recall_at_10:.3f}", f"{i.build_seconds:.1f}", f"{i.queries_per_second:,.0f}", i.bytes] for i in infos]
    post = next(i for i in infos if i.side == "post")
    return dg.MaterializeResult(
        metadata={
            "indexes": dg.MetadataValue.md(markdown_table(["side", "type", "params", "vectors", "dim", "recall@10", "build s", "queries/s", "bytes"], rows)),
            "dagster/row_count": post.n,
            "index_type": post.kind,
            "recall_at_10": post.recall_at_10,
            "queries_per_second": round(post.queries_per_second, 1),
            "build_seconds": round(post.build_seconds, 2),
        }
    )


def json_params(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or "-"


@dg.asset(
    deps=[dg.AssetDep("posts", partition_mapping=dg.AllPartitionMapping())],
    group_name="search",
    kinds={"tantivy"},
    # Rebuilt after any date's posts land; one index for every encoder (it holds text only).
    automation_condition=dg.AutomationCondition.eager(),
    owners=[OWNER],
    description="BM25 index (tantivy) over every current post's title and description: sizes, bolt patterns and part "
    "numbers kept whole, accents folded, Spanish and slang synonyms (`c2c_assets/search/synonyms.toml`). Replaced "
    "atomically; `c2c search` fuses it with the vector hits (hybrid, the default for text).",
)
def lexical_index(context: dg.AssetExecutionContext, c2c: C2cResource) -> dg.MaterializeResult:
    import json

    from c2c_assets.search.lexical import build_lexical_index

    from c2c_assets import catalog

    home = c2c.paths()
    build = build_lexical_index(home, log=context.log.info)
    catalog.refresh(home, [])  # a warehouse made before post_attributes existed gains its (empty) view: searches join it
    info = json.loads((build / "build.json").read_text())
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": info["n"],
            "terms": info["terms"],
            "build_seconds": round(info["build_seconds"], 2),
            "bytes": info["bytes"],
            "path": dg.MetadataValue.path(str(build)),
        }
    )
