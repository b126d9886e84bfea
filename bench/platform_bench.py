"""The whole platform at scale, through the code paths `c2c` uses, against the issue-13 targets.

    python bench/platform_bench.py [--posts 1200000] [--days 365] [--width 768] [--photos 0.0]
                                   [--encoder NAME] [--backfill-days 30] [--home DIR] [--keep]

What it does, each stage in its own child process (its peak RSS is that child's own, read with
``os.wait4``), against one fresh home:

1. ``inbox`` (setup, not timed against a target): a contract-conformant inbox of ``--posts`` listings
   over ``--days`` daily dumps per source (craigslist and offerup formats, text only; ~3% of listings
   re-listed on a later date, same id, sometimes a new price; ``--photos F`` gives a fraction F of the
   listings one small JPEG), ``labels.csv`` (known categories) and the nightly day's dumps.
2. ``ingest``: ``ingest_dumps`` + its three checks through ``batches.ingest_dates``, as ``c2c ingest``
   does: consecutive dates in one run over their range (100 dates per run), each date materialized and
   checked on its own (the per-run Dagster overhead is measured from the run's step events).
   Every line must be accepted: a quarantined line fails the bench.
3. ``vectors`` (setup): vectors of ``--width`` for a registered ``default``-family encoder config,
   written straight to the ``post_embeddings`` partitions (one row per post of each ``posts``
   partition, the encoder's real fingerprint, a 384-d ``text_vector`` for the text side that
   ``c2c search`` queries with the default's real text tower, multilingual-e5-small) from a
   low-dimensional mixture: 20 centres in 16-d (14 tied to the categories) plus 64 minor
   directions, projected to the width, plus small noise. With ``--encoder NAME`` the posts are
   embedded for real through ``post_embeddings`` instead.
4. ``index``: ``faiss_index`` (build + tuning to recall@10 >= 0.95), as ``c2c index``.
5. ``analyse``: ``analyse_encoder`` + ``cluster_report`` + ``explorer``, then ``encoder_comparison``
   (``c2c analyse`` then ``c2c report``).
6. ``sql``: ``c2c sql "SELECT count(*) FROM embeddings"`` in a subprocess (the real CLI).
7. ``search``: a cold ``c2c search "headlight assembly" --json`` in a subprocess.
8. ``nightly``: one new day (``posts / days`` new listings, ~3% of them re-listings) with 1% of the
   old listings re-scraped changed: ingest that date, ``post_embeddings`` (+ ``vectors_valid``) for
   it through the asset (unchanged posts carried over; the synthetic model's own time is measured
   and excluded), ``faiss_index``, the analysis and the comparison. Its wall time is printed against
   the full run's (ingest + index + analyse; the full run's embedding is model time, excluded).
9. ``backfill``: a new encoder (``default`` family, tiny random towers: a cheap real encoder)
   registered and materialized over the last ``--backfill-days`` dates through the runner, as
   ``c2c embed`` does; overhead per date = run wall minus the encoder's own ``embed_posts`` time.

The synthetic model (vectors stage and nightly): in the bench's child process only, the encoder
that ``post_embeddings`` and ``vectors_valid`` create for the bench encoder gets ``embed_posts`` and
``width`` replaced by the mixture above (its fingerprint is the registered config's, unchanged), so
everything around the model is the platform's own code. No package code is patched elsewhere.

Targets are the issue's, stated for 1.2M posts / 365 dates / 768-d on 2 shared cores, 24 GB. Rows
whose figures grow with the data (ingest, index, analyse, nightly) are marked ``smoke`` below that
size (under 1,000,000 posts or 300 days): the row prints the full-size target, and in brackets the
verdict against the target scaled linearly by posts (memory caps are not scaled). Per-query and
per-date targets (sql, search, backfill) are judged as PASS/MISS at every size.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from collections.abc import Callable
from typing import Any

FULL_POSTS, FULL_DAYS = 1_200_000, 365
CL_BASE, OU_BASE = 7_000_000_000, 900_000_000_000  # listing i -> pid CL_BASE + i / listingId OU_BASE + i
RELIST_SHARE, NIGHTLY_CHANGED_SHARE = 0.03, 0.01
TEXT_WIDTH = 384  # the default family's text side (multilingual-e5-small; MiniLM's was 384-d too): a text query meets it
N_CENTRES, LATENT, MINOR = 20, 16, 64
QUERY = "headlight assembly"
SYNTH = "bench-synthetic"
BACKFILL = "bench-backfill-tiny"
STAGES = ("ingest", "vectors", "index", "analyse", "sql", "search", "nightly", "backfill")
GB = 1 << 30


# --------------------------------------------------------------------------- the listings

def _mix(i: int) -> int:
    """A well-spread hash of a listing number (category, centre, wording choices)."""
    x = (i * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E5) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 31
    x = (x * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 29)


def category_index(i: int) -> int:
    from c2c_assets.sample.vocabulary import CATEGORIES

    return _mix(i) % len(CATEGORIES)


def centre_index(i: int) -> int:
    """14 centres are the categories; 30% of a category's listings sit on one of 6 shared sub-centres."""
    h = _mix(i)
    cat = h % 14
    return cat if (h >> 20) % 10 < 7 else 14 + (cat + (h >> 28)) % (N_CENTRES - 14)


def listing_of(post_id: str) -> int:
    return int(post_id.split(":", 1)[1]) % 1_000_000_000


