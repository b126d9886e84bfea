"""Every command on a new, empty home: one ``error:`` line saying what to run first, no traceback, exit 1,
and nothing written to the environment (the home reaches the runs explicitly)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from c2c_assets.cli import app

runner = CliRunner()
LONG = "a-folder-name-long-enough-that-an-80-column-console-would-wrap-the-path-"

# (arguments, what the one line must say); every command gets --home <an empty folder>.
NOTHING_YET = {
    "ingest": (["ingest"], "does not exist: write one with `c2c sample`"),
    "ingest-date": (["ingest", "--date", "March"], "--date should be YYYY-MM-DD"),
    "embed": (["embed"], "no ingested posts for any date yet: run `c2c ingest` first"),
    "embed-unknown-encoder": (["embed", "-e", "nope"], "unknown encoder 'nope'"),
    "index": (["index"], "encoder 'default' has no embeddings yet: run `c2c embed -e default` first"),
    "search": (["search", "rims"], "encoder 'default' has no search index yet: run `c2c index -e default` first"),
    "search-unknown-encoder": (["search", "rims", "-e", "nope"], "unknown encoder 'nope'"),
    "serve": (["serve"], "encoder 'default' has no search index yet: run `c2c index -e default` first"),
    "serve-unknown-encoder": (["serve", "-e", "nope"], "unknown encoder 'nope'"),
    "analyse": (["analyse", "-e", "default-tiny"], "encoder 'default-tiny' has no embeddings yet"),
    "report": (["report"], "no clusters yet: run `c2c analyse -e NAME` first"),
    "image-to-text": (["image-to-text"], "no ingested posts yet: run `c2c ingest` first"),
    "image-to-text-configuration": (["image-to-text", "-c", "nope"], "unknown configuration 'nope'"),
    "sql": (["sql", "SELECT 1"], "yet: run `c2c ingest` first"),
    "quality": (["quality"], "no ingested posts yet: run `c2c ingest` first"),
    "dupes": (["dupes"], "no ingested posts yet: run `c2c ingest` first"),
    "reposts": (["reposts", "-e", "default"], "no ingested posts yet: run `c2c ingest` first"),
    "flags": (["flags", "--json"], "no ingested posts yet: run `c2c ingest` first"),
    "price": (["price", "265/70R17 tires"], "no ingested posts yet: run `c2c ingest` first"),
    "appraise": (["appraise"], "encoder 'default' has no embeddings yet: run `c2c embed -e default` first"),
    "backfill": (["backfill", "-e", "default"], "no ingested date to backfill: run `c2c ingest` first"),
    "backfill-unknown-encoder": (["backfill", "-e", "nope"], "unknown encoder 'nope'"),
    "encoders-add-unknown-family": (["encoders", "add", "mine", "--family", "nope"], "unknown encoder family 'nope'"),
    "encoders-add-no-family": (["encoders", "add", "mine"], "give --family"),
    "encoders-add-bad-option": (["encoders", "add", "mine", "--family", "clip", "-o", "novalue"], "--option takes KEY=VALUE"),
}


@pytest.fixture
def empty_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the instance goes under <home>/dagster, found without the variable
    monkeypatch.delenv("C2C_INBOX", raising=False)
    return tmp_path / LONG / "home"


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize("case", sorted(NOTHING_YET))
def test_nothing_there_yet_is_one_line_and_exit_1(case, empty_home):
    arguments, expected = NOTHING_YET[case]
    before = dict(os.environ)
    result = runner.invoke(app, [*arguments, "--home", str(empty_home)], env={"COLUMNS": "80"})
    assert result.exit_code == 1, result.output
    line = one_line(result.output)
    assert line.startswith("error: ") and expected in line, line
    assert dict(os.environ) == before  # no C2C_HOME / DAGSTER_HOME set on the way


def test_paths_in_errors_stay_whole(empty_home):
    result = runner.invoke(app, ["sql", "SELECT 1", "--home", str(empty_home)], env={"COLUMNS": "80"})
    assert f"no warehouse at {empty_home.resolve() / 'warehouse.duckdb'} yet" in one_line(result.output)


def test_views_and_encoders_list_work_on_an_empty_home(empty_home):
    views = runner.invoke(app, ["views", "--home", str(empty_home)])
    assert views.exit_code == 0 and "posts" in views.output, views.output  # empty views, filled as assets land
    listed = runner.invoke(app, ["encoders", "list", "--json", "--home", str(empty_home)])
    assert listed.exit_code == 0 and '"default"' in listed.output
    assert (empty_home / "dagster" / "dagster.yaml").exists()


@pytest.mark.parametrize("arguments", [["report"], ["backfill", "-e", "default"]])
def test_the_installed_command_prints_one_line_too(arguments, empty_home):
    """The real entry point, in its own process with a narrow terminal: still one whole line on stderr."""
    c2c = Path(sys.executable).parent / "c2c"
    env = {**os.environ, "COLUMNS": "60"}
    done = subprocess.run([str(c2c), *arguments, "--home", str(empty_home)], check=False, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert one_line(done.stderr).startswith("error: ")
