"""``chunked_asset``: ``dg.asset`` with a backfill policy, so that a backfill runs many partitions per run.

``backfill_policy`` on ``@asset`` is a Dagster beta (on ``@multi_asset`` it is not); the platform relies
on it knowingly, so its one warning is silenced for these declarations only, never process-wide.
"""

import warnings
from collections.abc import Callable
from typing import Any

import dagster as dg


def chunked_asset(**kwargs: Any) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
        return dg.asset(**kwargs)