class Wording:
    """Pools of titles and sentences per category drawn once from the sample's vocabulary (the sample
    generator itself draws photos and is too slow for a million posts)."""

    def __init__(self, seed: int, per_category: int = 300) -> None:
        from c2c_assets.sample import wording
        from c2c_assets.sample.vocabulary import CATEGORIES

        rng = random.Random(seed)
        self.titles: list[list[str]] = []
        self.sentences: list[list[str]] = []
        for category in CATEGORIES:
            titles, sentences = [], []
            for _ in range(per_category):
                ctx = wording._context(rng, rng.choice(["Waco", "Dallas", "Austin", "Houston", "Tulsa"]))
                titles.append(wording._title(rng, category, ctx))
                sentences.extend(wording._sentences(rng, category, ctx))
            self.titles.append(titles)
            self.sentences.append(sorted(set(sentences)))
        self.categories = CATEGORIES

    def text(self, rng: random.Random, i: int, version: int) -> tuple[str, str]:
        cat = category_index(i)
        title = rng.choice(self.titles[cat])
        body = " ".join(rng.sample(self.sentences[cat], min(len(self.sentences[cat]), rng.randint(2, 4))))
        body += f" Stock #{i}-{version}." if version else f" Stock #{i}."
        return title, body


def _record(source: str, i: int, title: str, body: str, price: int, rng: random.Random, scrape: date,
            photo: str | None) -> dict[str, Any]:
    if source == "craigslist":
        return {
            "pid": str(CL_BASE + i), "url": f"https://waco.craigslist.org/pts/d/{CL_BASE + i}.html", "title": title,
            "price": rng.choice([f"${price:,}", str(price), f"${price:,} obo"]), "hood": " (Waco) ",
            "datetime": f"{scrape.isoformat()}T0{rng.randint(0, 9)}:05:11-0600",
            "body": "QR Code Link to This Post\n\n" + body, "attrs": {"condition": "good"},
            "images": [photo] if photo else [],
        }
    return {
        "listingId": str(OU_BASE + i), "title": title, "price": rng.choice([f"{price:.2f}", price]),
        "description": body, "condition": "USED", "categoryName": "Auto parts", "locationName": "Dallas, TX",
        "postDate": int(time.mktime(scrape.timetuple())) * 1000,
        "photos": [{"uuid": f"u{i}", "url": None, "localPath": photo}] if photo else [],
    }


class DumpWriter:
    """One date's two dumps (craigslist, offerup), photos beside them."""

    def __init__(self, inbox: Path, scrape: date, photos: list[bytes]) -> None:
        self.folders = {s: inbox / s / scrape.isoformat() for s in ("craigslist", "offerup")}
        self.lines: dict[str, list[str]] = {s: [] for s in self.folders}
        self.photos, self.scrape = photos, scrape

    def add(self, i: int, title: str, body: str, price: int, rng: random.Random, with_photo: bool) -> None:
        source = "craigslist" if i % 2 == 0 else "offerup"
        photo = None
        if with_photo:
            photo = f"images/{i}.jpg"
            target = self.folders[source] / photo
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self.photos[_mix(i) % len(self.photos)])
        self.lines[source].append(json.dumps(_record(source, i, title, body, price, rng, self.scrape, photo)))

    def close(self) -> int:
        n = 0
        for source, lines in self.lines.items():
            folder = self.folders[source]
            folder.mkdir(parents=True, exist_ok=True)
            tmp = folder / ".posts.jsonl.tmp"  # the contract: posts.jsonl is written last, whole
            tmp.write_text("\n".join(lines) + "\n")
            tmp.replace(folder / "posts.jsonl")
            n += len(lines)
        return n


def small_photos(n: int, seed: int) -> list[bytes]:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        pixels = (rng.uniform(40, 220, 3) + rng.normal(0, 18, (48, 64, 3))).clip(0, 255).astype("uint8")
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=80)
        out.append(buffer.getvalue())
    return out


def write_inbox(cfg: dict[str, Any]) -> dict[str, Any]:
    """The inbox: every listing's first scrape on a uniformly drawn date, ~3% re-listed later, and the
    nightly date (new listings + 1% of the old ones changed)."""
    inbox, n, days = Path(cfg["inbox"]), cfg["posts"], cfg["days"]
    dates = [date.fromisoformat(d) for d in cfg["dates"]]
    nightly = date.fromisoformat(cfg["nightly_date"])
    rng = random.Random(cfg["seed"])
    words = Wording(cfg["seed"])
    photos = small_photos(64, cfg["seed"]) if cfg["photos"] > 0 else []
    day_of = [rng.randrange(days) for _ in range(n)]
    by_day: list[list[int]] = [[] for _ in range(days)]
    for i, d in enumerate(day_of):
        by_day[d].append(i)
    relists: dict[int, list[int]] = {}
    for i in rng.sample(range(n), int(n * RELIST_SHARE)):
        if day_of[i] < days - 1:
            relists.setdefault(rng.randrange(day_of[i] + 1, days), []).append(i)
    texts: dict[int, tuple[str, str, int]] = {}  # re-listed listings' words, kept until their re-listing
    new = max(1, round(n / days))
    nightly_relists = rng.sample(range(n), min(n, round(new * RELIST_SHARE)))  # re-scraped unchanged on the nightly day
    wanted = {i for group in relists.values() for i in group} | set(nightly_relists)
    kept: dict[int, tuple[str, str, int]] = {}
    lines = 0
    for d, scrape in enumerate(dates):
        writer = DumpWriter(inbox, scrape, photos)
        for i in by_day[d]:
            title, body = words.text(rng, i, 0)
            price = rng.randint(2, 300) * 10
            if i in wanted:
                texts[i] = kept[i] = (title, body, price)
            writer.add(i, title, body, price, rng, photos and rng.random() < cfg["photos"])
        for i in relists.get(d, []):
            title, body, price = texts.pop(i)
            price = price if rng.random() < 0.5 else max(10, price - 10 * rng.randint(1, 5))  # sometimes cheaper
            writer.add(i, title, body, price, rng, False)
        lines += writer.close()
    # The nightly day: new listings (with ~3% re-listings among them) and 1% of the old ones changed.
    writer = DumpWriter(inbox, nightly, photos)
    for j in range(new):
        i = n + j
        title, body = words.text(rng, i, 0)
        writer.add(i, title, body, rng.randint(2, 300) * 10, rng, photos and rng.random() < cfg["photos"])
    for i in nightly_relists:
        title, body, price = kept[i]
        writer.add(i, title, body, price, rng, False)
    relisted = set(nightly_relists)
    changed = [i for i in rng.sample(range(n), max(1, int(n * NIGHTLY_CHANGED_SHARE)) + len(relisted)) if i not in relisted]
    changed = changed[: max(1, int(n * NIGHTLY_CHANGED_SHARE))]
    for i in changed:
        title, body = words.text(rng, i, 1)  # new words: a new content_hash
        writer.add(i, title, body, rng.randint(2, 300) * 10, rng, False)
    nightly_lines = writer.close()
    with open(inbox / "labels.csv", "w") as out:
        out.write("post_id,source,category\n")
        for i in range(n + new):
            source = "craigslist" if i % 2 == 0 else "offerup"
            out.write(f"{source}:{(CL_BASE if i % 2 == 0 else OU_BASE) + i},{source},{words.categories[category_index(i)]}\n")
    return {"lines": lines, "relisted": sum(len(v) for v in relists.values()), "nightly_lines": nightly_lines,
            "nightly_new": new, "nightly_changed": len(changed), "nightly_relisted": len(nightly_relists)}


