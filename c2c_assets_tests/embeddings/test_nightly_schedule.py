from datetime import datetime, timezone

import dagster as dg

from c2c_assets.definitions import defs
from c2c_assets.defs.ingest.assets import ingest_dumps
from c2c_assets.defs.resources import C2cResource


def test_one_run_per_encoder_for_the_previous_day(home, examples_inbox):
    definitions = defs()
    schedule = definitions.resolve_schedule_def("nightly_embeddings")
    with dg.instance_for_test() as instance:
        tick = datetime(2024, 3, 2, 3, 0, tzinfo=timezone.utc)
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=definitions.get_repository_def()
        )
        assert "no posts ingested for 2024-03-01" in schedule.evaluate_tick(context).skip_message

        dg.materialize([ingest_dumps], partition_key="2024-03-01", instance=instance,
                       resources={"c2c": C2cResource(home=str(home.root), inbox=str(examples_inbox))})
        assert "no encoder registered" in schedule.evaluate_tick(context).skip_message

        instance.add_dynamic_partitions("encoders", ["default", "clip-tiny"])
        requests = schedule.evaluate_tick(context).run_requests
        assert sorted(r.partition_key for r in requests) == ["2024-03-01|clip-tiny", "2024-03-01|default"]
        assert all(r.job_name in (None, "embed_job") for r in requests)
