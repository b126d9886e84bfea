"""In-process runs whose process died (kill -9, an out-of-memory kill, a power cut).

A run that ``runner.materialize`` starts lives in the calling process. When that process dies the
run stays STARTED in the instance and keeps the ``gpu`` pool slot its embedding step claimed, so the
next embedding run would wait for that slot forever. Dagster's run monitoring frees such runs only for
runs a launcher started (the daemon checks their run workers); nothing watches in-process runs. So each
run is tagged with its host, process id and the process's start time, and before a run starts, runs
of this host whose process is gone are marked failed, which frees their slots.
"""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dagster as dg

HOST_TAG, PID_TAG, STARTED_TAG = "c2c/host", "c2c/pid", "c2c/process_started"


def _process_started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), which tells a reused pid apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return started is None or _process_started(pid) in (None, started)


def process_tags() -> dict[str, str]:
    """The tags that say which process runs a run."""
    started = _process_started(os.getpid())
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid()), **({STARTED_TAG: started} if started else {})}


def fail_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the STARTED runs of this host whose process is gone; returns their run ids."""
    import dagster as dg

    host = socket.gethostname()
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED], tags={HOST_TAG: host}), limit=1000
    )
    failed = []
    for record in records:
        run = record.dagster_run
        pid = int(run.tags.get(PID_TAG, "0") or 0)
        if pid <= 0 or pid == os.getpid() or _alive(pid, run.tags.get(STARTED_TAG)):
            continue
        instance.report_run_failed(run, message=f"the process that ran it (pid {pid} on {host}) is gone: killed or crashed")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        failed.append(run.run_id)
    return failed
