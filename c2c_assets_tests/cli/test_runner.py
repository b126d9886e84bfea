"""``c2c_assets.runner``: one materialize for the CLI and the tests, a typed outcome, one failure sentence."""

import dagster as dg
import pytest

from c2c_assets.runner import RunOutcome, dagster_instance, materialize, register_encoder


@dg.asset
def described(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={
        "table": dg.MetadataValue.md("| a |\n|---|"), "summary": dg.MetadataValue.json({"dumps": [1]}),
        "path": dg.MetadataValue.path("/tmp/x.parquet"), "n": 3, "rate": 1.5, "url": dg.MetadataValue.url("file:///tmp"),
        "dagster/row_count": 7,
    })


@dg.asset_check(asset=described, blocking=True)
def described_ok() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, description="2 lines not accounted for")


@dg.asset
def broken() -> None:
    raise RuntimeError("no encoder has clusters yet:\nmaterialize clusters first")


@dg.asset
def surprising() -> None:
    {}["missing"]


def test_metadata_comes_back_as_plain_values(home, instance):
    outcome = materialize(home, [described], instance=instance)
    assert isinstance(outcome, RunOutcome) and outcome.success and outcome.failure is None and outcome.run_id
    assert outcome.metadata == {"described": {
        "table": "| a |\n|---|", "summary": {"dumps": [1]}, "path": "/tmp/x.parquet", "n": 3, "rate": 1.5,
        "url": "file:///tmp", "dagster/row_count": 7,
    }}


@pytest.mark.parametrize(
    ("assets", "failure"),
    [
        ([described, described_ok], "check described_ok failed: 2 lines not accounted for"),
        ([broken], "no encoder has clusters yet: materialize clusters first"),
        ([surprising], "KeyError: 'missing'"),  # not one of ours: the exception's name stays
    ],
)
def test_the_first_failure_is_one_sentence(assets, failure, home, instance):
    outcome = materialize(home, assets, instance=instance)
    assert not outcome.success and outcome.failure == failure
    assert outcome.failed_checks == (["described_ok"] if len(assets) == 2 else [])


def test_the_instance_is_dagster_home_else_under_the_home(home, tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with dagster_instance(home) as instance:
        assert register_encoder(instance, "default-tiny") and not register_encoder(instance, "default-tiny")
        assert instance.get_dynamic_partitions("encoders") == ["default-tiny"]
    assert (home.dagster_home / "dagster.yaml").exists()
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    with dagster_instance(home) as instance:
        assert instance.get_dynamic_partitions("encoders") == []
    assert (tmp_path / "elsewhere" / "dagster.yaml").exists()