# --------------------------------------------------------------------------- the synthetic model

class Mixture:
    """A low-dimensional mixture: centre + spread in 16-d, plus 64 minor directions, projected to the
    width (and to the 384-d text side), plus small isotropic noise; unit vectors."""

    def __init__(self, width: int, seed: int, noise: float = 0.003, minor: float = 0.03) -> None:
        import numpy as np

        self.noise, self.minor = noise, minor

        rng = np.random.default_rng(seed)
        self.centres = rng.normal(0, 1, (N_CENTRES, LATENT)) / np.sqrt(LATENT) * 1.6
        self.project = {w: np.linalg.qr(rng.normal(0, 1, (w, LATENT + MINOR)))[0].T.astype(np.float32)
                        for w in {width, TEXT_WIDTH} if w >= LATENT + MINOR}
        for w in {width, TEXT_WIDTH} - set(self.project):
            self.project[w] = (rng.normal(0, 1, (LATENT + MINOR, w)) / np.sqrt(w)).astype(np.float32)
        self.width = width

    def vectors(self, listings: list[int], seed: int) -> tuple[Any, Any]:
        import numpy as np

        rng = np.random.default_rng(seed)
        n = len(listings)
        centre = self.centres[[centre_index(i) for i in listings]]
        latent = np.concatenate([centre + rng.normal(0, 0.35, (n, LATENT)) / np.sqrt(LATENT) * 1.6,
                                 rng.normal(0, self.minor, (n, MINOR))], axis=1).astype(np.float32)
        out = []
        for w in (self.width, TEXT_WIDTH):
            v = latent @ self.project[w] + rng.normal(0, self.noise, (n, w)).astype(np.float32)
            out.append((v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32))
        return out[0], out[1]


