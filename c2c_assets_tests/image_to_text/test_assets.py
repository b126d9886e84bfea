"""The image-to-text assets trained on a generated sample inbox (tiny towers, CPU)."""

import dagster as dg
import pytest

from c2c_assets.defs.image_to_text.assets import image_to_text
from c2c_assets.defs.ingest.assets import ingest_dumps
from c2c_assets.defs.resources import C2cResource
from c2c_assets.image_to_text.thin_text import checkpoint_path
from c2c_assets.lake import partition_file
from c2c_assets.sample import generate_sample

pytestmark = pytest.mark.slow  # trains the image-to-text ensemble


def test_offline_configuration_trains_and_scores(home, tmp_path):
    inbox = tmp_path / "inbox"
    generate_sample(inbox, n_posts=60, n_days=1, seed=5, bad_inputs=False)
    resources = {"c2c": C2cResource(home=str(home.root), inbox=str(inbox))}
    with dg.instance_for_test() as instance:
        assert dg.materialize([ingest_dumps], partition_key="2024-03-01", instance=instance, resources=resources).success
        result = dg.materialize(
            [image_to_text], partition_key="offline", instance=instance, resources=resources,
            run_config={"ops": {"image_to_text": {"config": {"tiny": True, "epochs": 2, "device": "cpu"}}}},
        )
    assert result.success
    meta = {e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()} for e in result.get_asset_materialization_events()}
    scores = meta["image_to_text_eval"]
    assert set(scores) >= {"ensemble", "model_a", "model_b", "baseline", "mean_cosine"}
    assert -1 <= scores["ensemble"] <= 1 and scores["test_pairs"] > 0
    assert scores["ensemble"] >= min(scores["model_a"], scores["model_b"]) - 1e-6
    assert checkpoint_path(home, "offline").exists()
    assert partition_file(home.lake, "image_to_text_eval", {"configuration": "offline"}).exists()
