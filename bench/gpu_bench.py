"""One-command GPU benchmark of the real architectures and of FAISS on the GPU.

    python bench/gpu_bench.py [--weights-dir /tmp/c2c-fullsize/weights] [--only vit,clip-b32,clip-l14,imagebind,openflamingo]
                              [--batch-sizes 64,256,512] [--photos 4096] [--posts 1024] [--workers N] [--skip-faiss]
    python bench/gpu_bench.py --smoke      # tiny configs and sizes, on CPU: what the test suite runs

Made to finish in under 8 minutes on one H100/H200-class GPU (no GPU was lent to the sessions that wrote
it: its GPU figures are still to be recorded). What it does:

1. Lays out random full-size checkpoints in the upstream release layouts (``encoders.release.write_release``,
   about 18 GB, kept for the next run) and generates a sample inbox (drawn photos, about 2 per post); the
   timed runs cycle through its posts under new ids.
2. For each architecture (ViT-B/16, CLIP ViT-B-32 and ViT-L-14 ``openai``, ImageBind-huge,
   OpenFlamingo-3B), loaded through its public config from ``C2C_WEIGHTS_DIR``, and each batch size of
   the sweep: photos/s of ``embed_images`` (OpenFlamingo: its photos through ``embed_posts``) and posts/s
   of ``embed_posts``, at bf16 (``precision=bf16``: autocast), decoding in DataLoader workers with pinned
   memory, after a warm-up; peak GPU memory (``torch.cuda.max_memory_allocated``) and the share of the
   wall time the GPU was busy (NVML's utilization, sampled every 100 ms through ``pynvml`` or
   ``nvidia-smi``).
3. FAISS: k-means k=20 on 1.2M x 768 (``analysis.clustering.kmeans``, GPU when FAISS has one) and an index
   build over 1M x 768: the platform's IVF plan (``search.index.build``: coarse quantizer trained on the GPU)
   and a GPU-resident ``IVF4096,Flat`` (train + add on the GPU).

Each figure is printed beside its anchor: clip-retrieval's 1,500 samples/s for ViT-B/32 on an RTX 3080, and
the goal of >= 900 photos/s for ViT-L/14 on one H100.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Self

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FULL = {
    "vit": ("vit", {}),
    "clip-b32": ("clip", {"model": "ViT-B-32", "tag": "openai"}),
    "clip-l14": ("clip", {"model": "ViT-L-14", "tag": "openai"}),
    "imagebind": ("imagebind", {"image_weight": 0.5}),
    "openflamingo": ("openflamingo", {"strategy": "interleaved", "prefix": True}),
}
SMOKE = {arch: (family, {"tiny": True}) for arch, (family, _) in FULL.items() if arch != "clip-l14"}
ANCHORS = {
    "clip-b32": (1500, "clip-retrieval: 1,500 samples/s, ViT-B/32 on one RTX 3080"),
    "clip-l14": (900, "goal: >= 900 photos/s, ViT-L/14 on one H100"),
}


class GpuBusy:
    """Mean NVML utilization (share of time a kernel was running) while the block runs; None without NVML."""

    def __init__(self, device_index: int = 0) -> None:
        self.index = device_index
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._reader: Any = None
        self._thread: threading.Thread | None = None
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Self:
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(self.index)
            self._reader = lambda: float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        except Exception:  # noqa: BLE001  # no pynvml (or no NVML): nvidia-smi's own loop, if there is one
            if shutil.which("nvidia-smi"):
                self._process = subprocess.Popen(
                    ["nvidia-smi", f"--id={self.index}", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                     "-lms", "100"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                )
        return self

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self._reader())
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._process is not None:
            self._process.terminate()
            out, _ = self._process.communicate()
            self.samples = [float(line) for line in out.split() if line.replace(".", "", 1).isdigit()]

    @property
    def share(self) -> float | None:
        return sum(self.samples) / len(self.samples) / 100 if self.samples else None


def fmt_share(share: float | None) -> str:
    return "n/a" if share is None else f"{share:.0%}"


def posts_for(inbox: Path, n_posts: int) -> list[Any]:
    from encoder_bench import cycled, load_posts

    return list(cycled([post for post in load_posts(inbox) if post.image_paths], n_posts))


def bench_encoder(arch: str, family: str, options: dict[str, Any], posts: list[Any], n_photos: int,
                  batch_sizes: list[int], workers: int, smoke: bool) -> list[dict[str, Any]]:
    import torch

    from c2c_assets.encoders import EncoderConfig, RuntimeSettings, create_encoder

    cuda = torch.cuda.is_available() and not smoke
    photos = [path for post in posts for path in post.image_paths]
    photos = (photos * (n_photos // max(1, len(photos)) + 1))[:n_photos]
    rows = []
    base = None
    for batch in batch_sizes:
        runtime = RuntimeSettings(device="cuda" if cuda else "cpu", batch_size=batch, precision="bf16",
                                  num_workers=workers, pin_memory=True)
        started = time.perf_counter()
        if base is None:
            base = create_encoder(EncoderConfig(arch, family, options), runtime)
            base._loaded  # type: ignore[attr-defined]  # noqa: B018  # load once; later batch sizes reuse the model
            load_s = time.perf_counter() - started
            print(f"  {arch}: loaded in {load_s:.1f} s", flush=True)
        encoder = base
        encoder.runtime = runtime  # batch size and workers only: the model stays as loaded
        encoder.embed_posts(posts[: max(2, batch // 4)])  # warm-up: kernels, autotuning, worker start
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        photos_s = busy_photos = None
        if family != "openflamingo":
            with GpuBusy() as busy:
                started = time.perf_counter()
                encoder.embed_images(photos)
                if cuda:
                    torch.cuda.synchronize()
                photos_s = len(photos) / (time.perf_counter() - started)
            busy_photos = busy.share if cuda else None
        with GpuBusy() as busy:
            started = time.perf_counter()
            encoder.embed_posts(posts)
            if cuda:
                torch.cuda.synchronize()
            seconds = time.perf_counter() - started
        n_post_photos = sum(len(post.image_paths) for post in posts)
        if photos_s is None:
            photos_s = n_post_photos / seconds
        rows.append({
            "arch": arch, "batch": batch, "photos_s": photos_s, "posts_s": len(posts) / seconds,
            "busy_photos": busy_photos, "busy_posts": busy.share if cuda else None,
            "peak_gb": torch.cuda.max_memory_allocated() / 1024**3 if cuda else None, "width": encoder.width,
        })
        row = rows[-1]
        anchor = ANCHORS.get(arch)
        beside = f"   [{anchor[1]}: {row['photos_s'] / anchor[0]:.2f}x]" if anchor and not smoke else ""
        peak = "n/a" if row["peak_gb"] is None else f"{row['peak_gb']:.1f} GB"
        print(f"  {arch} batch {batch}: {row['photos_s']:,.0f} photos/s (GPU busy {fmt_share(row['busy_photos'])}), "
              f"{row['posts_s']:,.0f} posts/s (GPU busy {fmt_share(row['busy_posts'])}), peak GPU memory {peak}, "
              f"width {row['width']}{beside}", flush=True)
    del base
    if cuda:
        torch.cuda.empty_cache()
    return rows


def bench_faiss(smoke: bool) -> None:
    import faiss
    import numpy as np

    from c2c_assets.analysis.clustering import kmeans
    from c2c_assets.search import index as search_index

    gpus = getattr(faiss, "get_num_gpus", lambda: 0)()
    where = f"{gpus} GPU(s)" if gpus else "CPU (this FAISS build sees no GPU: faiss-cpu, or no device)"
    n_km, n_index, dim = (4000, 4000, 32) if smoke else (1_200_000, 1_000_000, 768)
    rng = np.random.default_rng(0)
    # Clustered data (20 blobs) rather than uniform noise: k-means and IVF lists behave as on embeddings.
    centres = rng.standard_normal((20, dim)).astype(np.float32)
    x = centres[rng.integers(0, 20, n_km)] + 0.5 * rng.standard_normal((n_km, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    print(f"FAISS on {where}:")
    started = time.perf_counter()
    result = kmeans(x, 20 if not smoke else 4, seed=0, use_gpu="auto")
    print(f"  k-means k={20 if not smoke else 4} on {n_km:,} x {dim}: {time.perf_counter() - started:.1f} s "
          f"(GPU used: {result.used_gpu}; CPU anchor on 2 cores: 200K x 768 with FAISS 2-5 s)", flush=True)
    vectors = x[:n_index]
    plan = search_index.choose_plan(n_index, dim, memory_budget_bytes=0)  # the platform's IVF plan at this size
    if smoke:
        plan = search_index.IndexPlan("ivf", {"nlist": 16, "nprobe": 4, "k_factor": 4})
    started = time.perf_counter()
    search_index.build(vectors, plan)
    print(f"  platform index build ({plan.kind} {plan.params}) over {n_index:,} x {dim}: "
          f"{time.perf_counter() - started:.1f} s (quantizer trained on the GPU when FAISS has one)", flush=True)
    if gpus:
        started = time.perf_counter()
        gpu_index = faiss.index_cpu_to_all_gpus(faiss.index_factory(dim, "IVF4096,Flat", faiss.METRIC_INNER_PRODUCT))
        gpu_index.train(vectors[np.random.default_rng(1).choice(n_index, 4096 * 64, replace=False)])
        gpu_index.add(vectors)
        print(f"  GPU-resident IVF4096,Flat over {n_index:,} x {dim}: train + add {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="tiny configs and sizes on CPU (the test suite runs this)")
    parser.add_argument("--weights-dir", default="/tmp/c2c-fullsize/weights")
    parser.add_argument("--only", default=None, help="comma-separated architectures")
    parser.add_argument("--batch-sizes", default=None)
    parser.add_argument("--photos", type=int, default=None, help="photos per embed_images run")
    parser.add_argument("--posts", type=int, default=None, help="posts per embed_posts run")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: CPUs, at most 12)")
    parser.add_argument("--skip-faiss", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    smoke = args.smoke
    configs = SMOKE if smoke else FULL
    archs = [a for a in (args.only.split(",") if args.only else configs) if a]
    batch_sizes = [int(b) for b in (args.batch_sizes or ("2,4" if smoke else "64,256,512")).split(",")]
    n_photos = args.photos or (8 if smoke else 4096)
    n_posts = args.posts or (4 if smoke else 1024)
    workers = args.workers if args.workers is not None else (0 if smoke else min(12, os.cpu_count() or 1))
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() and not smoke else "CPU"
    print(f"gpu_bench{' --smoke' if smoke else ''}: {device}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"batch sizes {batch_sizes}, {n_photos} photos / {n_posts} posts per run, {workers} DataLoader workers", flush=True)
    if not smoke and not torch.cuda.is_available():
        print("  no CUDA device: the figures below are CPU figures (use --smoke for a quick check)")
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="c2c-gpu-bench-") as scratch:
        os.environ.setdefault("C2C_HOME", str(Path(scratch) / "home"))
        if not smoke:
            from c2c_assets.encoders.release import write_release

            started = time.perf_counter()
            write_release(Path(args.weights_dir), tuple(archs))
            os.environ["C2C_WEIGHTS_DIR"] = args.weights_dir
            print(f"checkpoints in the upstream layouts under {args.weights_dir}: {time.perf_counter() - started:.0f} s", flush=True)
        from c2c_assets.sample import generate_sample

        inbox = Path(scratch) / "inbox"
        generate_sample(inbox, n_posts=30 if smoke else 200, n_days=1, bad_inputs=False)
        posts = posts_for(inbox, n_posts)
        rows = []
        for arch in archs:
            family, options = configs[arch]
            rows += bench_encoder(arch, family, options, posts, n_photos, batch_sizes, workers, smoke)
        if not args.skip_faiss:
            bench_faiss(smoke)
    print("\n| architecture | batch | photos/s | posts/s | GPU busy (photos / posts) | peak GPU memory | width | anchor |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        anchor = ANCHORS.get(row["arch"])
        peak = "n/a" if row["peak_gb"] is None else f"{row['peak_gb']:.1f} GB"
        print(f"| {row['arch']} | {row['batch']} | {row['photos_s']:,.0f} | {row['posts_s']:,.1f} | "
              f"{fmt_share(row['busy_photos'])} / {fmt_share(row['busy_posts'])} | {peak} | {row['width']} | "
              f"{anchor[1] if anchor else ''} |")
    print(f"total {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
