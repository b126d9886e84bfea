"""``partitioned_asset_check``: ``dg.asset_check`` with a ``partitions_def``; ``per_partition``: its
evaluations, one per partition of the run.

Partitioned asset checks are a Dagster preview feature that the ingest and embedding checks rely on
knowingly (a check must load the partition it checks). Dagster warns when such a check is declared:
that one warning is silenced here, for these declarations only, never process-wide.
"""

import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import dagster as dg


def partitioned_asset_check(**kwargs: Any) -> Callable[[Callable[..., Any]], dg.AssetChecksDefinition]:
    def decorate(function: Callable[..., Any]) -> dg.AssetChecksDefinition:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)
            return dg.asset_check(**kwargs)(function)

    return decorate


Verdict = tuple[bool, Mapping[str, Any]]  # passed, metadata


def per_partition(
    context: dg.AssetCheckExecutionContext, asset: dg.AssetKey, check_name: str, verdict: Callable[[str], Verdict]
) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:
    """One evaluation per partition the run covers: a run over a range (a backfill's chunk) is checked
    exactly as one run per partition would be. (``AssetCheckResult`` takes the step's single partition
    key, which a range run does not have; an evaluation names its partition itself.)"""
    for key in context.partition_keys:
        passed, metadata = verdict(str(key))
        yield dg.AssetCheckEvaluation(
            asset_key=asset, check_name=check_name, passed=passed, metadata=dict(metadata), partition=str(key), blocking=True
        )
    # The check's own output carries nothing: the evaluations above are its results.
    yield dg.Output(None)
