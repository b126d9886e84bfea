from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: wall-clock limits flake on shared 2-core machines (benchmarks measure speed).
settings.register_profile("c2c", deadline=None, print_blob=True)
settings.load_profile("c2c")

from c2c_assets.home import C2cHome
from c2c_assets_tests.fixtures import EXAMPLE_INBOX


@pytest.fixture(scope="session", autouse=True)
def session_home(tmp_path_factory: pytest.TempPathFactory):
    """Code that falls back to $C2C_HOME (the default encoder's ONNX cache, for one) writes into a
    session folder, never into the repository's .c2c; the export is then shared by the whole run."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("C2C_HOME", str(tmp_path_factory.mktemp("c2c_home")))
        yield


@pytest.fixture
def examples_inbox() -> Path:
    return EXAMPLE_INBOX


@pytest.fixture
def home(tmp_path: Path) -> C2cHome:
    return C2cHome(tmp_path / "home").ensure()


@pytest.fixture
def instance():
    """A throwaway Dagster instance (its own temporary storage) for ``materialize`` runs."""
    import dagster as dg

    with dg.instance_for_test() as test_instance:
        yield test_instance


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that drives a real browser is slow (Chromium starts, pages render): one rule, not a marker per test."""
    for item in items:
        if {"browser", "open_page", "dagster_ui"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
