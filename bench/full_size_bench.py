"""The seed papers' real architectures at full size on CPU, loaded from upstream-layout files.

    python bench/full_size_bench.py [--weights-dir /tmp/c2c-fullsize/weights] [--posts 24] [--heavy-posts 12]
                                    [--only vit,clip-b32,clip-l14,imagebind,openflamingo]

First lays out random full-size checkpoints exactly as the releases are distributed
(``c2c_assets.encoders.release.write_release``: timm's ``model.safetensors``, open_clip's
``open_clip_pytorch_model.bin`` for the ``openai`` tag, Meta's ``imagebind_huge.pth``, the MPT-1B folder and
OpenFlamingo's ``checkpoint.pt``; about 18 GB, kept for the next run), then, for each architecture in its own
process (one model in memory at a time, so each peak RSS is its own), creates the encoder through its public
config with ``C2C_WEIGHTS_DIR`` pointing there (no option names a file) and prints:

- load time: building the model and loading every tensor of its files (the loaders refuse a missing or
  unexpected tensor), and the parameter count;
- photos/s (``embed_images``; OpenFlamingo has no photo vectors: its photos through ``embed_posts``) and
  posts/s (``embed_posts``) on the first posts of ``c2c_assets.sample`` (drawn photos, about 2 per post),
  after one warm-up post, fp32, 2 threads, batch size 8;
- peak RSS of the process and the vector width.

Random weights cost the same FLOPs as the real ones. The figures are for this 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import measure  # bench/measure.py: this script's folder is on sys.path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEAVY = {"clip-l14", "imagebind", "openflamingo"}
LABELS = {
    "vit": "timm ViT-B/16 (vit_base_patch16_224)",
    "clip-b32": "open_clip ViT-B-32 (openai)",
    "clip-l14": "open_clip ViT-L-14 (openai)",
    "imagebind": "ImageBind-huge",
    "openflamingo": "OpenFlamingo-3B-vitl-mpt1b",
}


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def run_one(arch: str, weights_dir: str, inbox: str, n_posts: int) -> dict[str, Any]:
    """In a fresh process: load one architecture through its config and time it on ``n_posts`` posts."""
    os.environ["C2C_WEIGHTS_DIR"] = weights_dir
    os.environ["HF_HUB_OFFLINE"] = "1"
    import numpy as np
    import torch
    from encoder_bench import load_posts

    from c2c_assets.encoders import EncoderConfig, RuntimeSettings, create_encoder
    from c2c_assets.encoders.release import CONFIGS

    torch.set_num_threads(2)
    family, options = CONFIGS[arch]
    posts = [post for post in load_posts(Path(inbox)) if post.image_paths][: n_posts + 1]
    warm, posts = posts[:1], posts[1:]
    photos = [path for post in posts for path in post.image_paths]
    runtime = RuntimeSettings(device="cpu", batch_size=8, num_workers=0)
    started = time.perf_counter()
    encoder = create_encoder(EncoderConfig(arch, family, options), runtime)
    model = encoder._loaded[0]  # type: ignore[attr-defined]
    load_s = time.perf_counter() - started
    params = sum(p.numel() for p in model.parameters())
    dtypes = sorted({str(p.dtype).removeprefix("torch.") for p in model.parameters()})
    rss_loaded = peak_rss_gb()
    encoder.embed_posts(warm)
    photos_s = None
    if family != "openflamingo":
        started = time.perf_counter()
        encoder.embed_images(photos)
        photos_s = len(photos) / (time.perf_counter() - started)
    started = time.perf_counter()
    vectors = encoder.embed_posts(posts).vectors
    posts_seconds = time.perf_counter() - started
    if photos_s is None:
        photos_s = len(photos) / posts_seconds
    assert np.isfinite(vectors).all() and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    return {
        "arch": arch, "load_s": load_s, "params": params, "dtypes": dtypes, "rss_loaded_gb": rss_loaded,
        "peak_rss_gb": peak_rss_gb(), "posts": len(posts), "photos": len(photos), "photos_s": photos_s,
        "posts_s": len(posts) / posts_seconds, "width": int(vectors.shape[1]), "fingerprint": encoder.fingerprint(),
    }


def child(args: list[str]) -> dict[str, Any]:
    return measure.child(__file__, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights-dir", default="/tmp/c2c-fullsize/weights")
    parser.add_argument("--posts", type=int, default=24, help="posts per run for ViT-B/16 and CLIP ViT-B-32")
    parser.add_argument("--heavy-posts", type=int, default=12, help="posts per run for ViT-L-14, ImageBind, OpenFlamingo")
    parser.add_argument("--only", default=",".join(LABELS))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        arch, weights_dir, inbox, n = args.child
        print(json.dumps(run_one(arch, weights_dir, inbox, int(n))))
        return

    from c2c_assets.encoders.release import write_release
    from c2c_assets.sample import generate_sample

    archs = tuple(a for a in args.only.split(",") if a)
    weights = Path(args.weights_dir)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    started = time.perf_counter()
    write_release(weights, archs)
    print(f"upstream-layout checkpoints under {weights}: ready in {time.perf_counter() - started:.0f} s")
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        inbox = Path(scratch) / "inbox"
        generate_sample(inbox, n_posts=max(args.posts, args.heavy_posts) * 2, n_days=1, bad_inputs=False)
        for arch in archs:
            n = args.heavy_posts if arch in HEAVY else args.posts
            row = child([arch, str(weights), str(inbox), str(n)])
            rows.append(row)
            print(f"  {arch}: {json.dumps(row)}", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| architecture | params | load | peak RSS | photos/s | posts/s | width | posts (photos) |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {LABELS[row['arch']]} | {row['params'] / 1e6:,.0f} M | {row['load_s']:.1f} s | {row['peak_rss_gb']:.1f} GB "
              f"| {row['photos_s']:.2f} | {row['posts_s']:.2f} | {row['width']} | {row['posts']} ({row['photos']}) |")


if __name__ == "__main__":
    main()
