"""The Dagster UI at a year of history: how long the asset pages and the partitions views take to render.

Seeds a throwaway instance with what a year of nightly runs leaves (``--days`` dates of ``posts``,
``quarantine`` and ``post_images``, and ``post_embeddings`` for ``--encoders`` encoders: one
materialization per partition with per-date metadata like the real assets', recorded as runless
events so that no model has to run), starts ``dagster-webserver`` on 127.0.0.1 over this project's
code location, and opens each page in headless Chromium (Debian's, through Playwright), timing from
navigation until the page shows what it is for (the asset's name and its latest materialization, or
the partition count). Target: <= 5 s per page.

    python bench/ui_bench.py                 # 365 dates x 3 encoders
    python bench/ui_bench.py --days 30       # quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 5.0
INSTANCE_YAML = "telemetry:\n  enabled: false\n"
CHROMIUM = os.environ.get("C2C_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
_HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def seed(instance_dir: Path, days: int, encoders: int) -> int:
    """Runless materializations of every partition a year of runs leaves; returns how many."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(instance_dir))
    names = [f"encoder-{i}" for i in range(encoders)]
    instance.add_dynamic_partitions("encoders", names)
    start = date(2025, 1, 1)
    table = "| dump | lines | accepted | quarantined |\n|---|---|---|---|\n" + "".join(
        f"| {s}/{{day}} | 3300 | 3290 | 10 |\n" for s in ("craigslist", "offerup"))
    count = 0
    for i in range(days):
        day = (start + timedelta(days=i)).isoformat()
        for asset in ("posts", "quarantine", "post_images"):
            metadata = {"dagster/row_count": 3290, "dumps": dg.MetadataValue.md(table.format(day=day)), "seconds": 1.2}
            if asset == "posts":
                metadata["inbox_digest"] = f"{i:064x}"
            instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition=day, metadata=metadata))
            count += 1
        for name in names:
            key = str(dg.MultiPartitionKey({"date": day, "encoder": name}))
            metadata = {"dagster/row_count": 3290, "embedded": 3300 // 100, "carried_over": 3260, "fingerprint": f"{i:032x}"}
            instance.report_runless_asset_event(dg.AssetMaterialization("post_embeddings", partition=key, metadata=metadata))
            count += 1
    return count


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(base: str, process: subprocess.Popen, timeout_s: float = 120) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if process.poll() is not None:
            raise RuntimeError("dagster-webserver exited before it answered")
        try:
            with _HTTP.open(f"{base}/server_info", timeout=2) as response:
                json.load(response)
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"dagster-webserver did not answer within {timeout_s:.0f} s")


def time_page(page, url: str, expect: list[str], timeout_ms: int = 60_000) -> float:
    """Seconds from navigation until every string of ``expect`` is on the page."""
    started = time.perf_counter()
    page.goto(url, wait_until="commit")
    page.wait_for_function(
        "(expected) => expected.every(text => document.body && document.body.innerText.includes(text))",
        arg=expect, timeout=timeout_ms,
    )
    return time.perf_counter() - started


def dismiss_dialogs(page) -> None:
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.first.click()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--encoders", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="c2c-ui-bench-"))
    dagster_home = work / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML)
    started = time.perf_counter()
    events = seed(dagster_home, args.days, args.encoders)
    print(f"seeded {events:,} materializations ({args.days} dates, {args.encoders} encoders) in {time.perf_counter() - started:.1f} s")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "C2C_HOME": str(work / "home"), "HF_HUB_OFFLINE": "1"}
    log = (work / "webserver.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "dagster_webserver", "-h", "127.0.0.1", "-p", str(port),
                               "-m", "c2c_assets.definitions"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    last = f"{(date(2025, 1, 1) + timedelta(days=args.days - 1)).isoformat()}"
    pages = [
        ("asset page: posts", f"{base}/assets/posts", ["posts", last]),
        # The partitions view's own count of materialized partitions: the date axis spans more days than were seeded.
        ("partitions: posts", f"{base}/assets/posts?view=partitions", ["posts", f"Materialized ({args.days})"]),
        ("asset page: post_embeddings", f"{base}/assets/post_embeddings", ["post_embeddings", last]),
        ("partitions: post_embeddings", f"{base}/assets/post_embeddings?view=partitions",
         ["post_embeddings", f"Materialized ({args.days * args.encoders})"]),
    ]
    failures = 0
    try:
        print(f"webserver answered after {wait_for_server(base, server):.1f} s")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{base}/assets", wait_until="networkidle")  # the app shell, cached like a returning user's
            dismiss_dialogs(page)
            print("page | seconds to render | target | verdict")
            for name, url, expect in pages:
                try:
                    seconds = time_page(page, url, expect)
                except Exception as error:  # noqa: BLE001 - a page that never renders is a MISS with the reason
                    shown = " ".join(page.inner_text("body").split())[:600] if page.locator("body").count() else ""
                    print(f"{name} | - | <= {TARGET_S:.0f} s | MISS ({type(error).__name__}; waited for {expect}; the page showed: {shown!r})")
                    failures += 1
                    continue
                verdict = "PASS" if seconds <= TARGET_S else f"MISS ({seconds / TARGET_S:.2f}x)"
                print(f"{name} | {seconds:.2f} | <= {TARGET_S:.0f} s | {verdict}")
            if errors:
                print(f"page errors: {errors[:3]}")
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
        log.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (on shared cores the figures are upper bounds)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
