"""Soak test: many kill -9s at random points of ingest runs; what survived, and what was lost.

    python bench/soak_bench.py [--rounds 30] [--posts 20000] [--seed 0]

Each round rewrites the dump (so the partition must change), starts an ingest in a child process,
kills it with SIGKILL at a random moment, checks that the visible partition is still a whole file
(the old one or the new one), re-runs the ingest, and compares the result with a clean run. Prints
how many kills landed mid-write, how many rounds ended with data equal to a clean run, and any loss.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from c2c_assets.home import C2cHome
from c2c_assets.ingest.pipeline import ingest_date
from c2c_assets.lake import partition_file

DAY = date(2024, 3, 1)
CHILD = (
    "import sys; from datetime import date; from pathlib import Path; from c2c_assets.home import C2cHome; "
    "from c2c_assets.ingest.pipeline import ingest_date, IngestSettings; "
    "ingest_date(Path(sys.argv[1]), C2cHome(Path(sys.argv[2])), date(2024, 3, 1), IngestSettings(chunk_lines=100))"
)


def write_dump(inbox: Path, n: int, version: int) -> None:
    folder = inbox / "craigslist" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps({"pid": str(i), "title": f"v{version} part {i}", "body": "used, works " * 20}) for i in range(1, n + 1))
    (folder / "posts.jsonl").write_text("\n".join(lines) + "\n")


def snapshot(home: C2cHome) -> list[tuple[str, str]]:
    table = pq.read_table(partition_file(home.lake, "posts", {"date": DAY.isoformat()}), columns=["post_id", "content_hash"])
    return sorted(zip(table.column("post_id").to_pylist(), table.column("content_hash").to_pylist(), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--posts", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    mid_write = torn = equal = lost = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        inbox, home = root / "inbox", C2cHome(root / "home")
        write_dump(inbox, args.posts, 0)
        ingest_date(inbox, home, DAY)
        for round_ in range(1, args.rounds + 1):
            write_dump(inbox, args.posts + round_, round_)
            before = snapshot(home)
            child = subprocess.Popen([sys.executable, "-c", CHILD, str(inbox), str(home.root)])
            folder = partition_file(home.lake, "posts", {"date": DAY.isoformat()}).parent
            if rng.random() < 0.8:  # most kills aim at the write itself; the rest at any moment
                deadline = time.monotonic() + 60
                while not list(folder.glob(".*.tmp")) and child.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.0, 0.6))
            else:
                time.sleep(rng.uniform(0.0, 3.0))
            writing = child.poll() is None and bool(list(folder.glob(".*.tmp")))
            child.send_signal(signal.SIGKILL)
            child.wait()
            mid_write += writing
            try:
                visible = snapshot(home)
                if visible != before and len(visible) != args.posts + round_:
                    torn += 1
            except Exception:  # noqa: BLE001 - an unreadable partition is a torn write
                torn += 1
            ingest_date(inbox, home, DAY)
            clean = C2cHome(root / f"clean-{round_}")
            ingest_date(inbox, clean, DAY)
            if snapshot(home) == snapshot(clean):
                equal += 1
            else:
                lost += 1
        litter = [p for p in home.lake.rglob("*") if p.name.endswith(".tmp")]
    print(f"rounds: {args.rounds}, kills that landed mid-write: {mid_write}")
    print(f"torn partitions seen by a reader: {torn}")
    print(f"re-runs equal to a clean run: {equal}/{args.rounds}; rounds with lost or extra rows: {lost}")
    print(f"temporary files left after the last re-run: {len(litter)}")


if __name__ == "__main__":
    main()
