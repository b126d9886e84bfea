"""Options declared once: the settings models (pydantic, extra="forbid") are what the domain takes,
what the Dagster run configs are made of, and where the CLI's defaults come from; a bad value names the
option and what it accepts, at the command line and in a run config alike."""

import dagster as dg
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from c2c_assets.analysis.settings import AnalysisSettings
from c2c_assets.cli import app
from c2c_assets.defs.analysis.assets import AnalysisConfig, analyse_encoder
from c2c_assets.defs.embeddings.assets import EmbedConfig, post_embeddings
from c2c_assets.defs.image_to_text.assets import ImageToTextConfig
from c2c_assets.defs.resources import C2cResource
from c2c_assets.defs.search.assets import IndexConfig
from c2c_assets.encoders import RuntimeSettings
from c2c_assets.image_to_text.settings import ImageToTextSettings
from c2c_assets.runner import materialize, register_encoder
from c2c_assets.search.settings import IndexSettings

runner = CliRunner()
PRECISIONS = "'auto', 'fp32', 'fp16' or 'bf16'"


def test_runtime_settings_keep_their_keywords_and_refuse_the_rest():
    assert RuntimeSettings(device="cpu", batch_size=8).batch_size == 8
    assert RuntimeSettings(device="cuda:1").device == "cuda:1"
    for bad, field in [({"device": "gpu"}, "device"), ({"device": "cuda:x"}, "device"), ({"precision": "fp8"}, "precision"),
                       ({"batch_size": 0}, "batch_size"), ({"batch": 4}, "batch")]:
        with pytest.raises(ValidationError) as raised:
            RuntimeSettings(**bad)
        assert raised.value.errors()[0]["loc"] == (field,)
    with pytest.raises(ValidationError, match=PRECISIONS):
        RuntimeSettings(precision="fp8")
    with pytest.raises(ValidationError, match="'pca' or 'umap'"):
        AnalysisSettings(reduction="tsne")


@pytest.mark.parametrize(
    ("config", "settings", "own"),
    [
        (EmbedConfig, RuntimeSettings, {"predict_thin_text", "thin_text_chars"}),
        (AnalysisConfig, AnalysisSettings, set()),
        (ImageToTextConfig, ImageToTextSettings, set()),
        (IndexConfig, IndexSettings, set()),
    ],
)
def test_dagster_configs_are_the_settings_models(config, settings, own):
    assert issubclass(config, dg.Config) and issubclass(config, settings)
    assert set(config.model_fields) == set(settings.model_fields) | own
    for name, field in settings.model_fields.items():
        assert config.model_fields[name].default == field.default
    assert config.model_config["extra"] == "forbid"


def test_configs_hand_the_domain_plain_settings():
    assert EmbedConfig(device="cpu", batch_size=4).runtime() == RuntimeSettings(device="cpu", batch_size=4)
    assert AnalysisConfig(k=3, width=8).settings() == AnalysisSettings(k=3, width=8)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["embed", "--precision", "fp8"], f"error: --precision: input should be {PRECISIONS}, got 'fp8'"),
        (["embed", "--device", "gpu"], "error: --device: input should be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu'"),
        (["embed", "--batch-size", "0"], "error: --batch-size: input should be greater than or equal to 1, got 0"),
        (["analyse", "--reduction", "tsne"], "error: --reduction: input should be 'pca' or 'umap', got 'tsne'"),
        (["analyse", "--algorithm", "dbscan"], "error: --algorithm: input should be 'kmeans' or 'hdbscan', got 'dbscan'"),
        (["image-to-text", "--photos", "some"], "error: --photos: input should be 'all' or 'first', got 'some'"),
        (["index", "--memory-budget-gb", "0"], "error: --memory-budget-gb: input should be greater than 0, got 0.0"),
    ],
)
def test_a_bad_option_at_the_cli_names_it_and_what_it_accepts(arguments, message, tmp_path):
    result = runner.invoke(app, [*arguments, "--home", str(tmp_path / "home")])
    assert result.exit_code == 1
    assert result.output.strip() == message


def test_the_cli_defaults_are_the_models():
    help_text = runner.invoke(app, ["analyse", "--help"], env={"COLUMNS": "200"}).output
    assert f"[default: {AnalysisSettings.model_fields['k'].default}]" in help_text
    help_text = runner.invoke(app, ["embed", "--help"], env={"COLUMNS": "200"}).output
    assert f"[default: {RuntimeSettings.model_fields['batch_size'].default}]" in help_text


@pytest.mark.parametrize(
    ("asset", "op_config", "expected"),
    [
        # Literal choices are Dagster enums: refused before the run starts.
        (post_embeddings, {"precision": "fp8"}, f"post_embeddings config precision: input should be {PRECISIONS}, got 'fp8'"),
        (analyse_encoder, {"reduction": "tsne"}, "analyse_encoder config reduction: input should be 'pca' or 'umap', got 'tsne'"),
        # Other rules are the model's validators, run as the step builds its config.
        (post_embeddings, {"device": "gpu"}, "device: input should be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'gpu'"),
        (analyse_encoder, {"k": 1}, "k: input should be greater than or equal to 2, got 1"),
    ],
)
def test_a_bad_option_in_a_run_config_names_it_and_what_it_accepts(asset, op_config, expected, home, instance):
    register_encoder(instance, "default-tiny")
    key = dg.MultiPartitionKey({"date": "2024-03-01", "encoder": "default-tiny"}) if asset is post_embeddings else "default-tiny"
    outcome = materialize(home, [asset], partition_key=key, config={asset.node_def.name: op_config}, instance=instance)
    assert not outcome.success
    assert outcome.failure == expected


def test_dagster_itself_refuses_a_value_outside_the_choices(home, instance):
    register_encoder(instance, "default-tiny")
    with pytest.raises(dg.DagsterInvalidConfigError, match=r"precision not in enum type Literal\['auto', 'fp32', 'fp16', 'bf16'\]"):
        dg.materialize(
            [post_embeddings], partition_key=dg.MultiPartitionKey({"date": "2024-03-01", "encoder": "default-tiny"}),
            instance=instance, resources={"c2c": C2cResource(home=str(home.root))},
            run_config={"ops": {"post_embeddings": {"config": {"precision": "fp8"}}}},
        )
