"""Search index benchmark: the production plan/build/tune path on synthetic vectors.

    python bench/search_bench.py [--n 1000000] [--dim 384] [--queries 1000]

Prints, against exact search measured in the same run: recall@10, batch queries/s, single-query
p50/p99 latency, build time and peak RSS. Targets (1M x 384, 2 cores): recall >= 0.95 at
>= 1,000 queries/s, built in <= 6 minutes.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def synthetic(n: int, dim: int, seed: int, centres: int = 2000, latent: int = 48) -> np.ndarray:
    """Embedding-like unit vectors: a mixture of Gaussians in a low-dimensional latent space, mapped
    into ``dim`` dimensions, plus a little isotropic noise (real embeddings have a low intrinsic
    dimension; isotropic noise in all 384 dimensions would be a much harder, unrealistic case)."""
    rng = np.random.default_rng(0)  # the same space and centres for the indexed set and the queries
    basis = rng.normal(size=(latent, dim)).astype(np.float32) / np.sqrt(latent)
    means = rng.normal(size=(centres, latent)).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        z = means[rng.integers(0, centres, stop - start)] + 0.5 * rng.normal(size=(stop - start, latent)).astype(np.float32)
        chunk = z @ basis + 0.05 * rng.normal(size=(stop - start, dim)).astype(np.float32)
        out[start:stop] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()

    import faiss

    from c2c_assets.search import index as idx
    from c2c_assets.search.build import held_out_queries

    vectors = synthetic(args.n, args.dim, seed=0)
    # Held-out queries from the same distribution, not in the index.
    queries = synthetic(args.queries, args.dim, seed=1)[:, :]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    started = time.perf_counter()
    _, truth = faiss.knn(queries, vectors, idx.K, metric=faiss.METRIC_INNER_PRODUCT)
    exact_qps = len(queries) / (time.perf_counter() - started)

    plan = idx.choose_plan(args.n, args.dim)
    started = time.perf_counter()
    index = idx.build(vectors, plan)
    tuning = held_out_queries(vectors, 500)
    tuned, tune_recall = idx.tune(index, plan, tuning, idx.exact_neighbours(tuning, vectors))
    build_s = time.perf_counter() - started
    idx.set_search_params(index, tuned)

    started = time.perf_counter()
    _, found = index.search(queries, idx.K)
    batch_qps = len(queries) / (time.perf_counter() - started)
    recall = idx.recall_at_k(found, truth)
    latencies = []
    for query in queries[:300]:
        t = time.perf_counter()
        index.search(query.reshape(1, -1), idx.K)
        latencies.append((time.perf_counter() - t) * 1000)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"vectors: {args.n:,} x {args.dim}, queries: {len(queries)}, threads: {faiss.omp_get_max_threads()}")
    print(f"plan: {tuned.kind} {tuned.params} (tuning recall on held-out midpoints {tune_recall:.3f})")
    print(f"exact search baseline: {exact_qps:,.0f} queries/s")
    print(f"recall@10 vs exact: {recall:.4f} (target 0.95: {'PASS' if recall >= 0.95 else 'FAIL'})")
    print(f"batch: {batch_qps:,.0f} queries/s = {batch_qps / exact_qps:.1f}x exact (target 1,000: {'PASS' if batch_qps >= 1000 else 'FAIL'})")
    print(f"single query latency: p50 {np.percentile(latencies, 50):.2f} ms, p99 {np.percentile(latencies, 99):.2f} ms")
    print(f"build + tune: {build_s:.0f} s (target 360: {'PASS' if build_s <= 360 else 'FAIL'})")
    print(f"peak RSS: {rss:,.0f} MB (vectors alone {vectors.nbytes / 2**20:,.0f} MB; before build {rss_before:,.0f} MB)")


if __name__ == "__main__":
    main()
