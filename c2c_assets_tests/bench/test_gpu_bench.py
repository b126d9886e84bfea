"""``bench/gpu_bench.py --smoke`` runs end to end on CPU (tiny configs, tiny FAISS sizes), so the GPU
benchmark cannot rot between the runs on a GPU machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_bench_smoke_runs_every_architecture_and_faiss(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "C2C_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "2"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu_bench.py"), "--smoke"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for arch in ("vit", "clip-b32", "imagebind", "openflamingo"):
        assert f"| {arch} | 2 |" in out and f"| {arch} | 4 |" in out, out
    assert "clip-retrieval: 1,500 samples/s" in out
    assert "k-means k=4 on 4,000 x 32" in out and "platform index build (ivf" in out
