"""Faults injected for real: kill -9 in the middle of a write, two writers on one partition, a search
while its index is replaced. After each, the data equals a clean run's and no reader saw a half file."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from c2c_assets.home import C2cHome
from c2c_assets.ingest.pipeline import ingest_date
from c2c_assets.lake import partition_file

pytestmark = pytest.mark.slow  # kill -9 of real subprocesses: seconds per test

DAY = date(2024, 3, 1)


def write_dump(inbox: Path, n: int, title: str = "Brake rotors") -> None:
    folder = inbox / "craigslist" / DAY.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    lines = (json.dumps({"pid": str(i), "title": f"{title} {i}", "body": "pair, like new " * 5}) for i in range(1, n + 1))
    (folder / "posts.jsonl").write_text("\n".join(lines) + "\n")


CHILD = """
import sys, time
from datetime import date
from pathlib import Path
from c2c_assets.home import C2cHome
from c2c_assets.ingest import pipeline
real = pipeline._DateIngest._write_posts
def slow(self, *args):
    real(self, *args)
    time.sleep(0.05)  # room for the kill to land mid-partition
pipeline._DateIngest._write_posts = slow
pipeline.ingest_date(Path(sys.argv[1]), C2cHome(Path(sys.argv[2])), date(2024, 3, 1), pipeline.IngestSettings(chunk_lines=200))
"""


def partition_rows(home: C2cHome) -> list[dict]:
    return pq.read_table(partition_file(home.lake, "posts", {"date": DAY.isoformat()})).to_pylist()


class Reader(threading.Thread):
    """Reads the partition as often as it can; every read must be a whole, valid file."""

    def __init__(self, path: Path, allowed_counts: set[int]) -> None:
        super().__init__(daemon=True)
        self.path, self.allowed, self.stop, self.problems, self.reads = path, allowed_counts, False, [], 0

    def run(self) -> None:
        while not self.stop:
            try:
                n = pq.read_metadata(self.path).num_rows
            except FileNotFoundError:
                continue
            except Exception as error:  # noqa: BLE001 - any other failure is a torn read
                self.problems.append(repr(error))
                continue
            self.reads += 1
            if n not in self.allowed:
                self.problems.append(f"saw {n} rows")


@pytest.mark.parametrize("kill_after_s", [0.0, 0.2, 0.5])
def test_kill_9_mid_ingest_then_rerun_equals_a_clean_run(tmp_path, kill_after_s):
    inbox, home = tmp_path / "inbox", C2cHome(tmp_path / "home")
    write_dump(inbox, 2000, title="old")
    ingest_date(inbox, home, DAY)
    write_dump(inbox, 3000, title="new")
    reader = Reader(partition_file(home.lake, "posts", {"date": DAY.isoformat()}), {2000, 3000})
    reader.start()
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(inbox), str(home.root)], env={**os.environ})
    folder = partition_file(home.lake, "posts", {"date": DAY.isoformat()}).parent
    deadline = time.monotonic() + 60
    while not list(folder.glob(".*.tmp")) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)  # wait until the child is writing the new partition
    time.sleep(kill_after_s)
    assert child.poll() is None, "the child finished before it could be killed mid-write"
    child.send_signal(signal.SIGKILL)
    child.wait()
    time.sleep(0.2)
    reader.stop = True
    reader.join()
    assert not reader.problems and reader.reads > 0
    assert {r["title"].split()[0] for r in partition_rows(home)} in ({"old"}, {"new"})  # whole old or whole new

    ingest_date(inbox, home, DAY)  # the re-run trips on nothing the crash left
    clean = C2cHome(tmp_path / "clean")
    ingest_date(inbox, clean, DAY)
    assert sorted((r["post_id"], r["content_hash"]) for r in partition_rows(home)) == sorted(
        (r["post_id"], r["content_hash"]) for r in partition_rows(clean)
    )
    assert not [p for p in home.lake.rglob("*") if p.name.endswith(".tmp")]


def test_two_runs_on_one_partition_one_wins_whole(tmp_path):
    inbox, home = tmp_path / "inbox", C2cHome(tmp_path / "home")
    write_dump(inbox, 3000)
    errors = []

    def run() -> None:
        try:
            ingest_date(inbox, home, DAY)
        except Exception as error:  # noqa: BLE001 - recorded and asserted below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    rows = partition_rows(home)
    assert len(rows) == 3000 and len({r["post_id"] for r in rows}) == 3000


def test_a_search_while_the_index_is_replaced(tmp_path):
    import numpy as np
    import pyarrow as pa

    from c2c_assets.search import index as idx

    home = C2cHome(tmp_path / "home").ensure()
    rng = np.random.default_rng(0)

    def publish(n: int) -> None:
        vectors = rng.normal(size=(n, 16)).astype("float32")
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        ids = pa.table({"post_id": [f"p{i}" for i in range(n)], "content_hash": ["h"] * n})
        index = idx.build(vectors, idx.IndexPlan("flat"))
        info = idx.BuildInfo("e", "post", "flat", {}, n, 16, 1.0, 0.0, 0.0, 0, time.time())
        idx.publish(home, "e", "post", index, ids, info)

    publish(100)
    problems, done = [], threading.Event()

    def searcher() -> None:
        from c2c_assets.search.service import load_index

        while not done.is_set():
            try:
                loaded = load_index(home, "e", "post")
                assert loaded.index.ntotal == len(loaded)
                loaded.search(np.ones(16, dtype="float32") / 4, 5)
            except Exception as error:  # noqa: BLE001 - any failure is a problem
                problems.append(repr(error))

    thread = threading.Thread(target=searcher)
    thread.start()
    for n in range(101, 131):
        publish(n)
    done.set()
    thread.join()
    assert not problems
    assert len([p for p in (home.indexes / "e" / "post").iterdir() if p.is_dir()]) <= 2


EMBED_CHILD = """
import sys, time
from datetime import date
from pathlib import Path
from c2c_assets.embeddings import embed as embeddings
from c2c_assets.encoders import create_encoder
from c2c_assets.home import C2cHome
embeddings.CHUNK_POSTS = 20
encoder = create_encoder("clip-tiny")
real = encoder.embed_posts
def slow(posts):
    time.sleep(0.1)
    return real(posts)
