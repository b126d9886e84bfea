"""The code location as a whole: every asset documented for the UI, and a snapshot of the graph.

The snapshot makes graph changes visible in review; refresh it with
``C2C_UPDATE_SNAPSHOT=1 pytest c2c_assets_tests/test_definitions.py``.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

from c2c_assets.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_summary() -> dict:
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitions": type(node.partitions_def).__name__ if node.partitions_def else None,
            "kinds": sorted(node.kinds),
            "checks": sorted(c.name for c in node.check_keys),
            "pool": node.pools and sorted(node.pools) or None,
        }
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in definitions.jobs or [] if not j.name.startswith("__")),
        "sensors": sorted(s.name for s in definitions.sensors or []),
        "schedules": sorted(s.name for s in definitions.schedules or []),
    }


def test_every_asset_has_description_group_kinds_and_owner():
    graph = defs().resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        assert node.description, f"{name} has no description"
        assert node.group_name and node.group_name != "default", f"{name} has no group"
        assert node.kinds, f"{name} has no kinds"
        assert node.owners, f"{name} has no owner"


def test_asset_graph_snapshot():
    current = graph_summary()
    if os.environ.get("C2C_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text()), "the asset graph changed: review, then refresh the snapshot"


def test_code_location_loads_without_heavy_libraries():
    code = (
        "import sys, time; t = time.perf_counter(); from c2c_assets.definitions import defs; defs(); "
        "print(round(time.perf_counter() - t, 2), sorted(m for m in ('torch', 'faiss', 'umap', 'transformers', 'sklearn', 'open_clip') if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert output[1].strip() == "[]", f"heavy libraries imported at load time: {output[1]}"
