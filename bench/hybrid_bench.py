"""Hybrid search latency: lexical (tantivy BM25) + vector (FAISS) + fusion, at N posts on this machine's cores.

    python bench/hybrid_bench.py [--posts 1000000] [--queries 500] [--dim 384]

Writes N synthetic current posts into a throwaway home's lake (titles and descriptions drawn from the
sample generator's vocabulary, with tire sizes, bolt patterns, Spanish words and part numbers mixed in),
builds the lexical index through ``build_lexical_index`` and a tuned FAISS text-side index over synthetic
384-d vectors (``search_bench.synthetic``, the production plan: HNSW at 1M), publishes both, and then times
``Searcher.query`` as ``c2c serve`` runs it (posts kept in memory, one query at a time), in hybrid mode and,
as the same-run baseline, in semantic (vector-only) mode. The text encoder is left out: each query's vector
is drawn beforehand (embedding a query is the encoder's cost, measured by ``encoder_bench.py``), so the
figures are lexical + vector + fusion + the join with the current posts. Target: hybrid p95 <= 25 ms at 1M
posts on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
TARGET_P95_MS = 25.0
SPANISH = ["llantas", "rines", "bocinas", "faros", "calaveras", "transmision", "espejo", "defensa", "asientos", "troca",
           "casi nuevas", "para", "de", "usado", "funciona", "bien", "motor", "frenos", "mofle", "cofre"]


def vocabulary_words() -> list[str]:
    """Every word of the sample generator's vocabulary (its templates with the placeholders removed)."""
    from c2c_assets.sample import vocabulary

    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.extend(re.findall(r"[A-Za-z0-9][A-Za-z0-9.\-/]*", re.sub(r"\{[^}]*\}", " ", value)))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                walk(item)

    for name in dir(vocabulary):
        if not name.startswith("__"):
            walk(getattr(vocabulary, name))
    return list(dict.fromkeys(found))


