"""The ``c2c`` command, end to end on a generated sample, and its start-up cost. (Every command's
"nothing there yet" state: test_nothing_yet.py; options validated by the settings models: test_options.py.)"""

import csv
import json
import subprocess
import sys
from collections import Counter

import pytest
from typer.testing import CliRunner

from c2c_assets.cli import app
from c2c_assets.home import C2cHome
from c2c_assets.sample import generate_sample
from c2c_assets.warehouse import query

runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_dagster_home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("C2C_INBOX", raising=False)


def test_help_does_not_import_dagster_or_heavy_libraries():
    code = "import sys, c2c_assets.cli; print(sorted(m for m in ('dagster', 'pyarrow', 'PIL', 'duckdb', 'torch') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "ingest" in result.output


def test_sample_then_ingest_accounts_for_every_planted_problem(tmp_path):
    home = C2cHome(tmp_path / "home")
    inbox = tmp_path / "inbox"
    summary = generate_sample(inbox, n_posts=90, n_days=2, seed=3)
    result = runner.invoke(app, ["ingest", "--home", str(home.root), "--inbox", str(inbox)])
    assert result.exit_code == 0, result.output
    assert "quarantined lines by reason" in result.output
    quarantined = Counter(dict(query(home, "SELECT reason, count(*) FROM quarantine GROUP BY 1")))
    assert quarantined == Counter(summary.expected_quarantine)
    rejected = Counter(dict(query(home, "SELECT reason, count(*) FROM post_images_all WHERE status = 'rejected' GROUP BY 1")))
    assert rejected == Counter(summary.expected_image_rejections)
    assert query(home, "SELECT count(*) FROM post_images_all") == [(summary.n_images,)]
    lines = dict(query(home, "SELECT dump, count(*) FROM (SELECT dump FROM posts_all UNION ALL SELECT dump FROM quarantine) GROUP BY 1"))
    assert lines == summary.dumps
    with open(summary.labels_path) as handle:
        labelled = {row["post_id"] for row in csv.DictReader(handle)}
    assert {row[0] for row in query(home, "SELECT post_id FROM posts")} == labelled
    assert query(home, "SELECT count(*) FROM posts") == [(summary.n_posts,)]


def test_ingest_one_date_and_query_as_json(tmp_path, examples_inbox):
    home = tmp_path / "home"
    result = runner.invoke(app, ["ingest", "--home", str(home), "--inbox", str(examples_inbox), "--date", "2024-03-01"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["sql", "--home", str(home), "--json", "SELECT post_id, price_usd FROM posts WHERE source = 'offerup' ORDER BY 1 LIMIT 2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"post_id": "offerup:a1b2c3d4e5f6", "price_usd": 350.0},
        {"post_id": "offerup:a1b2c3d4e5f7", "price_usd": 80.0},
    ]


def test_errors_are_clear_and_exit_non_zero(tmp_path, examples_inbox):
    home = str(tmp_path / "home")
    nope = tmp_path / ("a-folder-name-long-enough-that-an-80-column-console-would-wrap-the-path-" * 2) / "nope"
    missing = runner.invoke(app, ["ingest", "--home", home, "--inbox", str(nope)], env={"COLUMNS": "80"})
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert f"inbox {nope} does not exist" in missing.output  # one line: the path is never wrapped
    bad_date = runner.invoke(app, ["ingest", "--home", home, "--inbox", str(examples_inbox), "--date", "March"])
    assert bad_date.exit_code == 1 and "YYYY-MM-DD" in bad_date.output
    no_dump = runner.invoke(app, ["ingest", "--home", home, "--inbox", str(examples_inbox), "--date", "2024-05-05"])
    assert no_dump.exit_code == 1 and "no dump found" in no_dump.output
    bad_sql = runner.invoke(app, ["sql", "--home", home, "SELECT * FROM nowhere"])
    assert bad_sql.exit_code == 1


def test_a_broken_date_fails_while_the_others_land(tmp_path, examples_inbox):
    import shutil

    inbox = tmp_path / "inbox"
    shutil.copytree(examples_inbox, inbox)
    (inbox / "craigslist" / "2024-03-02").mkdir()
    (inbox / "craigslist" / "2024-03-02" / "posts.jsonl").write_text("\n\n")
    home = C2cHome(tmp_path / "home")
    result = runner.invoke(app, ["ingest", "--home", str(home.root), "--inbox", str(inbox)])
    assert result.exit_code == 1
    assert "2024-03-02 failed" in result.output and "empty dump" in result.output
    assert query(home, "SELECT count(*) FROM posts") == [(10,)]


def test_image_to_text_trains_and_report_prints_its_scores(tmp_path):
    home = tmp_path / "home"
    generate_sample(tmp_path / "inbox", n_posts=60, n_days=1, seed=5, bad_inputs=False)
    assert runner.invoke(app, ["ingest", "--home", str(home), "--inbox", str(tmp_path / "inbox")]).exit_code == 0
    result = runner.invoke(app, ["image-to-text", "--home", str(home), "--tiny", "--epochs", "1", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "ensemble" in result.output and "checkpoint.pt" in result.output
    stored = dict(query(C2cHome(home), "SELECT model, mean_cosine FROM image_to_text_eval"))
    result = runner.invoke(app, ["report", "--home", str(home)])
    assert result.exit_code == 0, result.output  # no analysed encoder yet: the scores alone
    for model in ("model_a", "model_b", "ensemble", "baseline"):
        assert f"{stored[model]:.4f}" in result.output
    bad = runner.invoke(app, ["image-to-text", "--home", str(home), "--configuration", "nope"])
    assert bad.exit_code != 0 and "unknown configuration" in bad.output
