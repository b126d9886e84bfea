"""The image-to-text ensemble as assets: trained models (a checkpoint) and their evaluation."""

import dagster as dg

from c2c_assets import catalog
from c2c_assets.defs.resources import C2cResource
from c2c_assets.encoders import RuntimeSettings
from c2c_assets.image_to_text.pipeline import train_and_evaluate
from c2c_assets.image_to_text.settings import ImageToTextSettings
from c2c_assets.image_to_text.views import VIEWS

OWNER = "team:c2c-ml"
configurations = dg.StaticPartitionsDefinition(["offline", "paper"])


class ImageToTextConfig(dg.Config, ImageToTextSettings):
    """The run config of image_to_text: exactly ``ImageToTextSettings`` (``c2c_assets.image_to_text.settings``)."""


@dg.multi_asset(
    name="image_to_text",
    specs=[
        dg.AssetSpec(
            "image_to_text_models",
            deps=[dg.AssetDep("posts", partition_mapping=dg.AllPartitionMapping()),
                  dg.AssetDep("post_images", partition_mapping=dg.AllPartitionMapping())],
            description="Model A (photo tower fine-tuned with a small learning rate + FC/LayerNorm head with a larger one, "
            "cosine loss, early stopping), model B (distance-weighted KNN over training posts' text embeddings) and their "
            "ensemble weight, trained on (photo, text embedding) pairs split by post. `offline`: EfficientNet-Lite0 -> "
            "multilingual-e5-small, the default's text side (real weights here); `paper`: CLIP vision -> CLIP text (needs CLIP weights).",
            group_name="image_to_text", kinds={"pytorch", "faiss"}, owners=[OWNER],
        ),
        dg.AssetSpec(
            "image_to_text_eval",
            deps=["image_to_text_models"],
            description="Mean cosine similarity to the true text embedding on the test split for model A, model B, the "
            "ensemble and a zero-shot baseline (the paper reports 0.5961 for its ensemble on 60K pairs). DuckDB view "
            "`image_to_text_eval`.",
            group_name="image_to_text", kinds={"parquet"}, owners=[OWNER],
        ),
    ],
    partitions_def=configurations,
    pool="gpu",
)
def image_to_text(context: dg.AssetExecutionContext, config: ImageToTextConfig, c2c: C2cResource):

    home = c2c.paths()
    result = train_and_evaluate(
        home, context.partition_key, tiny=config.tiny, epochs=config.epochs, photos=config.photos, seed=config.seed,
        runtime=RuntimeSettings(device=config.device), log=context.log.info,
    )
    catalog.refresh(home, VIEWS)
    table = result.table
    yield dg.MaterializeResult(
        asset_key="image_to_text_models",
        metadata={
            "checkpoint": dg.MetadataValue.path(str(result.checkpoint)),
            "pairs": result.n_pairs,
            "alpha": table.alpha,
            "epochs_run": result.epochs_run,
        },
    )
    rows = "\n".join(f"| {r.name} | {r.mean_cosine:.4f} | {r.description} |" for r in table.rows)
    yield dg.MaterializeResult(
        asset_key="image_to_text_eval",
        metadata={
            "mean_cosine": dg.MetadataValue.md(f"| model | mean cosine | |\n|---|---:|---|\n{rows}"),
            "ensemble": table["ensemble"],
            "model_a": table["model_a"],
            "model_b": table["model_b"],
            "baseline": table["baseline"],
            "test_pairs": table.n_pairs,
        },
    )
