"""Clustering pipeline time and memory from Parquet, against targets, plus FAISS vs scikit-learn k-means.

    python bench/analysis_bench.py [--no-large] [--omp-passive] [--k 20] [--width 64] [--dir DIR]

For each size (200K x 768, and 1.2M x 768 unless --no-large) it writes synthetic clustered, L2-normalised
float32 vectors to Parquet (FixedSizeList<float32,768>, zstd, row groups of 65,536; NOT timed): 8 groups
of 4 overlapping sub-centres (32 in all), Zipf-like sizes, 5% background; silhouette about 0.15 and
Davies-Bouldin about 4.2 at k=20 (the ViT paper reports 0.015 and 4.16 on real images). It then runs
the pipeline in a child process, so that the peak RSS is the pipeline's own:

    read (pyarrow iter_batches) -> streaming PCA fit 768->64 -> read again -> project
    -> k-means k=20 (FAISS, k-means++ seeds on a 20K sample) -> silhouette (10K sample), CH, DB

and prints the seconds of each stage, the total and the peak RSS against the targets (200K: <= 30 s,
<= 3 GB; 1.2M: <= 4 min, <= 8 GB). The 200K child then runs a head-to-head on its 200K x 64 reduced
data: FAISS k-means (++ seeds) vs scikit-learn KMeans(init="k-means++", n_init=1): inertia ratio
(target: FAISS within 1%) and speed-up (target >= 10x), for FAISS as the pipeline ran it (its first
call, setup included) and again warm (256 points per centroid, the library default), plus FAISS's
random seeding.

Timings depend on the machine's load: the script prints the load average it started under. On a
shared 2-core machine OpenMP's default spin-waiting can make FAISS 5-20x slower when another process
holds a core; --omp-passive runs the child with OMP_WAIT_POLICY=PASSIVE (FAISS and sklearn alike).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ROW_GROUP = 65_536  # rows per Parquet row group in the synthetic file (about 200 MB of vectors)
# Read side: batches of 16K rows with 1 MB buffered reads. pyarrow's default (whole column chunk
# pre-buffered, batches of a row group) held about 4x a 200 MB row group (list levels + buffers):
# 1.5 GB peak against 0.4 GB this way, and no slower.
READ_BATCH_ROWS = 16_384
READ_BUFFER_BYTES = 1 << 20
GROUPS, PER_GROUP = 8, 4  # 32 generating centres
SUB_CENTRE_OFFSET = 0.1  # how far sub-centres sit from their group's direction: they overlap
NOISE_SHARE = 0.05
TARGETS = {200_000: (30.0, 3.0), 1_200_000: (240.0, 8.0)}  # rows -> (seconds, GB)


# ------------------------------------------------------------------------------------ synthetic data


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def generate(path: Path, n: int, dim: int, seed: int) -> dict[str, Any]:
    """Clustered unit vectors, streamed row group by row group (never n x dim in memory).

    8 random group directions (e.g. "wheels", "lights"), each with 4 sub-centres close to it that
    overlap (a k=20 clustering must merge some); Zipf-like sizes (many tyres, few gearboxes), a
    different spread per centre, and 5% background rows uniform on the sphere (centre -1).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    centres = GROUPS * PER_GROUP
    groups = _unit(rng.standard_normal((GROUPS, dim)))
    offsets = SUB_CENTRE_OFFSET * _unit(rng.standard_normal((centres, dim)))
    directions = _unit(np.repeat(groups, PER_GROUP, axis=0) + offsets).astype(np.float32)
    weights = rng.permutation(1.0 / np.arange(1, centres + 1) ** 0.7)
    weights /= weights.sum()
    spread = rng.uniform(0.02, 0.04, size=centres).astype(np.float32)  # per-dimension sigma: |noise| 0.55-1.1
    schema = pa.schema([("vector", pa.list_(pa.float32(), dim)), ("centre", pa.int16())])
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for start in range(0, n, ROW_GROUP):
            rows = min(ROW_GROUP, n - start)
            centre = rng.choice(centres, size=rows, p=weights).astype(np.int16)
            centre[rng.random(rows) < NOISE_SHARE] = -1
            x = rng.standard_normal((rows, dim), dtype=np.float32)
            clustered = centre >= 0
            x[clustered] *= spread[centre[clustered], None]
            x[clustered] += directions[centre[clustered]]
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            vectors = pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), dim)
            writer.write_table(pa.table({"vector": vectors, "centre": pa.array(centre)}, schema=schema), row_group_size=ROW_GROUP)
    return {"bytes": path.stat().st_size, "row_groups": -(-n // ROW_GROUP)}


# ---------------------------------------------------------------------------------- child: pipeline


def run_pipeline(path: Path, width: int, k: int, seed: int, head_to_head: bool) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from c2c_assets.analysis.clustering import kmeans
    from c2c_assets.analysis.metrics import external_metrics, internal_metrics
    from c2c_assets.analysis.reduction import fit_pca

    parquet = pq.ParquetFile(path, buffer_size=READ_BUFFER_BYTES, pre_buffer=False)
    n = parquet.metadata.num_rows
    read_seconds = [0.0]

    def batches() -> Any:
        """Vector batches straight from the row groups; the time spent decoding goes to read_seconds."""
        it = parquet.iter_batches(batch_size=READ_BATCH_ROWS, columns=["vector"])
        while True:
            started = time.perf_counter()
            try:
                batch = next(it)
            except StopIteration:
                return
            column = batch.column(0)
            matrix = column.flatten().to_numpy(zero_copy_only=False).reshape(len(column), -1)
            read_seconds[0] += time.perf_counter() - started
            yield matrix

    stages: dict[str, float] = {}
    peaks: dict[str, int] = {"start": peak_rss_bytes()}
    started = time.perf_counter()
    model = fit_pca(batches(), width)
    pass1 = time.perf_counter() - started
    stages["read, pass 1 (fit)"] = read_seconds[0]
    stages["PCA accumulate + eigh"] = pass1 - read_seconds[0]
    peaks["pass 1"] = peak_rss_bytes()

    read_seconds[0] = 0.0
    started = time.perf_counter()
    reduced = np.empty((n, model.width), dtype=np.float32)
    row = 0
    for matrix in batches():
        reduced[row : row + len(matrix)] = model.transform(matrix)
        row += len(matrix)
    pass2 = time.perf_counter() - started
    stages["read, pass 2 (project)"] = read_seconds[0]
    stages["PCA transform 768->%d" % model.width] = pass2 - read_seconds[0]
    peaks["pass 2"] = peak_rss_bytes()

    started = time.perf_counter()
    clusters = kmeans(reduced, k, seed)
    stages[f"k-means k={k} (FAISS, ++ init)"] = time.perf_counter() - started
    peaks["k-means"] = peak_rss_bytes()

    started = time.perf_counter()
    metrics = internal_metrics(reduced, clusters.labels, sample_size=10_000, seed=seed)
    stages["metrics (silhouette 10K, CH, DB)"] = time.perf_counter() - started
    total = sum(stages.values())
    peak_rss = peaks["metrics"] = peak_rss_bytes()
    ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    # Not timed: how the clusters line up with the generating centres (k < centres: merges are expected).
    centre = pq.read_table(path, columns=["centre"]).column("centre").to_numpy()
    truth = [str(c) if c >= 0 else None for c in centre.tolist()]
    out: dict[str, Any] = {
        "n": n,
        "stages": stages,
        "total": total,
        "peak_rss": peak_rss,
        "peaks": peaks,
        "ru_maxrss": ru_maxrss,
        "explained_variance": float(model.explained_variance_ratio.sum()),
        "metrics": metrics,
        "versus_centres": external_metrics(clusters.labels, truth),
        "init_sample_size": clusters.init_sample_size,
        "used_gpu": clusters.used_gpu,
    }
    if head_to_head:
        out["head_to_head"] = compare_kmeans(reduced, k, seed, clusters, stages[f"k-means k={k} (FAISS, ++ init)"])
    return out


def peak_rss_bytes() -> int:
    """This process's peak RSS: VmHWM, else getrusage's ru_maxrss.

    On Linux ru_maxrss survives fork+exec: a child starts at its parent's RSS at the fork (1.3 GB
    after the parent had generated the Parquet, in a first version of this script). VmHWM belongs
    to the new address space. The parent also generates in a separate process, to stay small.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def inertia64(x: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> float:
    """Both sides' inertia computed the same way (float64, in chunks): no float32-accumulation doubt."""
    total = 0.0
    for start in range(0, len(x), ROW_GROUP):
        chunk = x[start : start + ROW_GROUP].astype(np.float64)
        diff = chunk - np.asarray(centroids, dtype=np.float64)[labels[start : start + ROW_GROUP]]
        total += float(np.einsum("ij,ij->", diff, diff))
    return total


def compare_kmeans(x: np.ndarray, k: int, seed: int, ours: Any, ours_seconds: float) -> dict[str, Any]:
    import math

    import faiss
    from sklearn.cluster import KMeans

    from c2c_assets.analysis.clustering import assign_nearest, kmeans

    started = time.perf_counter()
    reference = KMeans(n_clusters=k, init="k-means++", n_init=1, random_state=seed).fit(x)
    sklearn_seconds = time.perf_counter() - started

    started = time.perf_counter()
    sampled = kmeans(x, k, seed, max_points_per_centroid=256)
    sampled_seconds = time.perf_counter() - started

    started = time.perf_counter()
    plain = faiss.Kmeans(x.shape[1], k, niter=25, seed=seed, max_points_per_centroid=math.ceil(len(x) / k))
    plain.train(x)
    _, plain_labels = assign_nearest(x, plain.centroids)
    random_seconds = time.perf_counter() - started
    return {
        "rows": len(x),
        "width": x.shape[1],
        "faiss_seconds": ours_seconds,
        "faiss_inertia": inertia64(x, ours.centroids, ours.labels),
        "faiss_sampled_seconds": sampled_seconds,
        "faiss_sampled_inertia": inertia64(x, sampled.centroids, sampled.labels),
        "sklearn_seconds": sklearn_seconds,
        "sklearn_iterations": int(reference.n_iter_),
        "sklearn_inertia": inertia64(x, reference.cluster_centers_, reference.labels_),
        "faiss_random_seconds": random_seconds,
        "faiss_random_inertia": inertia64(x, plain.centroids, plain_labels),
    }


# ---------------------------------------------------------------------------------- parent: report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(size: int, gen: dict[str, Any], result: dict[str, Any]) -> None:
    seconds_target, gb_target = TARGETS.get(size, (float("inf"), float("inf")))
    print(
        f"\n== {size:,} x 768  ({GROUPS}x{PER_GROUP} centres + {NOISE_SHARE:.0%} background; {gen['row_groups']} row groups; "
        f"Parquet {gen['bytes'] / 1e9:.2f} GB, generated in {gen['seconds']:.1f} s, not timed)"
    )
    for name, seconds in result["stages"].items():
        print(f"  {name:<36} {seconds:8.2f} s")
    total, rss_gb = result["total"], result["peak_rss"] / 1e9
    print(f"  {'total':<36} {total:8.2f} s   target <= {seconds_target:.0f} s   {verdict(total <= seconds_target)}")
    print(f"  {'peak RSS (child process)':<36} {rss_gb:8.2f} GB  target <= {gb_target:.0f} GB   {verdict(rss_gb <= gb_target)}")
    print(
        "  peak RSS (VmHWM) after each stage: " + ", ".join(f"{k} {v / 1e9:.2f} GB" for k, v in result["peaks"].items())
        + f"; getrusage ru_maxrss {result['ru_maxrss'] / 1e9:.2f} GB"
    )
    m, v = result["metrics"], result["versus_centres"]
    print(
        f"  quality: explained variance at 64 = {result['explained_variance']:.3f}; silhouette {m['silhouette']:.3f} "
        f"(sample {m['silhouette_sample_size']:,}), CH {m['calinski_harabasz']:.1f}, DB {m['davies_bouldin']:.3f} "
        f"(on {m['ch_db_sample_size']:,}); vs generating centres (k={result.get('k', '?')} < {GROUPS * PER_GROUP}): "
        f"ARI {v['ari']:.3f}, NMI {v['nmi']:.3f}, purity {v['purity']:.3f} over {v['n_labelled']:,} labelled"
    )
    h2h = result.get("head_to_head")
    if h2h:
        print(f"\n== head-to-head on the same {h2h['rows']:,} x {h2h['width']} reduced data, k={result.get('k')}")
        print(
            f"  sklearn KMeans(k-means++, n_init=1), all points          {h2h['sklearn_seconds']:7.2f} s   "
            f"inertia {h2h['sklearn_inertia']:.2f}   ({h2h['sklearn_iterations']} iterations)"
        )
        for label, prefix in (
            ("FAISS as the pipeline ran it (256/centroid, first call)", "faiss"),
            ("FAISS, ++ seeds (20K sample), trains on 256/centroid", "faiss_sampled"),
        ):
            seconds, inertia = h2h[f"{prefix}_seconds"], h2h[f"{prefix}_inertia"]
            ratio, speedup = inertia / h2h["sklearn_inertia"], h2h["sklearn_seconds"] / seconds
            print(f"  {label:<56} {seconds:7.2f} s   inertia {inertia:.2f}")
            print(
                f"      inertia / sklearn = {ratio:.4f} (target <= 1.01) {verdict(ratio <= 1.01)};  "
                f"speed-up = {speedup:.1f}x (target >= 10x) {verdict(speedup >= 10)}"
            )
        random_ratio = h2h["faiss_random_inertia"] / h2h["sklearn_inertia"]
        print(
            f"  (reference) FAISS default random seeding: {h2h['faiss_random_seconds']:.2f} s, "
            f"inertia / sklearn = {random_ratio:.4f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large", action=argparse.BooleanOptionalAction, default=True, help="also run 1.2M x 768")
    parser.add_argument("--omp-passive", action="store_true", help="run the child with OMP_WAIT_POLICY=PASSIVE")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, default=None, help="where the synthetic Parquet goes (default: a temp dir)")
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--head-to-head", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.generate is not None:
        started = time.perf_counter()
        gen = generate(args.generate, args.rows, 768, args.seed)
        print(json.dumps({**gen, "seconds": time.perf_counter() - started}))
        return
    if args.child is not None:
        result = run_pipeline(args.child, args.width, args.k, args.seed, args.head_to_head)
        result["k"] = args.k
        print(json.dumps(result))
        return

    sizes = [200_000] + ([1_200_000] if args.large else [])
    load = os.getloadavg()
    print(
        f"analysis bench: {os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at start "
        "(a shared machine: timings are upper bounds); OMP_WAIT_POLICY="
        f"{'PASSIVE' if args.omp_passive else os.environ.get('OMP_WAIT_POLICY', '(default)')}"
    )
    folder = Path(tempfile.mkdtemp(prefix="analysis-bench-", dir=args.dir))
    try:
        for size in sizes:
            path = folder / f"vectors-{size}.parquet"
            made = subprocess.run(
                [sys.executable, __file__, "--generate", str(path), "--rows", str(size), "--seed", str(args.seed)],
                capture_output=True, text=True, cwd=REPO, check=True,
            )
            gen = json.loads(made.stdout.strip().splitlines()[-1])
            command = [sys.executable, __file__, "--child", str(path), "--k", str(args.k), "--width", str(args.width)]
            command += ["--seed", str(args.seed)] + (["--head-to-head"] if size == 200_000 else [])
            env = {**os.environ, **({"OMP_WAIT_POLICY": "PASSIVE"} if args.omp_passive else {})}
            done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env)
            if done.returncode != 0:
                print(f"\n== {size:,}: the child failed (exit {done.returncode})\n{done.stderr[-3000:]}")
                continue
            report(size, gen, json.loads(done.stdout.strip().splitlines()[-1]))
            path.unlink()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
