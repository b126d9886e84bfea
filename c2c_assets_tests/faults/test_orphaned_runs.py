"""A CLI run whose process is killed with -9 holds its `gpu` pool slot; the next run frees it instead of
waiting for it forever."""

import signal
import subprocess
import sys
import time

import dagster as dg
import pytest

from c2c_assets.home import C2cHome
from c2c_assets.orphans import PID_TAG, fail_orphaned_runs
from c2c_assets.runner import dagster_instance

pytestmark = pytest.mark.slow  # kill -9 of a real subprocess

CHILD = """
import sys, time
from pathlib import Path
import dagster as dg
from c2c_assets.home import C2cHome
from c2c_assets.runner import dagster_instance, materialize

marker = Path(sys.argv[2])

@dg.asset(pool="gpu")
def holds_the_gpu() -> None:
    marker.write_text("claimed")
    time.sleep(120)

home = C2cHome(Path(sys.argv[1]))
materialize(home, [holds_the_gpu], instance=dagster_instance(home))
"""


def test_a_killed_runs_slot_is_freed_and_the_run_marked_failed(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = C2cHome(tmp_path / "home").ensure()
    marker = tmp_path / "claimed"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(home.root), str(marker)])
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert marker.exists(), "the child never started its step"
    instance = dagster_instance(home)
    assert instance.event_log_storage.get_concurrency_info("gpu").active_slot_count == 1
    assert fail_orphaned_runs(instance) == [], "a live run is left alone"

    child.send_signal(signal.SIGKILL)
    child.wait()
    [run] = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    assert run.tags[PID_TAG] == str(child.pid)
    assert fail_orphaned_runs(instance) == [run.run_id]
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    assert instance.event_log_storage.get_concurrency_info("gpu").active_slot_count == 0
    assert fail_orphaned_runs(instance) == []
