from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: wall-clock limits flake on shared 2-core machines (benchmarks measure speed).
settings.register_profile("c2c", deadline=None, print_blob=True)
settings.load_profile("c2c")

from c2c_assets.home import C2cHome

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("C2C_SHARED", REPO.parent / "shared"))


@pytest.fixture
def examples_inbox() -> Path:
    inbox = SHARED / "examples" / "inbox"
    if not inbox.is_dir():
        pytest.fail(f"the shared example inbox is missing at {inbox} (set C2C_SHARED)")
    return inbox


@pytest.fixture
def home(tmp_path: Path) -> C2cHome:
    return C2cHome(tmp_path / "home").ensure()