def install_synthetic_model(width: int, seed: int, noise: float, minor: float) -> dict[str, float]:
    """In this process only: the bench encoder made by ``post_embeddings`` / ``vectors_valid`` embeds
    with the mixture (width ``width``, text side 384-d); every encoder made there is timed (its
    ``embed_posts`` seconds add up in the returned dict: the model time)."""
    import numpy as np

    import c2c_assets.defs.embeddings.assets as asset_module
    import c2c_assets.defs.embeddings.checks as check_module
    from c2c_assets.encoders.base import TEXT, PostVectors

    mixture = Mixture(width, seed, noise, minor)
    clock = {"model_seconds": 0.0, "model_calls": 0}
    real = asset_module.create_encoder

    def create(config: Any, runtime: Any = None, home: Any = None) -> Any:
        encoder = real(config, runtime, home=home)
        name = config if isinstance(config, str) else config.name
        base = type(encoder)
        if name == SYNTH:
            def embed_posts(self: Any, posts: Any) -> Any:
                vectors, text = mixture.vectors([listing_of(p.post_id) for p in posts], int(np.random.SeedSequence().entropy % (1 << 32)))
                return PostVectors(vectors, {TEXT: text})

            cls = type("SyntheticMixture", (base,), {"width": property(lambda self: width), "embed_posts": embed_posts})
            encoder.__class__ = cls
            base = cls
        inner = base.embed_posts

        def timed(self: Any, posts: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(self, posts)
            finally:
                clock["model_seconds"] += time.perf_counter() - started
                clock["model_calls"] += 1

        encoder.__class__ = type(base.__name__, (base,), {"embed_posts": timed})
        return encoder

    asset_module.create_encoder = create
    check_module.create_encoder = create
    return clock


def blocking(failures: dict[str, str]) -> dict[str, str]:
    """The failures that leave the home unfit for the later stages: a query stage (sql, search, serve) only
    reads the home, so its failure is reported and the nightly and the backfill still run."""
    return {stage: why for stage, why in failures.items() if stage not in ("sql", "search", "serve")}


# --------------------------------------------------------------------------- stages (child side)

def _home(cfg: dict[str, Any]) -> Any:
    from c2c_assets.home import C2cHome

    return C2cHome.from_env(Path(cfg["home"])).ensure()


def _step_seconds(instance: Any, run_id: str | None) -> float:
    """Sum of the run's step durations (STEP_START to STEP_SUCCESS/FAILURE), from its event log."""
    return sum(_steps(instance, run_id).values())


def _steps(instance: Any, run_id: str | None) -> dict[str, float]:
    """Each step's duration (STEP_START to STEP_SUCCESS/FAILURE), from the run's event log."""
    if run_id is None:
        return {}
    starts: dict[str, float] = {}
    total: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in starts:
            total[event.step_key] = record.timestamp - starts.pop(event.step_key)
    return total


def _ingest(home: Any, instance: Any, inbox: Path, dates: list[str]) -> dict[str, Any]:
    """The dates through ``c2c_assets.batches.ingest_dates``, as ``c2c ingest`` runs them (consecutive dates per run)."""
    from c2c_assets.batches import ingest_dates

    runs = ingest_dates(home, inbox, [date.fromisoformat(d) for d in dates], instance=instance, tags={"c2c/launched_by": "bench"})
    walls = _run_walls(instance, runs.runs)
    steps = [_step_seconds(instance, run_id) for run_id in runs.runs]
    lines = accepted = quarantined = 0
    for meta in runs.of("posts").values():
        for dump in meta.get("summary", {}).get("dumps", []):
            lines += dump["lines"]
            accepted += dump["accepted"]
            quarantined += sum(dump["quarantined"].values())
    return {"runs": len(runs.runs), "run_seconds": walls, "step_seconds": steps, "failures": runs.failures,
            "lines": lines, "accepted": accepted, "quarantined": quarantined}


def _run_walls(instance: Any, run_ids: list[str]) -> list[float]:
    walls = []
    for run_id in run_ids:
        record = instance.get_run_record_by_id(run_id)
        walls.append((record.end_time or 0.0) - (record.start_time or 0.0))
    return walls


def _embed(home: Any, instance: Any, encoder: str, dates: list[str]) -> dict[str, Any]:
    """``post_embeddings`` + ``vectors_valid`` through ``batches.embed_dates``, as ``c2c embed`` runs them."""
    from c2c_assets.batches import embed_dates

    runs = embed_dates(home, encoder, [date.fromisoformat(d) for d in dates], instance=instance, tags={"c2c/launched_by": "bench"})
    made = runs.of("post_embeddings").values()
    return {"run_seconds": _run_walls(instance, runs.runs), "embedded": sum(m.get("embedded", 0) for m in made),
            "carried_over": sum(m.get("carried_over", 0) for m in made), "failures": runs.failures}


def _index(home: Any, instance: Any, encoder: str, incremental: bool = True) -> dict[str, Any]:
    from c2c_assets.defs.search.assets import faiss_index
    from c2c_assets.runner import materialize
    from c2c_assets.search.settings import IndexSettings

    outcome = materialize(home, [faiss_index], partition_key=encoder, config={"faiss_index": IndexSettings(incremental=incremental)},
                          instance=instance)
    meta = outcome.metadata.get("faiss_index", {})
    return {"failures": {} if outcome.success else {"faiss_index": outcome.failure}, "index_type": meta.get("index_type"),
            "recall_at_10": meta.get("recall_at_10"), "vectors": meta.get("dagster/row_count"), "table": meta.get("indexes", "")}


def _analyse(home: Any, instance: Any, encoder: str, inbox: Path) -> dict[str, Any]:
    from c2c_assets.analysis.settings import AnalysisSettings
    from c2c_assets.defs.analysis.assets import analyse_encoder, cluster_report, encoder_comparison, explorer
    from c2c_assets.runner import materialize

    settings = AnalysisSettings()
    started = time.perf_counter()
    outcome = materialize(home, [analyse_encoder, cluster_report, explorer], partition_key=encoder, instance=instance, inbox=inbox,
                          config={"analyse_encoder": settings, "explorer": settings})
    analyse_s = time.perf_counter() - started
    failures = {} if outcome.success else {"analyse": outcome.failure}
    started = time.perf_counter()
    report = materialize(home, [encoder_comparison], instance=instance, inbox=inbox)
    if not report.success:
        failures["encoder_comparison"] = report.failure
    metrics = outcome.metadata.get("clusters", {}).get("metrics", "")
    steps = {**_steps(instance, outcome.run_id), **_steps(instance, report.run_id)}
    return {"analyse_seconds": analyse_s, "report_seconds": time.perf_counter() - started, "failures": failures, "metrics": metrics,
            "steps": steps}


def stage_inbox(cfg: dict[str, Any]) -> dict[str, Any]:
    return write_inbox(cfg)


def write_another_day(cfg: dict[str, Any]) -> dict[str, Any]:
    """One more nightly day after the last one (``--again``): as many new listings as a day brings, numbered after
    every earlier one, and 1% of the first run's listings re-scraped with new words."""
    inbox, n = Path(cfg["inbox"]), cfg["posts"]
    day = date.fromisoformat(cfg["nightly_date"])
    offset = (day - date.fromisoformat(cfg["dates"][-1])).days  # 1 for the first nightly day, 2 for the next...
    rng = random.Random(f"{cfg['seed']}-again-{day}")
    words = Wording(cfg["seed"])
    new = max(1, round(n / cfg["days"]))
    writer = DumpWriter(inbox, day, [])
    first = n + new * (offset - 1)
    for i in range(first, first + new):
        title, body = words.text(rng, i, 0)
        writer.add(i, title, body, rng.randint(2, 300) * 10, rng, False)
    changed = rng.sample(range(n), max(1, int(n * NIGHTLY_CHANGED_SHARE)))
    for i in changed:
        title, body = words.text(rng, i, offset)  # words not seen before: a new content_hash
        writer.add(i, title, body, rng.randint(2, 300) * 10, rng, False)
    with open(inbox / "labels.csv", "a") as out:
        for i in range(first, first + new):
            source = "craigslist" if i % 2 == 0 else "offerup"
            out.write(f"{source}:{(CL_BASE if i % 2 == 0 else OU_BASE) + i},{source},{words.categories[category_index(i)]}\n")
    return {"nightly_lines": writer.close(), "nightly_new": new, "nightly_changed": len(changed)}


def stage_another_day(cfg: dict[str, Any]) -> dict[str, Any]:
    return write_another_day(cfg)


def stage_ingest(cfg: dict[str, Any]) -> dict[str, Any]:
    from c2c_assets.runner import dagster_instance

    home = _home(cfg)
    return _ingest(home, dagster_instance(home), Path(cfg["inbox"]), cfg["dates"])


def stage_vectors(cfg: dict[str, Any]) -> dict[str, Any]:
    """Synthetic vectors written as the asset would write them, or (``--encoder``) the real asset."""
    import pyarrow as pa

    from c2c_assets import catalog
    from c2c_assets.embeddings.store import embedding_file, embedding_schema
    from c2c_assets.encoders import create_encoder
    from c2c_assets.lake import AtomicParquetWriter, fixed_size_list, partition_file
    from c2c_assets.runner import dagster_instance, register_encoder
    from c2c_assets.storage import read_table

    home = _home(cfg)
    instance = dagster_instance(home)
    encoder = cfg["encoder"]
    if not cfg["real_encoder"]:
        from c2c_assets.encoders import EncoderConfig, save_config

        # A registered default-family config: its real fingerprint on the rows, its real text tower for queries.
        save_config(EncoderConfig(SYNTH, "default", {"image_weight": 0.0}, f"platform_bench: synthetic {cfg['width']}-d mixture vectors"), home.root)
    # The query tower's ONNX export is a one-time cache under <home>/models: made here, not in the cold search.
    create_encoder(encoder, home=home.root).embed_texts(["warm up"])
    if cfg["real_encoder"]:
        clock = install_synthetic_model(cfg["width"], cfg["seed"], cfg["noise"], cfg["minor"])
        out = _embed(home, instance, encoder, cfg["dates"])
        return {**out, **clock}
    register_encoder(instance, encoder)
    fingerprint = create_encoder(encoder, home=home.root).fingerprint()
    mixture = Mixture(cfg["width"], cfg["seed"], cfg["noise"], cfg["minor"])
    schema = embedding_schema(cfg["width"], {"text": TEXT_WIDTH})
    rows = 0
    for n, key in enumerate(cfg["dates"]):
        posts = read_table(partition_file(home.lake, "posts", {"date": key}), columns=["post_id", "scrape_date", "content_hash", "n_images"])
        ids = posts.column("post_id").to_pylist()
        vectors, text = mixture.vectors([listing_of(p) for p in ids], cfg["seed"] * 100_003 + n)
        table = pa.table({
            "post_id": ids, "scrape_date": posts.column("scrape_date").cast(pa.date32()), "content_hash": posts.column("content_hash"),
            "encoder": [encoder] * len(ids), "fingerprint": [fingerprint] * len(ids), "vector": fixed_size_list(vectors),
            "n_images": posts.column("n_images").cast(pa.int32()), "text_predicted": [False] * len(ids),
            "text_vector": fixed_size_list(text),
        }, schema=schema)
        with AtomicParquetWriter(embedding_file(home, date.fromisoformat(key), encoder), schema) as writer:
            writer.write_table(table)
        rows += len(ids)
    catalog.refresh_all(home)
    return {"rows": rows, "failures": {}}


def stage_index(cfg: dict[str, Any]) -> dict[str, Any]:
    from c2c_assets.runner import dagster_instance

    home = _home(cfg)
    # "index_incremental": false rebuilds a kept home's index from scratch (re-measuring the build after a change).
    return _index(home, dagster_instance(home), cfg["encoder"], cfg.get("index_incremental", True))


def stage_analyse(cfg: dict[str, Any]) -> dict[str, Any]:
    from c2c_assets.runner import dagster_instance

    home = _home(cfg)
    return _analyse(home, dagster_instance(home), cfg["encoder"], Path(cfg["inbox"]))


def stage_nightly(cfg: dict[str, Any]) -> dict[str, Any]:
    from c2c_assets.runner import dagster_instance

    clock = install_synthetic_model(cfg["width"], cfg["seed"] + 1, cfg["noise"], cfg["minor"])
    home = _home(cfg)
    instance = dagster_instance(home)
    parts: dict[str, float] = {}
    started = time.perf_counter()
    ingest = _ingest(home, instance, Path(cfg["inbox"]), [cfg["nightly_date"]])
    parts["ingest"] = time.perf_counter() - started
    started = time.perf_counter()
    embed = _embed(home, instance, cfg["encoder"], [cfg["nightly_date"]])
    parts["embed"] = time.perf_counter() - started
    started = time.perf_counter()
    index = _index(home, instance, cfg["encoder"])
    parts["index"] = time.perf_counter() - started
    started = time.perf_counter()
    analysis = _analyse(home, instance, cfg["encoder"], Path(cfg["inbox"]))
    parts["analyse"] = time.perf_counter() - started
    steps = {f"index: {k}": v for k, v in index.get("steps", {}).items()} | {f"analyse: {k}": v for k, v in analysis["steps"].items()}
    failures = {**ingest["failures"], **embed["failures"], **index["failures"], **analysis["failures"]}
    return {"parts": parts, "model_seconds": clock["model_seconds"], "embedded": embed["embedded"], "carried_over": embed["carried_over"],
            "lines": ingest["lines"], "quarantined": ingest["quarantined"], "failures": failures, "steps": steps}


def stage_backfill(cfg: dict[str, Any]) -> dict[str, Any]:
    from c2c_assets.encoders import EncoderConfig, PostInput, create_encoder, save_config
    from c2c_assets.runner import dagster_instance

    home = _home(cfg)
    save_config(EncoderConfig(BACKFILL, "default", {"tiny": True, "seed": 13}, "cheap real encoder for platform_bench's backfill"), home.root)
    # The tiny towers' ONNX export is a one-time cache (like the default encoder's): made before the clock starts.
    create_encoder(BACKFILL, home=home.root).embed_posts([PostInput("x:1", "warm up", "warm up")])
    clock = install_synthetic_model(cfg["width"], cfg["seed"], cfg["noise"], cfg["minor"])
    dates = cfg["dates"][-cfg["backfill_days"]:]
    out = _embed(home, dagster_instance(home), BACKFILL, dates)
    return {**out, **clock, "dates": len(dates)}


# --------------------------------------------------------------------------- the parent

def run_stage(name: str, cfg_path: Path, result_dir: Path) -> tuple[dict[str, Any], float, float]:
    """One stage in a child process: (its result, wall seconds, its own peak RSS in GB)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--_stage", name, "--_config", str(cfg_path)], stdout=sys.stderr.fileno(), env=child_env(cfg_path))
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    result_file = result_dir / f"{name}.json"
    if child.returncode != 0 or not result_file.exists():
        return {"failures": {name: f"stage process exited {child.returncode}"}}, wall, usage.ru_maxrss / (1 << 20)
    return json.loads(result_file.read_text()), wall, usage.ru_maxrss / (1 << 20)


def child_env(cfg_path: Path) -> dict[str, str]:
    cfg = json.loads(cfg_path.read_text())
    env = {k: v for k, v in os.environ.items() if k not in ("C2C_LAKE_URL", "C2C_IMAGES_URL", "C2C_INBOX")}
    env.update(C2C_HOME=cfg["home"], DAGSTER_HOME=str(Path(cfg["home"]) / "dagster"), PYTHONUNBUFFERED="1")
    return env


def print_row(stage: str, wall: float, rss: float, target: str, result: str) -> None:
    """One row of the bench's table: ``stage | wall s | peak RSS GB | target | verdict``."""
    print(f"{stage} | {wall:.2f} | {rss:.2f} | {target} | {result}", flush=True)


def nightly_row(cfg_path: Path, results: Path, full_run: float, full: bool, row: Callable[..., None]) -> dict[str, Any]:
    """Run the nightly stage and print its row against the full run; returns its failures."""
    nightly, wall, rss = run_stage("nightly", cfg_path, results)
    failures = dict(nightly.get("failures", {}))
    if nightly and not failures:
        parts = nightly["parts"]
        net = wall - nightly["model_seconds"]
        ratio = net / full_run if full_run else float("inf")
        row(f"nightly ({nightly['lines']:,} lines: {nightly['embedded']:,} embedded, {nightly['carried_over']:,} carried over)", net, rss,
            f"<= 5% of the full run ({full_run:.1f} s)",
            f"{ratio:.1%} of the full run: " + (verdict([("ratio", ratio, 0.05)]) if full else f"smoke [{verdict([('ratio', ratio, 0.05)])}]"))
        print("  nightly parts: " + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items())
              + f"; model time excluded {nightly['model_seconds']:.2f} s; process start and imports "
              f"{wall - sum(parts.values()):.1f} s")
        print("  nightly steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in nightly["steps"].items()))
        if nightly["quarantined"]:
            failures["nightly"] = f"{nightly['quarantined']} nightly lines quarantined"
    return failures


def again(home: Path) -> int:
    """One more nightly day on a kept home, against the full run recorded in its bench/walls.json."""
    results = home / "bench"
    cfg = json.loads((results / "config.json").read_text())
    walls = json.loads((results / "walls.json").read_text())
    done = sorted(json.loads(p.read_text())["nightly_date"] for p in results.glob("config*.json"))
    cfg["nightly_date"] = (date.fromisoformat(done[-1]) + timedelta(days=1)).isoformat()
    cfg_path = results / f"config-again-{cfg['nightly_date']}.json"
    cfg_path.write_text(json.dumps(cfg))
    print(f"platform bench, again: one more nightly day {cfg['nightly_date']} on {home}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    made, wall, _ = run_stage("another_day", cfg_path, results)
    if "nightly_lines" not in made:
        print(f"FAILED another_day: {made.get('failures')}")
        return 1
    print(f"setup: {made['nightly_lines']:,} lines ({made['nightly_new']:,} new, {made['nightly_changed']:,} old ones changed) in {wall:.1f} s")
    print("stage | wall s | peak RSS GB | target | PASS/MISS (by how much)")
    failures = nightly_row(cfg_path, results, walls["full_run"], walls["full"],
                           print_row)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (on shared cores the figures are upper bounds)")
    for key, message in failures.items():
        print(f"FAILED {key}: {message}", flush=True)
    return 1 if failures else 0


def run_cli(args: list[str], cfg_path: Path) -> tuple[int, str, float, float]:
    """A real ``c2c`` command in a subprocess: (exit status, stdout, wall seconds, peak RSS GB)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", "from c2c_assets.cli import app; app()", *args],
                             stdout=subprocess.PIPE, stderr=sys.stderr.fileno(), env=child_env(cfg_path), text=True)
    out = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    return os.waitstatus_to_exitcode(status), out, time.perf_counter() - started, usage.ru_maxrss / (1 << 20)


def serve_p95(home: Path, encoder: str, cfg_path: Path) -> tuple[float | None, float, str]:
    """``bench/serve_bench.py`` against this home (c2c serve in its own process, 4 clients on 127.0.0.1):
    (p95 ms, the server's peak RSS GB, its summary line), or (None, 0, why) when it failed."""
    script = Path(__file__).with_name("serve_bench.py")
    done = subprocess.run([sys.executable, str(script), "--home", str(home), "--encoder", encoder, "--queries", "400", "--baseline", "3"],
                          capture_output=True, text=True, env=child_env(cfg_path))
    line = next((s for s in done.stdout.splitlines() if s.startswith("c2c serve, 4 clients")), None)
    started = next((s for s in done.stdout.splitlines() if "server peak RSS" in s), None)
    if done.returncode != 0 or line is None or started is None:
        return None, 0.0, f"serve_bench exited {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"
    return float(line.split("p95 ", 1)[1].split(" ms", 1)[0]), float(started.rsplit("RSS ", 1)[1].split()[0]), line


def side_bytes(table: str) -> int:
    """float32 bytes of the vectors behind every index side, from faiss_index's ``indexes`` table
    (columns side, type, params, vectors, dim, ...)."""
    total = 0
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 5 and cells[3].replace(",", "").isdigit():
            total += int(cells[3].replace(",", "")) * int(cells[4]) * 4
    return total


def verdict(checks: list[tuple[str, float, float]]) -> str:
    """PASS, or MISS naming each figure over its limit and by how much."""
    over = [f"{label} {value / limit:.2f}x" for label, value, limit in checks if value > limit]
    return "PASS" if not over else "MISS (" + ", ".join(over) + ")"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=FULL_POSTS, help="distinct listings in the inbox")
    parser.add_argument("--days", type=int, default=FULL_DAYS, help="daily dumps per source")
    parser.add_argument("--width", type=int, default=768, help="width of the synthetic vectors")
    parser.add_argument("--photos", type=float, default=0.0, help="fraction of listings given one small photo")
    parser.add_argument("--encoder", default=None, help="embed for real with this (cheap) encoder instead of synthetic vectors")
    parser.add_argument("--backfill-days", type=int, default=30)
    parser.add_argument("--noise", type=float, default=0.003, help="isotropic noise per coordinate of the synthetic vectors")
    parser.add_argument("--minor", type=float, default=0.03, help="spread along the 64 minor directions of the mixture")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--home", type=Path, default=None, help="C2C home to build in (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the home afterwards")
    parser.add_argument("--again", action="store_true",
                        help="on a --home kept by an earlier run: one more nightly day (a new date), timed against that run's full run")
    parser.add_argument("--_stage", help=argparse.SUPPRESS)
    parser.add_argument("--_config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args._stage:  # child side
        cfg = json.loads(Path(args._config).read_text())
        result = globals()[f"stage_{args._stage}"](cfg)
        Path(cfg["results"], f"{args._stage}.json").write_text(json.dumps(result))
        return 0

    if args.again:
        if args.home is None or not (args.home / "bench" / "walls.json").exists():
            parser.error("--again needs --home of an earlier run kept with --keep (its bench/walls.json)")
        return again(args.home.resolve())
    if args.days < 2 or args.posts < 100:
        parser.error("give at least 100 posts and 2 days")
    home = (args.home or Path(tempfile.mkdtemp(prefix="platform-bench-"))).resolve()
    if home.exists() and any(home.iterdir()):
        parser.error(f"{home} is not empty: the bench builds a fresh home")
    home.mkdir(parents=True, exist_ok=True)
    results = home / "bench"
    results.mkdir()
    start = min(date(2025, 1, 1), date.today() - timedelta(days=args.days + 2))
    dates = [(start + timedelta(days=d)).isoformat() for d in range(args.days)]
    cfg = {
        "home": str(home), "inbox": str(home / "inbox"), "results": str(results), "posts": args.posts, "days": args.days,
        "width": args.width, "noise": args.noise, "minor": args.minor, "photos": args.photos, "seed": args.seed, "dates": dates,
        "nightly_date": (start + timedelta(days=args.days)).isoformat(), "backfill_days": min(args.backfill_days, args.days),
        "encoder": args.encoder or SYNTH, "real_encoder": args.encoder is not None,
    }
    cfg_path = results / "config.json"
    cfg_path.write_text(json.dumps(cfg))
    full = args.posts >= 1_000_000 and args.days >= 300
    scale = args.posts / FULL_POSTS
    load = os.getloadavg()[0]
    print(f"platform bench: {args.posts:,} posts over {args.days} dates x 2 sources, "
          f"{'encoder ' + args.encoder if args.encoder else f'synthetic {args.width}-d vectors (+384-d text side)'}, "
          f"photos on {args.photos:.0%}; home {home}; {os.cpu_count()} CPUs, load average {load:.1f}")
    print("targets are for 1,200,000 posts / 365 dates / 768-d; " + (
        "full size: every row is PASS/MISS" if full else
        f"below that, size-dependent rows say 'smoke' and, in brackets, the verdict against the target scaled by posts ({scale:.4f}x); "
        "memory caps are not scaled"), flush=True)
    failures: dict[str, Any] = {}

    if args.photos and not args.encoder:
        print("note: the synthetic vectors ignore the photos (they are ingested and stored for real)")
    if args.encoder:
        from c2c_assets.encoders import encoder_configs

        config = encoder_configs(home).get(args.encoder)
        if config is None or config.family != "default":
            parser.error("--encoder takes a default-family encoder (default, default-tiny, ...): the bench's text search uses its text side")

    inbox, wall, rss = run_stage("inbox", cfg_path, results)
    failures.update(inbox.get("failures", {}))
    if "lines" in inbox:
        print(f"setup: inbox of {inbox['lines']:,} lines ({inbox['relisted']:,} re-listings) in {wall:.1f} s "
              f"(nightly day: {inbox['nightly_new']:,} new, {inbox['nightly_relisted']:,} re-listed unchanged, {inbox['nightly_changed']:,} old ones changed)", flush=True)

    rows: list[tuple[str, float, float, str, str]] = []

    def row(stage: str, wall: float, rss: float, target: str, result: str) -> None:
        rows.append((stage, wall, rss, target, result))
        print_row(stage, wall, rss, target, result)

    def sized(checks: list[tuple[str, float, float]], scaled: list[tuple[str, float, float]]) -> str:
        return verdict(checks) if full else f"smoke [{verdict(scaled)}]"

    print("stage | wall s | peak RSS GB | target | PASS/MISS (by how much)")
    ingest, wall, rss = run_stage("ingest", cfg_path, results) if not failures else ({}, 0.0, 0.0)
    failures.update(ingest.get("failures", {}))
    ingest_wall = wall
    if ingest and "runs" in ingest:
        runs = ingest["run_seconds"]
        overhead = [r - s for r, s in zip(runs, ingest["step_seconds"], strict=True)]
        tenth = max(1, len(runs) // 10)
        row(f"ingest ({ingest['runs']} runs, {ingest['lines']:,} lines)", wall, rss, "<= 240 s, <= 1 GB",
            sized([("wall", wall, 240), ("rss", rss, 1.0)], [("wall", wall, 240 * scale), ("rss", rss, 1.0)]))
        print(f"  per run: {sum(runs) / len(runs):.2f} s, of which {sum(overhead) / len(overhead):.2f} s outside the steps (Dagster run "
              f"overhead; x {len(runs)} runs = {sum(overhead):.1f} s; first / last {tenth} runs: {sum(overhead[:tenth]) / tenth:.2f} / "
              f"{sum(overhead[-tenth:]) / tenth:.2f} s); accepted {ingest['accepted']:,}, quarantined {ingest['quarantined']}")
        if ingest["quarantined"]:
            failures["ingest"] = f"{ingest['quarantined']} lines quarantined: the bench's lines must all conform"

    vectors, wall, rss = run_stage("vectors", cfg_path, results) if not failures else ({}, 0.0, 0.0)
    failures.update(vectors.get("failures", {}))
    full_embed_bookkeeping = 0.0
    if vectors and not vectors.get("failures"):
        if args.encoder:
            # The runs only: the process start and the query tower's one-time ONNX export are not bookkeeping.
            full_embed_bookkeeping = max(0.0, sum(vectors["run_seconds"]) - vectors["model_seconds"])
            row(f"embed ({args.encoder}, {vectors['embedded']:,} posts)", wall, rss, "- (setup)",
                f"model {vectors['model_seconds']:.1f} s, bookkeeping {full_embed_bookkeeping:.1f} s")
        else:
            row(f"vectors (synthetic, {vectors['rows']:,} rows)", wall, rss, "- (setup)", "info")

    n_current = vector_gb = 0.0
    index, wall, rss = run_stage("index", cfg_path, results) if not failures else ({}, 0.0, 0.0)
    failures.update(index.get("failures", {}))
    index_wall = wall
    if index and not index.get("failures"):
        n_current = index["vectors"] or 0
        vector_gb = side_bytes(index["table"]) / GB  # every side's vectors (post, text, image), float32
        row(f"index ({index['index_type']}, recall@10 {index['recall_at_10']:.3f}, {n_current:,} vectors)", wall, rss,
            f"<= 480 s, RSS <= 2x vectors ({2 * vector_gb:.2f} GB)",
            sized([("wall", wall, 480), ("rss", rss, 2 * vector_gb)], [("wall", wall, 480 * scale), ("rss", rss, 2 * vector_gb)])
            + ("" if (index["recall_at_10"] or 0) >= 0.95 else f"; recall MISS ({index['recall_at_10']:.3f} < 0.95 at any size)"))
        if (index["recall_at_10"] or 0) < 0.95:
            print(f"  the tuner could not reach recall@10 0.95: {index['table'].splitlines()[2:]}")

    analyse, wall, rss = run_stage("analyse", cfg_path, results) if not failures else ({}, 0.0, 0.0)
    failures.update(analyse.get("failures", {}))
    analyse_wall = wall
    if analyse and not analyse.get("failures"):
        row("analyse (reduce, k-means, metrics, sweep, report, map + comparison)", wall, rss, "<= 360 s, <= 4 GB",
            sized([("wall", wall, 360), ("rss", rss, 4.0)], [("wall", wall, 360 * scale), ("rss", rss, 4.0)]))
        print(f"  analyse_encoder + cluster_report + explorer {analyse['analyse_seconds']:.1f} s, encoder_comparison {analyse['report_seconds']:.1f} s;"
              " steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in analyse["steps"].items()))

    if not failures:
        code, out, wall, rss = run_cli(["sql", "SELECT count(*) AS n FROM embeddings", "--json"], cfg_path)
        if code != 0:
            failures["sql"] = f"c2c sql exited {code}"
        else:
            count = json.loads(out)[0]["n"]
            row(f"sql (c2c sql count over embeddings = {count:,})", wall, rss, "<= 2 s", verdict([("wall", wall, 2.0)]))
        code, out, wall, rss = run_cli(["search", QUERY, "-e", cfg["encoder"], "-k", "10", "--json"], cfg_path)
        if code != 0:
            failures["search"] = f"c2c search exited {code}"
        else:
            try:
                hits = json.loads(out)
            except json.JSONDecodeError as error:
                hits = []
                failures["search"] = f"c2c search --json printed no JSON ({error}): {out[:300]!r}"
            row(f"search (cold c2c search, text, {len(hits)} hits)", wall, rss, "<= 3 s, <= 1.5 GB",
                verdict([("wall", wall, 3.0), ("rss", rss, 1.5)]))
        p95, server_gb, line = serve_p95(home, cfg["encoder"], cfg_path)
        if p95 is None:
            failures["serve"] = line
        else:
            # The wall column holds the p95 (s); the RSS column the server's own peak.
            row("serve (c2c serve, text queries incl. the text tower, 4 clients)", p95 / 1000, server_gb, "p95 <= 50 ms",
                f"p95 {p95:.1f} ms: " + verdict([("p95", p95, 50.0)]))
            print(f"  {line}")

    full_run = ingest_wall + full_embed_bookkeeping + index_wall + analyse_wall
    (results / "walls.json").write_text(json.dumps({"full_run": full_run, "full": full}))
    if not blocking(failures):
        failures.update(nightly_row(cfg_path, results, full_run, full, row))

    backfill, wall, rss = run_stage("backfill", cfg_path, results) if not blocking(failures) else ({}, 0.0, 0.0)
    failures.update(backfill.get("failures", {}))
    if backfill and not backfill.get("failures"):
        runs = backfill["run_seconds"]
        per_date = (sum(runs) - backfill["model_seconds"]) / backfill["dates"]
        row(f"backfill ({backfill['dates']} dates, {BACKFILL}, {backfill['embedded']:,} embedded)", wall, rss,
            "overhead beyond model time <= 2 s/date",
            f"{per_date:.2f} s/date: " + verdict([("overhead", per_date, 2.0)]))
        print(f"  runs {sum(runs):.1f} s, model {backfill['model_seconds']:.1f} s; process start, imports and the "
              f"ONNX warm-up {wall - sum(runs):.1f} s (not counted)")

    print(f"load average at the end: {os.getloadavg()[0]:.1f} (on shared cores the figures are upper bounds)")
    for key, message in failures.items():
        print(f"FAILED {key}: {message}", flush=True)
    if not args.keep and args.home is None:
        shutil.rmtree(home, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
