"""Progress of long steps: logged with counts and rates, and shown as a bar by the CLI.

Steps call ``reporter(task, log)(done, total)``. The CLI, which runs assets in-process, subscribes
a rich progress bar with ``listen``; in the UI the same calls end up in the run's logs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Listener = Callable[[str, int, int], None]
_listeners: list[Listener] = []
LOG_EVERY_S = 10.0


@contextmanager
def listen(listener: Listener) -> Iterator[None]:
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def reporter(task: str, log: Callable[[str], None]) -> Callable[[int, int], None]:
    started = time.perf_counter()
    last_logged = [started]

    def report(done: int, total: int) -> None:
        now = time.perf_counter()
        for listener in list(_listeners):
            listener(task, done, total)
        if done >= total or now - last_logged[0] >= LOG_EVERY_S:
            last_logged[0] = now
            rate = done / max(now - started, 1e-9)
            log(f"{task}: {done}/{total} ({rate:,.1f}/s)")

    return report
