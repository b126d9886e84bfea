"""``partitioned_asset_check``: ``dg.asset_check`` with a ``partitions_def``.

Partitioned asset checks are a Dagster preview feature that the ingest and embedding checks rely on
knowingly (a check must load the partition it checks). Dagster warns when such a check is declared:
that one warning is silenced here, for these declarations only, never process-wide.
"""

import warnings
from collections.abc import Callable
from typing import Any

import dagster as dg


def partitioned_asset_check(**kwargs: Any) -> Callable[[Callable[..., Any]], dg.AssetChecksDefinition]:
    def decorate(function: Callable[..., Any]) -> dg.AssetChecksDefinition:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)
            return dg.asset_check(**kwargs)(function)

    return decorate
