"""One way to materialize assets in-process (the CLI and the tests): ``materialize`` returns a
``RunOutcome`` with plain Python metadata and the first failure as one sentence.

Also the Dagster instance the CLI uses (``dagster_instance``: ``$DAGSTER_HOME``, else
``<home>/dagster``, opened without touching the environment) and ``register_encoder``, the one place
that adds an ``encoders`` dynamic partition. Dagster is imported inside the functions.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c2c_assets.home import C2cHome
from c2c_assets.storage import write_atomic

if TYPE_CHECKING:
    import dagster as dg
    from pydantic import BaseModel

_MINIMAL_INSTANCE = "telemetry:\n  enabled: false\n"
_PROJECT_INSTANCE = Path(__file__).resolve().parents[1] / "dagster.yaml"


@dataclass(frozen=True)
class RunOutcome:
    """What one ``materialize`` call did."""

    success: bool
    # asset key ("clusters", "post_embeddings") -> metadata name -> plain value (str, int, float, dict, ...)
    metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    failure: str | None = None  # the first failure, as one line
    failed_checks: list[str] = field(default_factory=list)
    run_id: str | None = None
    # partition key -> asset key -> metadata, for runs over a partition range (one entry for a one-partition run)
    partitions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    # partition key -> the checks that failed on it
    failed_partition_checks: dict[str, list[str]] = field(default_factory=dict)


def dagster_folder(home: C2cHome) -> Path:
    """``$DAGSTER_HOME`` when set (what ``dg dev`` and the daemon read), else ``<home>/dagster``."""
    chosen = os.environ.get("DAGSTER_HOME")
    return Path(chosen).expanduser().resolve() if chosen else home.dagster_home


def dagster_instance(home: C2cHome) -> dg.DagsterInstance:
    """The persistent instance in ``dagster_folder(home)`` (its ``dagster.yaml`` copied from the
    project's when missing), so that CLI runs show in the UI. No environment variable is set."""
    from dagster import DagsterInstance

    folder = dagster_folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    if not config.exists():
        write_atomic(config, _PROJECT_INSTANCE.read_bytes() if _PROJECT_INSTANCE.exists() else _MINIMAL_INSTANCE)
    return DagsterInstance.from_config(str(folder))


def register_encoder(instance: dg.DagsterInstance, name: str) -> bool:
    """Add ``name`` to the ``encoders`` dynamic partitions (the only place that does); True if it was new."""
    from c2c_assets.defs.embeddings.partitions import encoders

    if instance.has_dynamic_partition(encoders.name, name):
        return False
    instance.add_dynamic_partitions(encoders.name, [name])
    return True


def materialize(
    home: C2cHome,
    assets: Sequence[Any],
    *,
    partition_key: str | Any | None = None,
    partition_range: tuple[str, str] | None = None,
    config: Mapping[str, BaseModel | Mapping[str, Any]] | None = None,
    instance: dg.DagsterInstance | None = None,
    inbox: Path | str | None = None,
    tags: Mapping[str, str] | None = None,
    log_level: str = "WARNING",
    **resource_overrides: Any,
) -> RunOutcome:
    """Materialize ``assets`` (and the checks among them) in-process, never raising for a failed run.

    ``config`` maps an op name (``post_embeddings``, ``analyse_encoder``...) to its config: a pydantic
    model (``RuntimeSettings``, ``AnalysisSettings``...; only the fields set away from their defaults
    are passed) or a dict. ``partition_range`` (first, last) runs every partition between them in one
    run (assets with a backfill policy that allows it). ``resource_overrides`` are further ``C2cResource`` fields
    (``allow_private_networks=True``...). Without ``instance``, ``dagster_instance(home)`` is used.
    """
    import dagster as dg
    from dagster._core.errors import DagsterInvalidConfigError

    from c2c_assets.defs.resources import C2cResource

    resource = C2cResource(
        home=str(home.root), lake_url=home.lake_url, images_url=home.images_url,
        inbox=None if inbox is None else str(inbox), **resource_overrides,
    )
    ops = {name: {"config": _config_dict(value)} for name, value in (config or {}).items()}
    run_config = {"ops": ops, "loggers": {"console": {"config": {"log_level": log_level}}}}
    from c2c_assets.orphans import fail_orphaned_runs, process_tags

    instance = instance if instance is not None else dagster_instance(home)
    # A run left STARTED by a killed process would hold its pool slot forever: fail it first.
    fail_orphaned_runs(instance)
    run_tags = {**process_tags(), **(tags or {})}
    if partition_range is not None:
        from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

        if partition_key is not None:
            raise ValueError("give partition_key or partition_range, not both")
        run_tags |= {ASSET_PARTITION_RANGE_START_TAG: partition_range[0], ASSET_PARTITION_RANGE_END_TAG: partition_range[1]}
    try:
        result = dg.materialize(
            list(assets), partition_key=partition_key, resources={"c2c": resource},
            instance=instance, raise_on_error=False, tags=run_tags, run_config=run_config,
        )
    except DagsterInvalidConfigError as error:
        return RunOutcome(success=False, failure=config_error_sentence(error))
    metadata: dict[str, dict[str, Any]] = {}
    partitions: dict[str, dict[str, dict[str, Any]]] = {}
    for event in result.get_asset_materialization_events():
        asset = event.asset_key.to_user_string()
        plain_metadata = {name: plain(value) for name, value in event.materialization.metadata.items()}
        metadata[asset] = plain_metadata
        if event.materialization.partition is not None:
            partitions.setdefault(str(event.materialization.partition), {})[asset] = plain_metadata
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    failed_partition_checks: dict[str, list[str]] = {}
    for evaluation in failed:
        if evaluation.partition is not None:
            failed_partition_checks.setdefault(str(evaluation.partition), []).append(evaluation.check_name)
    failure = None
    if failed:
        first = failed[0]
        where = f" on {first.partition}" if first.partition is not None and partition_range is not None else ""
        failure = f"check {first.check_name} failed{where}" + (f": {first.description}" if first.description else "")
    elif not result.success:
        failure = step_failure_sentence(result)
    return RunOutcome(
        success=result.success and not failed, metadata=metadata, failure=failure,
        failed_checks=[e.check_name for e in failed], run_id=result.run_id,
        partitions=partitions, failed_partition_checks=failed_partition_checks,
    )


def _config_dict(value: Any) -> dict[str, Any]:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    return dict(value)


def plain(value: Any) -> Any:
    """A Dagster ``MetadataValue`` as a plain Python value (Markdown, text, path, url -> str; JSON -> dict...)."""
    inner = getattr(value, "value", value)
    if inner is None or isinstance(inner, (str, bool, int, float, dict, list)):
        return inner
    if isinstance(inner, os.PathLike):
        return os.fspath(inner)
    return inner


# Exceptions whose message says it all: their class name is left out of the sentence.
_QUIET = {"RuntimeError", "ValueError", "Failure", "EncoderError", "SearchError", "WeightsNotFound"}
_WRAPPERS = {"DagsterExecutionStepExecutionError", "DagsterUserCodeExecutionError", "DagsterExecutionInterruptedError"}


def step_failure_sentence(result: Any) -> str:
    """The first failed step's innermost user error, as one line."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            while error.cause is not None and (error.cls_name in _WRAPPERS or "Error occurred while" in error.message):
                error = error.cause
            return error_sentence(error.cls_name, error.message)
    return "run failed"


def error_sentence(cls_name: str | None, message: str) -> str:
    """``message`` (as ``traceback.format_exception_only`` wrote it) as one line."""
    text = message.strip()
    if cls_name and re.match(rf"^[\w.]*\b{re.escape(cls_name)}: ", text):
        body = text.split(": ", 1)[1]
        text = body if cls_name in _QUIET else f"{cls_name}: {body}"
    if cls_name == "ValidationError":
        return validation_sentence(text)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines) if lines else (cls_name or "step failed")


def validation_sentence(text: str) -> str:
    """pydantic's ``ValidationError`` text (``1 validation error for X / field / message [type=...]``)
    as ``field: message, got value`` sentences."""
    lines = text.splitlines()
    parts, location = [], None
    for line in lines[1:]:
        if not line.startswith(" "):
            location = line.strip()
        elif location is not None and not line.strip().startswith("For further information"):
            found = re.match(r"\s*(.*?)\s*\[type=[^,\]]*(?:, input_value=(.*?))?(?:, input_type=\w+)?\]\s*$", line)
            message, value = (found.group(1), found.group(2)) if found else (line.strip(), None)
            message = message.removeprefix("Value error, ")
            message = message[:1].lower() + message[1:]
            parts.append(f"{location}: {message}" + (f", got {value}" if value and "got" not in message else ""))
            location = None
    return "; ".join(parts) if parts else lines[0]


def config_error_sentence(error: Any) -> str:
    """A run config Dagster refused (an unknown option, a value outside a Literal's choices), as one line."""
    sentences = []
    for item in getattr(error, "errors", []) or []:
        message = item.message
        found = re.match(r"Value at path root:ops:(\w+):config:(\w+) not in enum type Literal\[(.*)\] got (.*)$", message)
        if found:
            op, option, allowed, value = found.groups()
            choices = [c.strip() for c in allowed.split(",")]
            listed = ", ".join(choices[:-1]) + f" or {choices[-1]}" if len(choices) > 1 else choices[0]
            message = f"{op} config {option}: input should be {listed}, got {value!r}"
        sentences.append(" ".join(message.split()))
    return "; ".join(sentences) or " ".join(str(error).split())
