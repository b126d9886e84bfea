"""Ingest throughput and memory, on this machine, against targets and a parse-only baseline.

    python bench/ingest_bench.py [--posts 50000] [--images 600] [--dumps 8]

Each scenario runs in its own process so that its peak RSS is its own. Prints:
- text-only posts/s (target >= 10,000/s), and the ratio to a baseline that only decodes the JSON
  lines (the floor any ingest pays);
- images/s for 800x600 JPEG photos (decode, check, EXIF, hash, store, thumbnail; target >= 150/s);
- peak RSS ingesting 1 date versus N dates in one process (must not grow with N).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

WORDS = (
    "ford chevy honda toyota oem headlight tail light bumper cover rims tires brake rotor caliper seat leather "
    "exhaust muffler catalytic engine block radiator mirror door panel hood fender subwoofer amp stereo "
    "clean used new pair set left right front rear driver passenger fits 2012 2015 2018 obo pickup cash"
).split()


def text_dump(folder: Path, n: int, seed: int, body_words: tuple[int, int] = (10, 60)) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "posts.jsonl", "w") as out:
        for i in range(n):
            title = " ".join(rng.choices(WORDS, k=rng.randint(3, 9)))
            body = "QR Code Link to This Post\n\n" + " ".join(rng.choices(WORDS, k=rng.randint(*body_words))) + " &amp; more"
            record = {
                "pid": str(7_000_000_000 + seed * 10_000_000 + i),
                "url": f"https://waco.craigslist.org/pts/d/{i}.html",
                "title": title,
                "price": rng.choice(["$1,200", "120", "$45 obo", "Free", "1.2k", "OBO", None]),
                "hood": " (Waco) ",
                "datetime": "2024-02-28T14:05:11-0600",
                "body": body,
                "attrs": {"condition": "good"},
                "images": [],
            }
            out.write(json.dumps(record) + "\n")


def image_dump(folder: Path, n_images: int, size: tuple[int, int]) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(1)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    # Photo-like content: smooth gradients plus noise, so JPEG decode/encode costs what real photos cost.
    base = np.linspace(0, 255, size[0] * size[1] * 3).reshape(size[1], size[0], 3)
    with open(folder / "posts.jsonl", "w") as out:
        for i in range(0, n_images, 2):
            refs = []
            for j in (i, i + 1):
                pixels = (base * rng.uniform(0.3, 1.0) + rng.normal(0, 25, base.shape)).clip(0, 255).astype("uint8")
                buffer = io.BytesIO()
                Image.fromarray(pixels).save(buffer, "JPEG", quality=85)
                (folder / "images" / f"{j}.jpg").write_bytes(buffer.getvalue())
                refs.append(f"images/{j}.jpg")
            out.write(json.dumps({"pid": str(i + 1), "title": "photo post", "body": "two photos", "images": refs}) + "\n")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(args: list[str]) -> dict:
    output = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def child_ingest(inbox: str, home: str, days: int) -> None:
    from c2c_assets.home import C2cHome
    from c2c_assets.ingest.pipeline import ingest_date

    paths = C2cHome.from_env(home)
    started = time.perf_counter()
    totals = {"posts": 0, "images": 0}
    for offset in range(days):
        summary = ingest_date(Path(inbox), paths, date(2024, 3, 1) + timedelta(days=offset))
        totals["posts"] += summary.total("accepted")
        totals["images"] += summary.total("images_ok")
    print(json.dumps({"seconds": time.perf_counter() - started, **totals, "rss_mb": peak_rss_mb()}))


def child_parse_only(inbox: str) -> None:
    started = time.perf_counter()
    n = 0
    for path in sorted(Path(inbox).rglob("posts.jsonl")):
        with open(path, "rb") as handle:
            for line in handle:
                json.loads(line)
                n += 1
    print(json.dumps({"seconds": time.perf_counter() - started, "posts": n, "rss_mb": peak_rss_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--images", type=int, default=600)
    parser.add_argument("--dumps", type=int, default=8)
    parser.add_argument("--big-dump-mb", type=int, default=1024, help="size of the one-big-dump memory check (0: skip)")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        text_inbox = root / "text"
        text_dump(text_inbox / "craigslist" / "2024-03-01", args.posts, seed=0)
        baseline = run_child(["--child-parse", str(text_inbox)])
        text = run_child(["--child-ingest", str(text_inbox), str(root / "home-text"), "1"])
        posts_per_s = text["posts"] / text["seconds"]
        print(
            f"text-only posts: {text['posts']} in {text['seconds']:.2f} s = {posts_per_s:,.0f} posts/s "
            f"(target 10,000: {'PASS' if posts_per_s >= 10_000 else 'FAIL'}); parse-only baseline "
            f"{baseline['posts'] / baseline['seconds']:,.0f} lines/s, ingest costs {text['seconds'] / baseline['seconds']:.1f}x it"
        )

        image_inbox = root / "images"
        image_dump(image_inbox / "craigslist" / "2024-03-01", args.images, (800, 600))
        images = run_child(["--child-ingest", str(image_inbox), str(root / "home-images"), "1"])
        images_per_s = images["images"] / images["seconds"]
        print(
            f"images (800x600 JPEG): {images['images']} in {images['seconds']:.2f} s = {images_per_s:,.0f} images/s "
            f"(target 150: {'PASS' if images_per_s >= 150 else 'FAIL'}), peak RSS {images['rss_mb']:.0f} MB"
        )

        many = root / "many"
        per_dump = max(args.posts // args.dumps, 1000)
        for offset in range(args.dumps):
            text_dump(many / "craigslist" / (date(2024, 3, 1) + timedelta(days=offset)).isoformat(), per_dump, seed=offset + 1)
        one = run_child(["--child-ingest", str(many), str(root / "home-one"), "1"])
        all_days = run_child(["--child-ingest", str(many), str(root / "home-all"), str(args.dumps)])
        growth = all_days["rss_mb"] / one["rss_mb"]
        print(
            f"peak RSS: 1 dump {one['rss_mb']:.0f} MB, {args.dumps} dumps {all_days['rss_mb']:.0f} MB "
            f"(ratio {growth:.2f}; must not grow: {'PASS' if growth <= 1.10 else 'FAIL'})"
        )

        if args.big_dump_mb:
            # One dump of about --big-dump-mb MB against one of a tenth of it: memory must not follow the size.
            sizes = {}
            for label, megabytes in (("small", max(args.big_dump_mb // 10, 1)), ("big", args.big_dump_mb)):
                inbox = root / f"size-{label}"
                lines = int(megabytes * 1_000_000 / 1_050)  # about 1,050 bytes per line with these bodies
                text_dump(inbox / "craigslist" / "2024-03-01", lines, seed=99, body_words=(120, 180))
                size = (inbox / "craigslist" / "2024-03-01" / "posts.jsonl").stat().st_size
                sizes[label] = (size, run_child(["--child-ingest", str(inbox), str(root / f"home-{label}"), "1"]))
                shutil.rmtree(inbox)
            (small_size, small), (big_size, big) = sizes["small"], sizes["big"]
            ratio = big["rss_mb"] / small["rss_mb"]
            print(
                f"one dump of {big_size / 2**20:,.0f} MiB ({big['posts']:,} posts in {big['seconds']:.0f} s): peak RSS "
                f"{big['rss_mb']:.0f} MB; of {small_size / 2**20:,.0f} MiB: {small['rss_mb']:.0f} MB "
                f"(ratio {ratio:.2f}; bounded: {'PASS' if ratio <= 1.25 else 'FAIL'})"
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-ingest":
        child_ingest(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--child-parse":
        child_parse_only(sys.argv[2])
    else:
        main()