encoder.embed_posts = slow
embeddings.embed_date(C2cHome(Path(sys.argv[1])), date(2024, 3, 1), encoder)
"""


@pytest.mark.parametrize("kill_after_s", [0.05, 0.3, 0.6])
def test_kill_9_mid_embedding_then_rerun_equals_a_clean_run(tmp_path, kill_after_s):
    from c2c_assets.embeddings.embed import embed_date
    from c2c_assets.embeddings.store import embedding_file
    from c2c_assets.encoders import create_encoder

    inbox, home, clean = tmp_path / "inbox", C2cHome(tmp_path / "home"), C2cHome(tmp_path / "clean")
    write_dump(inbox, 300)
    for target in (home, clean):
        ingest_date(inbox, target, DAY)
    child = subprocess.Popen([sys.executable, "-c", EMBED_CHILD, str(home.root)])
    folder = embedding_file(home, DAY, "clip-tiny").parent
    deadline = time.monotonic() + 120
    while not (folder.is_dir() and list(folder.glob(".*.tmp"))) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.01)
    time.sleep(kill_after_s)
    assert child.poll() is None, "the child finished before it could be killed mid-write"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not embedding_file(home, DAY, "clip-tiny").exists()  # nothing half-written became visible

    encoder = create_encoder("clip-tiny")
    embed_date(home, DAY, encoder)
    embed_date(clean, DAY, encoder)
    rows = lambda h: sorted((r["post_id"], r["content_hash"], tuple(r["vector"])) for r in pq.read_table(embedding_file(h, DAY, "clip-tiny")).to_pylist())  # noqa: E731
    assert rows(home) == rows(clean) and len(rows(home)) == 300
    assert not [p for p in home.lake.rglob("*") if p.name.endswith(".tmp")]


@pytest.fixture
def small_volume(tmp_path):
    """A real 2 MB tmpfs (root can mount one here and in CI)."""
    target = tmp_path / "volume"
    target.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(target)], capture_output=True)
    if mounted.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot mount a tmpfs in CI: {mounted.stderr.decode()}")
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield target
    subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_full_disk_gives_a_clear_error_and_keeps_the_previous_partition(tmp_path, small_volume):
    from c2c_assets.lake import StorageError

    inbox, home = tmp_path / "inbox", C2cHome(small_volume / "home")
    write_dump(inbox, 50)
    ingest_date(inbox, home, DAY)
    before = partition_file(home.lake, "posts", {"date": DAY.isoformat()}).read_bytes()
    folder = inbox / "craigslist" / DAY.isoformat()
    rng = __import__("random").Random(0)
    lines = (json.dumps({"pid": str(i), "title": "x", "body": "".join(rng.choices("abcdefghij ", k=3000))}) for i in range(3000))
    (folder / "posts.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(StorageError, match="No space left on device; the previous partitions are unchanged"):
        ingest_date(inbox, home, DAY)
    assert partition_file(home.lake, "posts", {"date": DAY.isoformat()}).read_bytes() == before
    assert not [p for p in home.lake.rglob("*") if p.name.endswith(".tmp")]


def test_a_read_only_lake_gives_a_clear_error(tmp_path, small_volume):
    from c2c_assets.lake import StorageError

    inbox, home = tmp_path / "inbox", C2cHome(small_volume / "home")
    write_dump(inbox, 50)
    ingest_date(inbox, home, DAY)
    before = partition_file(home.lake, "posts", {"date": DAY.isoformat()}).read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(small_volume)], check=True)
    with pytest.raises(StorageError, match="Read-only file system"):
        ingest_date(inbox, home, DAY)
    assert partition_file(home.lake, "posts", {"date": DAY.isoformat()}).read_bytes() == before


def test_two_runs_on_different_partitions_at_once(tmp_path):
    inbox, home = tmp_path / "inbox", C2cHome(tmp_path / "home")
    days = [date(2024, 3, 1), date(2024, 3, 2)]
    for day in days:
        folder = inbox / "offerup" / day.isoformat()
        folder.mkdir(parents=True)
        lines = (json.dumps({"listingId": f"{day.day}-{i}", "title": f"wheel {i}"}) for i in range(2000))
        (folder / "posts.jsonl").write_text("\n".join(lines) + "\n")
    errors = []
    def run(day: date) -> None:
        try:
            ingest_date(inbox, home, day)
        except Exception as error:  # noqa: BLE001 - recorded and asserted below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(day,)) for day in days]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for day in days:
        table = pq.read_table(partition_file(home.lake, "posts", {"date": day.isoformat()}))
        assert table.num_rows == 2000 and all(pid.startswith(f"offerup:{day.day}-") for pid in table.column("post_id").to_pylist())


INDEX_CHILD = """
import sys, time
import numpy as np, pyarrow as pa
from pathlib import Path
from c2c_assets.home import C2cHome
from c2c_assets.search import index as idx
home = C2cHome(Path(sys.argv[1]))
vectors = np.random.default_rng(1).normal(size=(60_000, 64)).astype("float32")
vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
ids = pa.table({"post_id": [f"p{i}" for i in range(len(vectors))], "content_hash": ["h"] * len(vectors)})
print("building", flush=True)
index = idx.build(vectors, idx.IndexPlan("hnsw", {"M": 16, "efConstruction": 40, "efSearch": 32}))
idx.publish(home, "e", "post", index, ids, idx.BuildInfo("e", "post", "hnsw", {}, len(vectors), 64, 1.0, 0.0, 0.0, 0, time.time()))
"""


@pytest.mark.parametrize("kill_after_s", [0.1, 0.5])
def test_kill_9_mid_index_build_keeps_the_live_index(tmp_path, kill_after_s):
    import numpy as np
    import pyarrow as pa

    from c2c_assets.search import index as idx
    from c2c_assets.search.service import load_index

    home = C2cHome(tmp_path / "home").ensure()
    vectors = np.eye(8, dtype="float32")
    ids = pa.table({"post_id": [f"old{i}" for i in range(8)], "content_hash": ["h"] * 8})
    idx.publish(home, "e", "post", idx.build(vectors, idx.IndexPlan("flat")), ids, idx.BuildInfo("e", "post", "flat", {}, 8, 8, 1.0, 0.0, 0.0, 0, time.time()))
    child = subprocess.Popen([sys.executable, "-c", INDEX_CHILD, str(home.root)], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "building"
    time.sleep(kill_after_s)  # mid-build: an HNSW build of 60K vectors takes seconds
    assert child.poll() is None
    child.send_signal(signal.SIGKILL)
    child.wait()
    loaded = load_index(home, "e", "post")
    assert loaded.rows([0])[0][0] == "old0" and loaded.index.ntotal == 8
