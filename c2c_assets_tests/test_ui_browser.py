"""The Dagster UI in a real browser: the asset catalog, one ingest run, its metadata on the asset page.

A `dagster-webserver` serves this project's code location from a throwaway ``DAGSTER_HOME`` whose
instance uses the ``DefaultRunCoordinator`` (a launched run starts at once, without ``dagster-daemon``)
and has telemetry off. ``C2C_HOME`` is a temp folder and ``C2C_INBOX`` a copy of the shared example
inbox. Headless Chromium (Debian's, driven by Playwright through ``c2c_assets_tests/browser.py``)
checks the catalog lists the platform's assets; the sample's ``2024-03-01`` partition of
``ingest_job`` is launched through the webserver's GraphQL API; the browser then reads the ``posts``
materialization's metadata on the asset's Events tab.

Nothing leaves 127.0.0.1: the page's requests to any other origin are aborted and fail the test.
The webserver, its code server and the run's processes share one process group, which the fixture's
teardown terminates (SIGTERM, then SIGKILL after 10 s).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from c2c_assets_tests.browser import DEFAULT_TIMEOUT_MS, attach_log, browser  # noqa: F401  (browser: a fixture)
from c2c_assets_tests.fixtures import EXAMPLE_INBOX, REPO

PARTITION = "2024-03-01"  # the scrape date of the contract's example inbox
PLATFORM_ASSETS = ("posts", "quarantine", "post_images", "post_embeddings")
EXPECTED_POSTS = 10  # 5 craigslist + 5 offerup lines, all valid

SERVER_START_TIMEOUT_S = 60
RUN_TIMEOUT_S = 120
STOP_GRACE_S = 10

INSTANCE_YAML = """\
# Written by test_ui_browser.py: launched runs start at once (no daemon), nothing is reported out.
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: DefaultRunCoordinator
"""

# A direct opener: a proxy configured in the environment must never see requests to 127.0.0.1.
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class DagsterUI:
    base: str
    log_path: Path
    process: subprocess.Popen

    def log_tail(self, n: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no webserver log)"
        return "\n".join(lines[-n:])

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.base}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with _HTTP.open(request, timeout=30) as response:
            payload = json.load(response)
        assert not payload.get("errors"), f"GraphQL errors: {payload['errors']}"
        return payload["data"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the webserver's process group (code server, run workers), SIGKILL what is left after the grace."""
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        pgid = process.pid  # the leader is gone; its group may not be
    for sig, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, 5)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue
    # Whatever the leader did, no member of the group may outlive the test.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@pytest.fixture
def dagster_ui(tmp_path: Path) -> Iterator[DagsterUI]:
    inbox_src = EXAMPLE_INBOX
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML)
    inbox = tmp_path / "inbox"
    shutil.copytree(inbox_src, inbox)
    c2c_home = tmp_path / "c2c_home"
    c2c_home.mkdir()

    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "C2C_HOME": str(c2c_home),
        "C2C_INBOX": str(inbox),
        "HF_HUB_OFFLINE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "webserver.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port)]
            + ["-m", "c2c_assets.definitions"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so teardown reaches every child
        )
    ui = DagsterUI(base=f"http://127.0.0.1:{port}", log_path=log_path, process=process)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"dagster-webserver exited with {process.returncode}:\n{ui.log_tail()}")
            try:
                with _HTTP.open(f"{ui.base}/server_info", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"dagster-webserver did not answer /server_info in {SERVER_START_TIMEOUT_S} s:\n{ui.log_tail()}"
                )
            time.sleep(0.25)
        yield ui
    finally:
        _stop_group(process)


WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name jobs { name } } }
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""

LAUNCH_RUN = """
mutation Launch($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on InvalidSubsetError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on PipelineNotFoundError { message }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on PresetNotFoundError { message }
    ... on NoModeProvidedError { message }
  }
}
"""

RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { status }
    ... on PythonError { message }
  }
}
"""

RUN_FAILURES = """
query RunFailures($runId: ID!) {
  logsForRun(runId: $runId) {
    __typename
    ... on EventConnection {
      events {
        __typename
        ... on MessageEvent { message level }
      }
    }
  }
}
"""

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def _find_job(ui: DagsterUI, job_name: str) -> tuple[str, str]:
    """(location, repository) that hold ``job_name``, read from the workspace rather than guessed."""
    workspace = ui.graphql(WORKSPACE_QUERY)["workspaceOrError"]
    assert workspace["__typename"] == "Workspace", workspace
    found, errors = [], []
    for entry in workspace["locationEntries"]:
        location = entry["locationOrLoadError"] or {}
        if location.get("__typename") != "RepositoryLocation":
            errors.append(f"{entry['name']}: {location}")
            continue
        for repo in location["repositories"]:
            if job_name in {job["name"] for job in repo["jobs"]}:
                found.append((location["name"], repo["name"]))
    assert len(found) == 1, f"{job_name} found in {found}; location errors: {errors}"
    return found[0]


def _run_partition(ui: DagsterUI, job_name: str, partition: str) -> str:
    location, repository = _find_job(ui, job_name)
    params = {
        "selector": {"repositoryLocationName": location, "repositoryName": repository, "jobName": job_name},
        "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
        "runConfigData": {},
    }
    launched = ui.graphql(LAUNCH_RUN, {"executionParams": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    deadline = time.monotonic() + RUN_TIMEOUT_S
    status = launched["run"]["status"]
    while status not in TERMINAL:
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} still {status} after {RUN_TIMEOUT_S} s:\n{ui.log_tail()}")
        time.sleep(1)
        result = ui.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]
        assert result["__typename"] == "Run", result
        status = result["status"]
    if status != "SUCCESS":
        logs = ui.graphql(RUN_FAILURES, {"runId": run_id})["logsForRun"]
        errors = [e.get("message") for e in logs.get("events", []) if e.get("level") in ("ERROR", "CRITICAL")]
        pytest.fail(f"run {run_id} ended {status}: {errors}\n{ui.log_tail()}")
    return run_id


def test_asset_catalog_run_and_metadata_in_browser(dagster_ui: DagsterUI, browser) -> None:  # noqa: F811
    from playwright.sync_api import expect

    ui = dagster_ui
    # Tall enough that the virtualized catalog renders every row (the platform has about 30 assets).
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        log = attach_log(page)  # records errors; aborts (and records) every request that is not file:/data:
        # Registered later, so it takes precedence: the webserver's own origin goes through, nothing else.
        page.route(lambda url: url == ui.base or url.startswith(ui.base + "/"), lambda route: route.continue_())
        # First visit to a fresh instance: "Join the Dagster community" opens over the page after ~1 s;
        # Playwright clicks its "Skip" whenever it covers the page before an action or assertion.
        page.add_locator_handler(page.get_by_role("button", name="Skip"), lambda skip: skip.click())

        # 1. The catalog lists the platform's assets.
        page.goto(f"{ui.base}/assets", wait_until="load")
        for name in PLATFORM_ASSETS:
            link = page.locator(f'a[href="/assets/{name}"]').first  # each row links to its asset page
            expect(link).to_be_visible(timeout=30_000)
            expect(link).to_contain_text(name)

        # 2. Ingest the sample's date through the webserver (GraphQL), as the UI's Materialize button does.
        run_id = _run_partition(ui, "ingest_job", PARTITION)

        # 3. The posts asset shows that materialization and its metadata.
        page.goto(f"{ui.base}/assets/posts?view=events&partition={PARTITION}", wait_until="load")
        materialized = page.get_by_text(f"Partition {PARTITION} materialized in run {run_id[:8]}")
        expect(materialized).to_be_visible(timeout=30_000)
        row_count = page.locator("tr", has=page.get_by_text("dagster/row_count", exact=True)).first
        expect(row_count).to_have_text(re.compile(rf"^\s*dagster/row_count\s*{EXPECTED_POSTS}\s*$"))
        dumps = page.locator("tr", has=page.get_by_text("dumps", exact=True)).first
        for dump in (f"craigslist/{PARTITION}", f"offerup/{PARTITION}"):
            expect(dumps).to_contain_text(dump)
        expect(page.get_by_text("craigslist:7712345601").first).to_be_visible()  # the preview table

        # The Dagster UI logged nothing wrong and reached nothing outside the webserver.
        assert log.page_errors == [], f"uncaught errors in the page: {log.page_errors}"
        assert log.console_errors == [], f"console errors: {log.console_errors}"
        assert log.external_requests == [], f"requests that tried to leave 127.0.0.1: {log.external_requests}"
        assert log.dialogs == [], f"unexpected dialogs: {log.dialogs}"
    finally:
        context.close()
