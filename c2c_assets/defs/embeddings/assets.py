"""Embedding assets: every post of a scrape date, embedded by one encoder, in the `gpu` pool."""

from datetime import date
from typing import Any

import dagster as dg

from c2c_assets import catalog
from c2c_assets.defs.chunked import chunked_asset
from c2c_assets.defs.embeddings.partitions import date_encoder, embed_dates_in_chunks, same_date
from c2c_assets.defs.resources import C2cResource
from c2c_assets.defs.settings import settings_of
from c2c_assets.embeddings.embed import EmbedSummary, embed_date
from c2c_assets.embeddings.store import VIEWS
from c2c_assets.encoders import create_encoder
from c2c_assets.encoders.base import RuntimeSettings
from c2c_assets.image_to_text.thin_text import find_predictor
from c2c_assets.progress import reporter

OWNER = "team:c2c-ml"


class EmbedConfig(dg.Config, RuntimeSettings):
    """How to run the encoder: the fields of ``RuntimeSettings`` (declared once in
    ``c2c_assets.encoders.base``; none of them changes the vectors beyond floating-point noise), and
    whether thin-text posts get their text vector predicted from their photos."""

    # With a trained image_to_text_models checkpoint in this encoder's text space: posts with photos whose
    # title + description are shorter than thin_text_chars get a predicted text vector (flagged text_predicted).
    predict_thin_text: bool = True
    thin_text_chars: int = 20

    def runtime(self) -> RuntimeSettings:
        return settings_of(self, RuntimeSettings)


@chunked_asset(
    partitions_def=date_encoder,
    deps=[
        dg.AssetDep("posts", partition_mapping=same_date),
        dg.AssetDep("post_images", partition_mapping=same_date),
        # Optional: a trained checkpoint, where there is one, predicts the text vectors of thin-text posts.
        dg.AssetDep("image_to_text_models", partition_mapping=dg.AllPartitionMapping()),
    ],
    pool="gpu",
    backfill_policy=embed_dates_in_chunks,
    group_name="embeddings",
    kinds={"pytorch", "parquet"},
    owners=[OWNER],
    description="One unit vector per post of a scrape date, per encoder (`date` x `encoder` partitions), plus "
    "per-modality vectors where the encoder has them. Incremental: posts whose content_hash and the encoder "
    "fingerprint are unchanged keep their vectors. Posts with photos but (almost) no text get a text vector "
    "predicted from their photos by `image_to_text_models` when it is trained for the encoder's text space "
    "(`text_predicted`). A backfill runs up to 30 dates per run (the model loads once). DuckDB view `embeddings`.",
)
def post_embeddings(context: dg.AssetExecutionContext, config: EmbedConfig, c2c: C2cResource):

    home = c2c.paths()
    runtime = config.runtime()
    # One (date, encoder) partition, or every one of a backfill's range (dates x one encoder).
    keys = [date_encoder.get_partition_key_from_str(str(key)) for key in context.partition_keys]
    loaded: dict[str, tuple[Any, Any]] = {}  # encoder name -> (encoder, thin-text predictor): loaded once per run
    failures: dict[str, str] = {}
    for key in keys:
        dims = key.keys_by_dimension
        try:
            if dims["encoder"] not in loaded:
                encoder = create_encoder(dims["encoder"], runtime, home=home.root)
                predictor = find_predictor(home, encoder, runtime, config.thin_text_chars) if config.predict_thin_text else None
                loaded[dims["encoder"]] = (encoder, predictor)
            encoder, predictor = loaded[dims["encoder"]]
            summary = embed_date(
                home, date.fromisoformat(dims["date"]), encoder,
                progress=reporter(f"embed {dims['encoder']} {dims['date']}", context.log.info),
                log=context.log.info, predictor=predictor,
            )
        except Exception as error:  # the other dates of the run still go in; the run fails naming this one
            if len(keys) == 1:
                raise
            failures[str(key)] = f"{type(error).__name__}: {error}"
            context.log.error(f"{key}: {failures[str(key)]}")
            continue
        context.add_asset_metadata(_partition_metadata(encoder, summary), partition_key=str(key))
    # Once per run, not per date: the views read every partition through globs.
    catalog.refresh(home, VIEWS)
    if failures:
        raise dg.Failure(
            f"{len(failures)} of {len(keys)} partitions failed: " + "; ".join(f"{k}: {m}" for k, m in failures.items()),
            metadata={"failed_partitions": dg.MetadataValue.json(failures)},
        )
    return dg.MaterializeResult(metadata={"partitions_in_run": len(keys)})


def _partition_metadata(encoder: Any, summary: EmbedSummary) -> dict[str, Any]:
    rate = summary.embedded / summary.seconds if summary.seconds else 0.0
    return {
        "dagster/row_count": summary.embedded + summary.carried_over,
        "embedded": summary.embedded,
        "carried_over": summary.carried_over,
        "not_embeddable": dg.MetadataValue.int(summary.not_embeddable),
        "text_predicted": dg.MetadataValue.int(summary.text_predicted),
        "text_predictor": summary.predictor or "none",
        "posts_per_second": round(rate, 1),
        "encoder": dg.MetadataValue.json(encoder.describe()),
        "fingerprint": summary.fingerprint,
        "path": dg.MetadataValue.path(str(summary.path)),
    }


# On Kubernetes (K8sRunLauncher) embedding runs ask for a GPU node. Set on the job, not the asset:
# per-asset k8s config is ignored by backfill runs upstream (dagster#22865). Other launchers ignore it.
GPU_RUN_TAGS = {
    "dagster-k8s/config": {
        "container_config": {
            "resources": {
                "requests": {"cpu": "4", "memory": "24Gi", "nvidia.com/gpu": "1"},
                "limits": {"memory": "32Gi", "nvidia.com/gpu": "1"},
            }
        },
        "pod_spec_config": {
            "node_selector": {"nvidia.com/gpu.present": "true"},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        },
    }
}

embed_job = dg.define_asset_job(
    "embed_job",
    selection=dg.AssetSelection.assets(post_embeddings),
    description="Embed one scrape date with one encoder.",
    run_tags=GPU_RUN_TAGS,
)