class Corpus:
    """Listing-like text: Zipf-distributed vocabulary words, and specs that recur across posts."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        words = vocabulary_words()
        self.rng.shuffle(words)
        self.words = words + SPANISH
        self.weights = [1.0 / (rank + 1) ** 0.9 for rank in range(len(self.words))]
        self.parts = [f"{self.rng.randint(10000, 99999)}-{self.rng.choice('0123456789')}{self.rng.choice('ABCEKW')}{self.rng.randint(100, 999)}"
                      for _ in range(50_000)]
        self.tires = [f"{w}/{a}R{d}" for w in (205, 215, 225, 235, 245, 265, 275, 285) for a in (40, 45, 55, 60, 65, 70, 75) for d in (15, 16, 17, 18, 20)]
        self.bolts = ["5x114.3", "6x139.7", "5x120", "8x170", "5x100", "6x135", "5x4.5", "6x5.5"]

    def draw(self, n: int) -> list[str]:
        return self.rng.choices(self.words, self.weights, k=n)

    def post(self) -> tuple[str, str]:
        rng = self.rng
        title = self.draw(rng.randint(3, 7))
        body = self.draw(rng.randint(12, 40))
        if rng.random() < 0.25:
            body.insert(rng.randrange(len(body)), rng.choice(self.tires))
        if rng.random() < 0.10:
            body.insert(rng.randrange(len(body)), rng.choice(self.bolts))
        if rng.random() < 0.15:
            title.append(rng.choice(self.parts))
        return " ".join(title), " ".join(body)

    def query(self) -> str:
        rng, kind = self.rng, self.rng.random()
        if kind < 0.15:
            return rng.choice(self.parts)
        if kind < 0.25:
            return rng.choice(self.tires) + " " + " ".join(self.draw(1))
        if kind < 0.40:
            return rng.choice(SPANISH) + " " + " ".join(self.draw(rng.randint(0, 2)))
        return " ".join(self.draw(rng.randint(1, 4)))


def write_posts(home, n: int, corpus: Corpus) -> None:
    from c2c_assets.lake import AtomicParquetWriter, partition_file

    schema = pa.schema([("post_id", pa.string()), ("source", pa.string()), ("url", pa.string()), ("title", pa.string()),
                        ("description", pa.string()), ("price_usd", pa.float64()), ("scrape_date", pa.date32()),
                        ("line_number", pa.int64()), ("content_hash", pa.string())])
    day = date(2024, 3, 1)
    with AtomicParquetWriter(partition_file(home.lake, "posts", {"date": day.isoformat()}), schema) as writer:
        for start in range(0, n, 100_000):
            rows = []
            for i in range(start, min(n, start + 100_000)):
                title, body = corpus.post()
                rows.append({"post_id": f"craigslist:{i:09d}", "source": "craigslist", "url": None, "title": title,
                             "description": body, "price_usd": float(corpus.rng.randint(10, 2000)), "scrape_date": day,
                             "line_number": i, "content_hash": f"h{i:09d}"})
            writer.write_rows(rows)


def build_vector_index(home, n: int, dim: int) -> str:
    from search_bench import synthetic

    from c2c_assets.search import index as idx
    from c2c_assets.search.build import held_out_queries

    vectors = synthetic(n, dim, seed=0)
    plan = idx.choose_plan(n, dim)
    index = idx.build(vectors, plan)
    queries = held_out_queries(vectors, 500)
    truth = idx.exact_neighbours(queries, vectors)
    del vectors
    plan, recall = idx.tune(index, plan, queries, truth)
    ids = pa.table({"post_id": [f"craigslist:{i:09d}" for i in range(n)], "content_hash": [f"h{i:09d}" for i in range(n)],
                    "text_predicted": pa.array([False] * n)})
    info = idx.BuildInfo("bench", "text", plan.kind, plan.params, n, dim, recall, 0.0, 0.0, 0, time.time())
    idx.publish(home, "bench", "text", index, ids, info)
    return f"{plan.kind} {plan.params}, recall@10 {recall:.3f}"


def percentiles(samples: list[float]) -> str:
    values = np.array(samples) * 1e3
    return (f"n={len(values)}, p50 {np.percentile(values, 50):.1f} ms, p95 {np.percentile(values, 95):.1f} ms, "
            f"p99 {np.percentile(values, 99):.1f} ms, max {values.max():.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()

    from search_bench import synthetic

    from c2c_assets import catalog
    from c2c_assets.home import C2cHome
    from c2c_assets.search.lexical import build_lexical_index
    from c2c_assets.search.service import Searcher

    corpus = Corpus()
    with tempfile.TemporaryDirectory(prefix="c2c-hybrid-bench-") as folder:
        home = C2cHome(Path(folder) / "home").ensure()
        started = time.perf_counter()
        write_posts(home, args.posts, corpus)
        catalog.refresh_all(home)
        print(f"posts: {args.posts:,} written in {time.perf_counter() - started:.1f} s; cores: {len(os.sched_getaffinity(0))}")
        started = time.perf_counter()
        build_lexical_index(home)
        print(f"lexical index: built in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        described = build_vector_index(home, args.posts, args.dim)
        print(f"vector index: {described}, built in {time.perf_counter() - started:.1f} s")

        texts = [corpus.query() for _ in range(args.queries)]
        vectors = synthetic(args.queries, args.dim, seed=1)

        class Timed(Searcher):
            """The serving path with the query's vector drawn beforehand (the encoder left out)."""

            current: np.ndarray

            def query_vector(self, encoder_name, **query):
                return "text", self.current

        searcher = Timed(home, keep_posts=True)
        searcher.current = vectors[0]
        for mode in ("semantic", "hybrid"):
            searcher.query("bench", args.k, mode=mode, text=texts[0])  # opens the indexes, reads the posts
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        times: dict[str, list[float]] = {"semantic": [], "hybrid": [], "lexical": []}
        modes_used: dict[str, int] = {}
        for text, vector in zip(texts, vectors, strict=True):
            searcher.current = vector
            for mode in times:  # interleaved: the same load on each mode
                started = time.perf_counter()
                result = searcher.query("bench", args.k, mode=mode, text=text)
                times[mode].append(time.perf_counter() - started)
                if mode == "hybrid":
                    modes_used[result.mode] = modes_used.get(result.mode, 0) + 1
        print(f"queries: {args.queries} ({', '.join(f'{n} answered {m}' for m, n in modes_used.items())}), k={args.k}, "
              f"peak RSS {rss:,.0f} MB")
        for mode in ("hybrid", "lexical", "semantic"):
            label = {"hybrid": "hybrid (lexical + vector + fusion)", "lexical": "lexical only", "semantic": "baseline: vector only"}[mode]
            print(f"{label}: {percentiles(times[mode])}")
        p95 = float(np.percentile(np.array(times["hybrid"]) * 1e3, 95))
        verdict = "PASS" if p95 <= TARGET_P95_MS else "MISS"
        print(f"target hybrid p95 <= {TARGET_P95_MS:.0f} ms at 1,000,000 posts on 2 cores: {verdict} (p95 {p95:.1f} ms at {args.posts:,} posts)")


if __name__ == "__main__":
    main()
