"""What a post is: a classifier on an encoder's post vectors, trained on the posts with a known category,
predicting a category and a confidence for every post.

Known categories are the sample's labels, else a source's own category where it is specific (OfferUp's
"Auto parts" says nothing: ``GENERIC``). Posts are split by listing group, so a listing and its reposts
never straddle train and test (that would score memory, not prediction): the group is the repost group
when one is given, else ``listing_key`` (normalized title and a coarse price bucket). Logistic regression
and k-NN are both fitted on the training groups and the one with the better validation accuracy is kept
(``model="auto"``); its accuracy and macro-F1 on the held-out test groups are the scores. The model that
predicts every post is then refitted on all labelled posts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from c2c_assets.embeddings.store import current_side
from c2c_assets.home import C2cHome
from c2c_assets.lake import partition_file, write_partition
from c2c_assets.pricing.schema import CATEGORY_METRICS_SCHEMA, PREDICTIONS_SCHEMA
from c2c_assets.pricing.settings import CategorySettings
from c2c_assets.prices import is_usable
from c2c_assets.storage import read_table
from c2c_assets.warehouse import query

# Source categories that name no kind of part.
GENERIC = {"auto parts", "vehicles", "other", "truck parts", "parts", "cars & trucks", "general"}
_MIN_LABELLED = 10
_WORD = re.compile(r"[a-z0-9]+")


def specific(truth: Mapping[str, str]) -> dict[str, str]:
    """The known categories that say what the part is."""
    return {post_id: c for post_id, c in truth.items() if c and c.strip().lower() not in GENERIC}


def listing_key(title: str | None, description: str | None, price: float | None) -> str:
    """A listing's identity across reposts without a repost grouping: its normalized title (or the start
    of its description) and its price to within a factor of two (a repost often drops the price a little)."""
    words = _WORD.findall((title or "").lower()) or _WORD.findall((description or "").lower())[:8]
    bucket = str(math.floor(math.log2(price))) if is_usable(price) else "-"
    return " ".join(words) + "|" + bucket


def _candidates(settings: CategorySettings, n_train: int) -> list[tuple[str, Any]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    models: list[tuple[str, Any]] = []
    if settings.model in ("auto", "logistic"):
        models.append(("logistic C=10", LogisticRegression(C=10.0, max_iter=2000)))
    if settings.model in ("auto", "knn"):
        k = max(1, min(10, n_train - 1))
        models.append((f"knn k={k}", KNeighborsClassifier(n_neighbors=k, weights="distance", metric="cosine")))
    return models


def _fit(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    from sklearn.base import clone

    return clone(model).fit(x, y)


@dataclass
class CategoryOutcome:
    table: pa.Table
    metrics: dict[str, Any]
    reason: str | None = None  # why nothing was trained, if so


def _posts_info(home: C2cHome) -> dict[str, tuple[str | None, str | None, float | None]]:
    rows = query(home, "SELECT post_id, title, description, price_usd FROM posts")
    return {post_id: (title, description, price) for post_id, title, description, price in rows}


def _split(labelled: np.ndarray, groups: np.ndarray, y: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import GroupShuffleSplit

    splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
    train, test = next(splitter.split(labelled, y, groups))
    return labelled[train], labelled[test]


def predict_categories(home: C2cHome, encoder: str, truth: Mapping[str, str], settings: CategorySettings, *,
                       groups: Mapping[str, str] | None = None, log: Callable[[str], None] | None = None) -> CategoryOutcome:
    """Train, choose, score and predict for one encoder; written to the lake."""
    from sklearn.metrics import accuracy_score, f1_score

    side = current_side(home, encoder, "vector")
    if side is None:
        raise ValueError(f"encoder {encoder!r} has no current post vectors: materialize post_embeddings for it first")
    ids_table, x = side
    post_ids = ids_table.column("post_id").to_pylist()
    known = specific(truth)
    info = _posts_info(home)
    keys = np.asarray([
        f"group:{groups[pid]}" if groups and pid in groups else listing_key(*info.get(pid, (None, None, None)))
        for pid in post_ids
    ], dtype=object)
    y_all = np.asarray([known.get(pid) for pid in post_ids], dtype=object)
    labelled = np.flatnonzero(y_all != None)  # noqa: E711 - elementwise on an object array
    rng = np.random.default_rng(settings.seed)
    if len(labelled) > settings.max_train:
        labelled = np.sort(rng.choice(labelled, size=settings.max_train, replace=False))
    metrics: dict[str, Any] = {name: None for name in CATEGORY_METRICS_SCHEMA.names}
    grouping = "repost group" if groups else "normalized title + price bucket"
    metrics.update(encoder=encoder, grouping=grouping, n_predicted=0)
    classes = sorted(set(y_all[labelled].tolist()))
    n_groups = len(set(keys[labelled].tolist()))
    split = np.full(len(post_ids), "unlabelled", dtype=object)
    if len(labelled) < _MIN_LABELLED or len(classes) < 2 or n_groups < 4:
        reason = (f"{len(labelled)} posts with a specific known category in {len(classes)} categories and {n_groups} listing "
                  f"groups: too few to train and score a classifier (needs {_MIN_LABELLED} posts, 2 categories, 4 groups)")
        empty = PREDICTIONS_SCHEMA.empty_table()
        write_predictions(home, encoder, empty, metrics)
        return CategoryOutcome(empty, metrics, reason)

    y = y_all
    train_all, test = _split(labelled, keys[labelled], y[labelled], settings.test_share, settings.seed)
    train, validation = _split(train_all, keys[train_all], y[train_all], settings.validation_share, settings.seed + 1)
    split[train], split[validation], split[test] = "train", "validation", "test"
    scored = []
    for name, model in _candidates(settings, len(train)):
        fitted = _fit(model, x[train], y[train])
        accuracy = float(accuracy_score(y[validation], fitted.predict(x[validation]))) if len(validation) else float("nan")
        scored.append((accuracy, name, model))
        if log:
            log(f"{encoder}: {name} validation accuracy {accuracy:.4f} ({len(train)} train, {len(validation)} validation posts)")
    validation_accuracy, name, model = max(scored, key=lambda item: (np.nan_to_num(item[0], nan=-1.0), item[1].startswith("logistic")))
    fitted = _fit(model, x[train_all], y[train_all])
    predicted_test = fitted.predict(x[test])
    metrics.update(
        model=name, validation_accuracy=validation_accuracy,
        accuracy=float(accuracy_score(y[test], predicted_test)),
        macro_f1=float(f1_score(y[test], predicted_test, average="macro", zero_division=0)),
        n_train=len(train_all), n_test=len(test), n_classes=len(classes),
    )
    final = _fit(model, x[labelled], y[labelled])
    probabilities = np.concatenate([final.predict_proba(x[s : s + 65_536]) for s in range(0, len(x), 65_536)])
    best = probabilities.argmax(axis=1)
    table = pa.table(
        {
            "post_id": post_ids,
            "encoder": [encoder] * len(post_ids),
            "category": np.asarray(final.classes_, dtype=object)[best].tolist(),
            "confidence": probabilities[np.arange(len(best)), best].astype(np.float32),
            "known": [known.get(pid) for pid in post_ids],
            "split": split.tolist(),
        },
        schema=PREDICTIONS_SCHEMA,
    )
    metrics["n_predicted"] = table.num_rows
    write_predictions(home, encoder, table, metrics)
    return CategoryOutcome(table, metrics)


def write_predictions(home: C2cHome, encoder: str, table: pa.Table, metrics: dict[str, Any]) -> None:
    keys = {"encoder": encoder}
    write_partition(home.lake, "predicted_categories", keys, table)
    write_partition(home.lake, "category_metrics", keys, pa.Table.from_pylist([metrics], schema=CATEGORY_METRICS_SCHEMA))


def read_category_metrics(home: C2cHome, encoder: str) -> dict[str, Any] | None:
    path = partition_file(home.lake, "category_metrics", {"encoder": encoder})
    return read_table(path).to_pylist()[0] if path.exists() else None
