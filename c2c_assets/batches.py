"""Many dates in few runs: the CLI's (and the benchmarks') way of ingesting a year of dumps and of
embedding it with a new encoder.

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
class DateRuns:
    """What materializing a list of dates did: per date its metadata (asset -> metadata) or its failure."""

    metadata: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # date -> asset -> metadata
    failures: dict[str, str] = field(default_factory=dict)  # date -> one line
    runs: list[str] = field(default_factory=list)  # Dagster run ids, in order
    retried: list[str] = field(default_factory=list)  # dates run again alone after their range run failed

    def of(self, asset: str) -> dict[str, dict[str, Any]]:
        """date -> ``asset``'s metadata, for the dates that materialized it."""
        return {day: assets[asset] for day, assets in sorted(self.metadata.items()) if asset in assets}


def materialize_dates(
    home: C2cHome,
    assets: Sequence[Any],
    dates: Sequence[date],
    *,
    key_of: Callable[[date], str],
    max_per_run: int,
    instance: dg.DagsterInstance,
    on_chunk: Callable[[list[date]], None] | None = None,
    **materialize_options: Any,
) -> DateRuns:
    """Materialize ``assets`` (and the checks among them) for ``dates``, consecutive dates in one run over
    the range of their partition keys (``key_of(date)``); a failed range is run again date by date."""
    from c2c_assets.runner import RunOutcome, materialize

    runs = DateRuns()

    def run(chunk: list[date]) -> RunOutcome:
        if on_chunk is not None:
            on_chunk(chunk)
        first, last = key_of(chunk[0]), key_of(chunk[-1])
        span = {"partition_key": first} if len(chunk) == 1 else {"partition_range": (first, last)}
        outcome = materialize(home, assets, instance=instance, **span, **materialize_options)
        if outcome.run_id:
            runs.runs.append(outcome.run_id)
        return outcome

    def record(chunk: list[date], outcome: RunOutcome) -> None:
        for day in chunk:
            found = outcome.partitions.get(key_of(day))
            if found:
                runs.metadata[day.isoformat()] = found
            if not outcome.success:
                runs.failures[day.isoformat()] = outcome.failure or "run failed"

    for chunk in contiguous_chunks(dates, max_per_run):
        outcome = run(chunk)
        if outcome.success or len(chunk) == 1:
            record(chunk, outcome)
            continue
        runs.retried.extend(day.isoformat() for day in chunk)
        for day in chunk:
            record([day], run([day]))
    return runs


def ingest_assets() -> list[Any]:
    """The ingest assets, their checks, and the attributes read from the posts' text (``post_attributes``)."""
    from c2c_assets.defs.attributes.assets import post_attributes
    from c2c_assets.defs.ingest import checks
    from c2c_assets.defs.ingest.assets import ingest_dumps

    return [ingest_dumps, checks.lines_accounted_for, checks.post_id_unique, checks.one_row_per_image_reference, post_attributes]


def ingest_dates(
    home: C2cHome,
    inbox: Path,
    dates: Sequence[date],
    *,
    instance: dg.DagsterInstance,
    max_per_run: int | None = None,
    **options: Any,
) -> DateRuns:
    """The ingest assets and their checks for ``dates`` (``MAX_DATES_PER_RUN`` consecutive dates per run)."""
    from c2c_assets.defs.ingest.partitions import MAX_DATES_PER_RUN

    return materialize_dates(
        home, ingest_assets(), dates, key_of=date.isoformat, max_per_run=max_per_run or MAX_DATES_PER_RUN,
        instance=instance, inbox=inbox, **options,
    )


def embed_assets() -> list[Any]:
    from c2c_assets.defs.embeddings.assets import post_embeddings
    from c2c_assets.defs.embeddings.checks import vectors_valid

    return [post_embeddings, vectors_valid]


def embed_dates(
    home: C2cHome,
    encoder: str,
    dates: Sequence[date],
    *,
    instance: dg.DagsterInstance,
    max_per_run: int | None = None,
    **options: Any,
) -> DateRuns:
    """``post_embeddings`` and its check for ``dates`` with ``encoder`` (``MAX_EMBED_DATES_PER_RUN``
    consecutive dates per run: the model loads once per run)."""
    import dagster as dg

    from c2c_assets.defs.embeddings.partitions import MAX_EMBED_DATES_PER_RUN
    from c2c_assets.runner import register_encoder

    register_encoder(instance, encoder)

    def key_of(day: date) -> str:
        return str(dg.MultiPartitionKey({"date": day.isoformat(), "encoder": encoder}))

    return materialize_dates(
        home, embed_assets(), dates, key_of=key_of, max_per_run=max_per_run or MAX_EMBED_DATES_PER_RUN,
        instance=instance, **options,
    )
