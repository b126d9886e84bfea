"""Precision, recall and F1 of the quality tables against the sample's planted labels (``labels_quality.csv``,
``c2c_assets.sample.planted_duplicates``): the tests and ``bench/quality_bench.py`` share it.

- photo near-duplicates: pairs of photo references (post, position) in one planted set vs in one photo group;
- reposts: pairs of listings in one planted repost vs in one repost group, split by same site / across sites;
- stock photos and each flag: the listings labelled vs the listings flagged.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from itertools import combinations
from pathlib import Path

from c2c_assets.home import C2cHome
from c2c_assets.quality.lake_io import current_photos_sql, fetch, read

FLAG_KINDS = ("photo_blurry", "photo_dark", "photo_bright", "photo_tiny", "phone_only", "boilerplate_only", "empty_text", "placeholder_price", "stock_photo")


def read_labels(inbox: Path) -> list[dict[str, str]]:
    with open(inbox / "labels_quality.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _priced_placeholders(inbox: Path) -> set[str]:
    """The placeholder prices the sample's price model planted (``labels_prices.csv``), beside this domain's own."""
    path = inbox / "labels_prices.csv"
    if not path.exists():
        return set()
    with open(path, newline="") as handle:
        return {r["post_id"] for r in csv.DictReader(handle) if r["placeholder"] == "1"}


def _junk_texts(home: C2cHome, inbox: Path) -> set[str]:
    """Posts the realistic sample wrote with a junk title and a junk description and no phone number
    (``labels_realism.csv``'s ``noisy_text``): boilerplate only, though the quality planting did not plant them."""
    path = inbox / "labels_realism.csv"
    if not path.exists():
        return set()
    with open(path, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("noisy_text") == "1"]
    titles = _titles(home)
    return {r["post_id"] for r in rows if not any(ch.isdigit() for ch in titles.get(r["post_id"], ""))}


def _titles(home: C2cHome) -> dict[str, str]:
    """post_id -> title of each current post, as ingested (the ``posts`` view's rows, read from the lake)."""
    from c2c_assets.ingest.views import current_posts_sql

    sql = current_posts_sql(home, "post_id, coalesce(title, '') AS title")
    if sql is None:
        return {}
    table = fetch(home, sql)
    return dict(zip(table.column("post_id").to_pylist(), table.column("title").to_pylist(), strict=True))


def prf(predicted: set, truth: set) -> dict[str, float | int]:
    hit = len(predicted & truth)
    precision = hit / len(predicted) if predicted else 1.0
    recall = hit / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "predicted": len(predicted), "truth": len(truth)}


def _pairs(groups: dict[str, list]) -> set[tuple]:
    return {tuple(sorted(pair)) for members in groups.values() for pair in combinations(sorted(set(members)), 2)}


def evaluate(home: C2cHome, inbox: Path, encoder: str = "default") -> dict[str, dict[str, float | int]]:
    labels = read_labels(inbox)
    out: dict[str, dict[str, float | int]] = {}
    # Photo near-duplicates, over photo references.
    photos = fetch(home, f"SELECT post_id, position, sha256 FROM ({current_photos_sql(home)})").to_pylist()
    groups = read(home, "photo_groups", columns=["group_id", "sha256"])
    group_of = dict(zip(groups.column("sha256").to_pylist(), groups.column("group_id").to_pylist(), strict=True))
    predicted_sets: dict[str, list] = defaultdict(list)
    for row in photos:
        predicted_sets[group_of[row["sha256"]]].append((row["post_id"], row["position"]))
    truth_sets: dict[str, list] = defaultdict(list)
    for row in labels:
        if row["kind"] == "photo_duplicate":
            truth_sets[row["group"]].append((row["post_id"], int(row["position"])))
    cross_post = lambda pairs: {p for p in pairs if p[0][0] != p[1][0]}  # noqa: E731 - photos of one post are not copies
    out["photo_near_duplicates"] = prf(cross_post(_pairs(predicted_sets)), cross_post(_pairs(truth_sets)))
    # Reposts, over listing pairs.
    reposts = read(home, "repost_groups", encoder, ["group_id", "post_id"])
    predicted_groups: dict[str, list] = defaultdict(list)
    for gid, pid in zip(reposts.column("group_id").to_pylist(), reposts.column("post_id").to_pylist(), strict=True):
        predicted_groups[gid].append(pid)
    predicted = _pairs(predicted_groups)
    site = lambda pid: pid.split(":", 1)[0]  # noqa: E731
    for kind, across in (("repost_same_site", False), ("repost_cross_site", True)):
        truth = _pairs(_members(labels, kind))
        out[kind] = prf({p for p in predicted if (site(p[0]) != site(p[1])) == across}, truth)
    out["reposts"] = prf(predicted, _pairs(_members(labels, "repost_same_site") | _members(labels, "repost_cross_site")))
    # Stock photos and flags, over listings.
    flags = read(home, "post_flags", columns=["post_id", "flag"])
    flagged: dict[str, set[str]] = defaultdict(set)
    for pid, flag in zip(flags.column("post_id").to_pylist(), flags.column("flag").to_pylist(), strict=True):
        flagged[flag].add(pid)
    for kind in FLAG_KINDS:
        truth = {r["post_id"] for r in labels if r["kind"] == kind}
        if kind == "placeholder_price":
            truth |= _priced_placeholders(inbox)
        elif kind == "boilerplate_only":
            truth |= _junk_texts(home, inbox)
        out[kind] = prf(flagged.get(kind, set()), truth)
    return out


def _members(labels: list[dict[str, str]], kind: str) -> dict[str, list]:
    groups: dict[str, list] = defaultdict(list)
    for row in labels:
        if row["kind"] == kind:
            groups[row["group"]].append(row["post_id"])
    return dict(groups)
