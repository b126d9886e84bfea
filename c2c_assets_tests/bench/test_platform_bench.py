"""``bench/platform_bench.py`` at a tiny size, as a smoke test: every stage runs through the real
assets and prints its row (``stage | wall s | peak RSS GB | target | verdict``)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "platform_bench.py"
STAGES = ("ingest", "vectors", "index", "analyse", "sql", "search", "serve", "nightly", "backfill")


@pytest.mark.slow
def test_platform_bench_smoke(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("C2C_HOME", "DAGSTER_HOME", "C2C_LAKE_URL", "C2C_IMAGES_URL", "C2C_INBOX")}
    result = subprocess.run(
        [sys.executable, str(BENCH), "--posts", "2000", "--days", "4", "--width", "32", "--backfill-days", "2",
         "--home", str(tmp_path / "home"), "--keep"],
        check=False, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    rows = {}
    for line in result.stdout.splitlines():
        cells = [cell.strip() for cell in line.split(" | ")]
        if len(cells) == 5 and cells[0] != "stage":
            rows[cells[0].split(" ")[0]] = cells
    assert set(rows) == set(STAGES), result.stdout
    for stage, (_, wall, rss, target, verdict) in rows.items():
        assert float(wall) > 0 and float(rss) > 0, (stage, wall, rss)
        assert target and verdict, stage
    # A tiny inbox is far below the targets' size: size-dependent rows are marked, per-query ones judged.
    for stage in ("ingest", "index", "analyse"):
        assert rows[stage][4].startswith("smoke"), rows[stage]
    for stage in ("sql", "search"):
        assert rows[stage][4].startswith(("PASS", "MISS")), rows[stage]
    assert rows["serve"][4].startswith("p95 ") and rows["serve"][4].endswith(("PASS", ")")), rows["serve"]
    assert "quarantined 0" in result.stdout
    assert "FAILED" not in result.stdout
    assert "recall@10" in rows["index"][0]

    # --again: one more nightly day on the kept home, against the same full run.
    again = subprocess.run([sys.executable, str(BENCH), "--again", "--home", str(tmp_path / "home")],
                           check=False, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr[-4000:]
    nightly = [line for line in again.stdout.splitlines() if line.startswith("nightly (")]
    assert len(nightly) == 1 and "of the full run" in nightly[0], again.stdout
    assert "new, 20 old ones changed" in again.stdout and "FAILED" not in again.stdout
