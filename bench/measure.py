"""What the benchmarks share: a measurement in a fresh process (its own peak RSS, 2 BLAS/OpenMP threads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any


def child(script: str, args: list[str]) -> dict[str, Any]:
    """Run ``script --child ARGS`` in a fresh process; it prints one JSON line, returned as a dict."""
    env = {**os.environ, "OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    done = subprocess.run([sys.executable, script, "--child", *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
