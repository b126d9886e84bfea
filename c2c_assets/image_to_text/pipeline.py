"""Train and evaluate the image-to-text method on the platform's own posts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from c2c_assets.encoders import RuntimeSettings
from c2c_assets.home import C2cHome
from c2c_assets.image_to_text.backbones import build_backbone
from c2c_assets.image_to_text.config import preset
from c2c_assets.image_to_text.data import build_pairs
from c2c_assets.image_to_text.method import EvalTable, run, save_checkpoint
from c2c_assets.image_to_text.schema import EVAL_SCHEMA
from c2c_assets.image_to_text.thin_text import checkpoint_path
from c2c_assets.lake import write_partition
from c2c_assets.storage import Location
from c2c_assets.warehouse import query


@dataclass(frozen=True)
class TrainingResult:
    table: EvalTable
    checkpoint: Location
    n_pairs: int
    epochs_run: int


def platform_posts(home: C2cHome) -> list[tuple[str, str, list[Location]]]:
    """(post_id, title + description, stored photo paths) of every current post."""

    rows = query(
        home,
        """SELECT p.post_id, trim(p.title || '. ' || p.description), list(i.path ORDER BY i.position)
           FROM posts p JOIN post_images i ON i.post_id = p.post_id AND i.status = 'ok'
           GROUP BY ALL ORDER BY p.post_id""",
    )
    return [(post_id, text, [home.stored_image(path) for path in paths]) for post_id, text, paths in rows]


def train_and_evaluate(
    home: C2cHome, configuration: str, *, tiny: bool = False, epochs: int = 10, photos: str = "all", seed: int = 0,
    runtime: RuntimeSettings | None = None, log: Callable[[str], None] = lambda _: None,
) -> TrainingResult:

    config = preset(configuration, tiny=tiny, epochs=epochs, seed=seed)
    runtime = runtime or RuntimeSettings()
    backbone = build_backbone(configuration, config.backbone_options(), runtime, home.root)
    pairs = build_pairs(platform_posts(home), backbone.embed_texts, photos=photos)
    if len({p.post_id for p in pairs}) < 10:
        raise ValueError(f"only {len(pairs)} (photo, text) pairs: ingest more posts with photos and real text first")
    log(f"{configuration}: {len(pairs)} pairs from {len({p.post_id for p in pairs})} posts")
    models, table = run(pairs, config, runtime, log, home.root)
    log(str(table))
    checkpoint = save_checkpoint(models, checkpoint_path(home, configuration))
    rows = [{"configuration": configuration, "model": r.name, "mean_cosine": r.mean_cosine, "description": r.description,
             "alpha": table.alpha, "test_pairs": table.n_pairs} for r in table.rows]
    write_partition(home.lake, "image_to_text_eval", {"configuration": configuration}, pa.Table.from_pylist(rows, schema=EVAL_SCHEMA))
    epochs_run = len(getattr(models.history, "val_cosine", []) or [])
    return TrainingResult(table, checkpoint, len(pairs), epochs_run)
