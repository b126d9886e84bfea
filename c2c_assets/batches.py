"""Many dates in few runs: the CLI's (and the benchmarks') way of ingesting a year of dumps.

Consecutive dates go into one Dagster run over a partition range (at most ``MAX_DATES_PER_RUN``), the
way the UI's backfills run them (the ingest asset's backfill policy): each date still gets its own
materialization, metadata and check evaluations. When a range run fails, its dates are run again one
by one, so that every date ends with exactly the outcome a per-date run gives it (the good ones
materialized, the bad one failed with its own message) and a bad dump never hides its neighbours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c2c_assets.home import C2cHome

if TYPE_CHECKING:
    import dagster as dg


def contiguous_chunks(dates: Sequence[date], max_per_chunk: int) -> list[list[date]]:
    """``dates`` (sorted, distinct) cut into runs of consecutive days, none longer than ``max_per_chunk``.

    A partition range covers every day between its ends, so a gap in the dumps starts a new chunk."""
    if max_per_chunk < 1:
        raise ValueError("max_per_chunk must be >= 1")
    chunks: list[list[date]] = []
    for day in sorted(set(dates)):
        last = chunks[-1] if chunks else None
        if last and day - last[-1] == timedelta(days=1) and len(last) < max_per_chunk:
            last.append(day)
        else:
            chunks.append([day])
    return chunks


@dataclass
class IngestRuns:
    """What ingesting a list of dates did: per date its ``posts`` summary or its failure."""

    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)  # date -> posts "summary" metadata
    failures: dict[str, str] = field(default_factory=dict)  # date -> one line
    runs: list[str] = field(default_factory=list)  # Dagster run ids, in order
    retried: list[str] = field(default_factory=list)  # dates run again alone after their range run failed


def ingest_assets() -> list[Any]:
    from c2c_assets.defs.ingest import checks
    from c2c_assets.defs.ingest.assets import ingest_dumps

    return [ingest_dumps, checks.lines_accounted_for, checks.post_id_unique, checks.one_row_per_image_reference]


def ingest_dates(
    home: C2cHome,
    inbox: Path,
    dates: Sequence[date],
    *,
    instance: dg.DagsterInstance,
    tags: dict[str, str] | None = None,
    max_per_run: int | None = None,
    on_chunk: Callable[[list[date]], None] | None = None,
    **resource_overrides: Any,
) -> IngestRuns:
    """Materialize the ingest assets and their checks for ``dates``, in as few runs as the chunks allow."""
    from c2c_assets.defs.ingest.partitions import MAX_DATES_PER_RUN
    from c2c_assets.runner import RunOutcome, materialize

    assets = ingest_assets()
    runs = IngestRuns()

    def run(chunk: list[date]) -> RunOutcome:
        if on_chunk is not None:
            on_chunk(chunk)
        first, last = chunk[0].isoformat(), chunk[-1].isoformat()
        span = {"partition_key": first} if len(chunk) == 1 else {"partition_range": (first, last)}
        outcome = materialize(home, assets, instance=instance, inbox=inbox, tags=tags, **span, **resource_overrides)
        if outcome.run_id:
            runs.runs.append(outcome.run_id)
        return outcome

    def record(chunk: list[date], outcome: RunOutcome) -> None:
        for day in chunk:
            key = day.isoformat()
            summary = outcome.partitions.get(key, {}).get("posts", {}).get("summary")
            if summary is not None:
                runs.summaries[key] = summary
            if not outcome.success:
                runs.failures[key] = outcome.failure or "run failed"

    for chunk in contiguous_chunks(dates, max_per_run or MAX_DATES_PER_RUN):
        outcome = run(chunk)
        if outcome.success or len(chunk) == 1:
            record(chunk, outcome)
            continue
        runs.retried.extend(day.isoformat() for day in chunk)
        for day in chunk:
            record([day], run([day]))
    return runs
