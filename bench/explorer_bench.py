"""The explorer at scale: coordinates, data file and the page, on N synthetic posts (1,000,000 by default).

    python bench/explorer_bench.py [--posts 1000000] [--sample 70000] [--skip-browser] [--skip-baseline]

1. ``layout`` + ``nearest_neighbours`` (c2c_assets.explorer.coordinates) on N 64-d vectors drawn from 40
   Gaussian clusters, in a fresh process with 2 threads: wall time per step and peak RSS (VmHWM) against
   <= 10 min and <= 4 GB. Quality, on a seeded 5,000-post subsample of the whole map (fitted and placed
   posts alike): scikit-learn's trustworthiness@10 and the share of each post's 10 nearest in 64-d that
   stay among its 10 nearest on the map; recall@8 of the IVF neighbours against an exact search on
   2,000 posts. Then a nightly: 5,000 new posts placed into the stored fit (no UMAP), timed.
   Baseline in the same run (unless --skip-baseline): umap-learn's own fit (NN-descent) and ``transform``
   on a 20,000-post slice of the same out-of-sample posts, extrapolated linearly to all of them, with
   the trustworthiness of the slice placed both ways.
2. The explorer's Parquet (``app_table``, what the browser loads) for N posts with synthetic titles,
   prices, sources, dates, thumbnail paths and 8 neighbours each: size against <= 100 MB.
3. Headless Chromium (Debian's, through Playwright; WebGL 2 on SwiftShader: embedding-atlas 0.22 falls
   back to it without a WebGPU adapter) opens the app over a local static server: time from navigation
   until the map's canvas holds drawn points (its own pixels, read with toDataURL) and the page reports
   all N points, then the time a click on a source in its chart takes to change the count, and the time
   a box selection on the map (shift-drag) takes to change it. Targets <= 10 s and <= 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import child  # noqa: E402

CLUSTERS = 40
WIDTH = 64


def vectors(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, WIDTH)).astype(np.float32) * 3
    labels = rng.integers(0, CLUSTERS, n)
    x = centres[labels] + rng.normal(size=(n, WIDTH)).astype(np.float32)
    return x, labels.astype(np.int32)


def peak_rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def quality(x: np.ndarray, xy: np.ndarray, rows: np.ndarray, k: int = 10) -> tuple[float, float]:
    """trustworthiness@k and the share of k-NN kept, on ``rows`` of ``x`` (64-d) and ``xy`` (the map)."""
    from sklearn.manifold import trustworthiness

    from sklearn.metrics import pairwise_distances

    hi, lo = x[rows], xy[rows]
    trust = trustworthiness(hi, lo, n_neighbors=k)
    near = lambda a: np.argsort(pairwise_distances(a), axis=1)[:, 1 : k + 1]  # noqa: E731
    kept = np.mean([len(set(a) & set(b)) / k for a, b in zip(near(hi), near(lo), strict=True)])
    return float(trust), float(kept)


def child_coordinates(n: int, sample: int, home: str) -> dict:
    from c2c_assets.explorer import coordinates as c
    from c2c_assets.home import C2cHome

    x, labels = vectors(n)
    ids = np.asarray([f"p{i}" for i in range(n)], dtype=object)
    steps: dict[str, float] = {}
    fit, place = c.fit_umap, c.place

    def timed(name, fn):
        def run(*a, **k):
            t = time.perf_counter()
            out = fn(*a, **k)
            steps[name] = steps.get(name, 0.0) + time.perf_counter() - t
            return out
        return run

    c.fit_umap, c.place = timed("fit", fit), timed("place", place)
    start = time.perf_counter()
    placed = c.layout(x, sample, 0, ids=ids, home=C2cHome.from_env(home))
    laid = time.perf_counter() - start
    nbr, nbr_d = c.nearest_neighbours(x, 8, 0)
    total = time.perf_counter() - start
    rss = peak_rss()
    assert np.isfinite(placed.xy).all() and (nbr[:, 0] >= 0).all()
    rng = np.random.default_rng(7)
    trust, kept = quality(x, placed.xy, rng.choice(n, 5000, replace=False))
    probe = rng.choice(n, 2000, replace=False)
    import faiss

    flat = faiss.IndexFlatL2(x.shape[1])
    flat.add(x)
    true_d, truth = flat.search(x[probe], 9)
    recall = np.mean([len(set(t[t != p]) & set(f)) / 8 for t, f, p in zip(truth, nbr[probe], probe, strict=True)])
    # What a miss costs: the found neighbours' cluster and mean distance against the exact ones'.
    same = float((labels[nbr[probe]] == labels[probe][:, None]).mean())
    ratio = float(np.median(nbr_d[probe].mean(axis=1) / np.sqrt(np.maximum(true_d[:, 1:], 0)).mean(axis=1)))
    # A nightly: 5,000 new posts, the rest unchanged, placed into the stored fit.
    new_x = x[rng.choice(n, 5000, replace=False)] + rng.normal(scale=0.1, size=(5000, x.shape[1])).astype(np.float32)
    previous = c.Previous(placed.anchors, ids, c.vector_hashes(x), placed.xy, placed.fitted_with)
    t = time.perf_counter()
    nightly = c.layout(np.concatenate([x, new_x]), sample, 0, ids=np.concatenate([ids, [f"n{i}" for i in range(5000)]]), previous=previous)
    nightly_s = time.perf_counter() - t
    assert not nightly.refitted and nightly.kept == n
    return {"layout_s": laid, "fit_s": steps.get("fit", 0.0), "place_s": steps.get("place", 0.0), "neighbours_s": total - laid,
            "total_s": total, "peak_rss": rss, "trust": trust, "knn_kept": kept, "recall8": float(recall), "same_cluster": same, "distance_ratio": ratio, "nightly_s": nightly_s,
            "fitted": len(placed.sample_rows)}  # fmt: skip


def child_transform_baseline(n: int, sample: int, home: str, slice_size: int = 20_000) -> dict:
    from c2c_assets.analysis.reduction import _use_numba_cache, numba_cache_dir, sample_indices
    from c2c_assets.explorer import coordinates as c
    from c2c_assets.home import C2cHome

    _use_numba_cache(numba_cache_dir(C2cHome.from_env(home)))
    import umap

    x, _ = vectors(n)
    rows = sample_indices(n, sample, 0)
    rest = np.setdiff1d(np.arange(n), rows)[:slice_size]
    start = time.perf_counter()
    model = umap.UMAP(n_components=2, n_neighbors=15, random_state=0).fit(x[rows])
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = model.transform(x[rest])
    seconds = time.perf_counter() - start
    ours = c.place(c.Anchors(np.arange(len(rows)).astype(str), x[rows], model.embedding_.astype(np.float32)), x[rest], 0)
    sub = np.random.default_rng(7).choice(len(rest), 5000, replace=False)
    trust_theirs, _ = quality(x[rest], theirs.astype(np.float32), sub)
    trust_ours, _ = quality(x[rest], ours, sub)
    return {"slice": len(rest), "fit_s": fit_s, "seconds": seconds, "extrapolated_s": seconds * (n - len(rows)) / max(1, len(rest)),
            "trust_transform": trust_theirs, "trust_interpolated": trust_ours}  # fmt: skip


def synthetic_table(n: int):
    import pyarrow as pa

    from c2c_assets.explorer.data import EXPLORER_SCHEMA, NEIGHBOURS, price_bands

    rng = np.random.default_rng(1)
    words = np.array("brake pads rotor headlight bumper wheel rim tire mirror seat radio amp civic f150 tacoma oem".split())
    clusters = rng.integers(0, CLUSTERS, n).astype(np.int32)
    centres = rng.normal(size=(CLUSTERS, 2)) * 10
    xy = (centres[clusters] + rng.normal(size=(n, 2))).astype(np.float32)
    picks = rng.integers(0, len(words), (n, 4))
    titles = [" ".join(w) for w in words[picks]]
    prices = np.round(rng.lognormal(4.5, 1.2, n), 0)
    sha = [f"{h:064x}" for h in rng.integers(0, 2**62, n, dtype=np.int64) * 7919]
    neighbours = rng.integers(0, n, (n, NEIGHBOURS)).astype(np.int32)
    offsets = pa.array(np.arange(0, n * NEIGHBOURS + 1, NEIGHBOURS, dtype=np.int32))
    return pa.table(
        {
            "post_id": [f"{'craigslist' if i % 3 else 'offerup'}:{i:010d}" for i in range(n)],
            "x": xy[:, 0], "y": xy[:, 1], "cluster": clusters,
            "label": [f"{words[c % len(words)]} · {words[(c * 7) % len(words)]}" for c in clusters],
            "category": rng.choice(["brakes", "lighting", "wheels & tires", "audio", "body"], n),
            "category_source": rng.choice(["known", "predicted"], n),
            "title": titles, "price_usd": prices.astype(np.float32), "price_band": price_bands(prices.tolist()),
            "source": rng.choice(["craigslist", "offerup"], n),
            "date": pa.array(np.datetime64("2024-01-01") + rng.integers(0, 60, n).astype("timedelta64[D]"), pa.date32()),
            "url": [f"https://example.org/p/{i}" for i in range(n)],
            "thumbnail": [f"images/{s[:2]}/{s}.thumb.jpg" for s in sha],
            "neighbours": pa.ListArray.from_arrays(offsets, pa.array(neighbours.ravel())),
            "neighbour_distances": pa.ListArray.from_arrays(offsets, pa.array(rng.random(n * NEIGHBOURS).astype(np.float32))),
        },
        schema=EXPLORER_SCHEMA,
    )  # fmt: skip


# Installed before the page's scripts: WebGL 2 contexts keep their drawing buffer (so a check between
# frames reads what was drawn, not a cleared buffer), and each frame a 256x256 patch at the map's centre
# is read; the first frame it holds opaque non-white pixels is recorded in window.__c2cDrawnAt.
DRAWN_PROBE = """
(() => {
  const getContext = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, options) {
    if (type === "webgl2") options = Object.assign({}, options, { preserveDrawingBuffer: true });
    return getContext.call(this, type, options);
  };
  const patch = new Uint8Array(256 * 256 * 4);
  function check() {
    const canvas = document.querySelector("canvas");
    const gl = canvas && canvas.getContext("webgl2");
    if (gl && gl.drawingBufferWidth >= 256 && gl.drawingBufferHeight >= 256) {
      const read = gl.getParameter(gl.READ_FRAMEBUFFER_BINDING), pack = gl.getParameter(gl.PIXEL_PACK_BUFFER_BINDING);
      gl.bindFramebuffer(gl.READ_FRAMEBUFFER, null);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, null);
      gl.readPixels((gl.drawingBufferWidth - 256) >> 1, (gl.drawingBufferHeight - 256) >> 1, 256, 256, gl.RGBA, gl.UNSIGNED_BYTE, patch);
      gl.bindFramebuffer(gl.READ_FRAMEBUFFER, read);
      gl.bindBuffer(gl.PIXEL_PACK_BUFFER, pack);
      let painted = 0;
      for (let i = 0; i < patch.length; i += 4) if (patch[i + 3] > 0 && patch[i] + patch[i + 1] + patch[i + 2] < 700) painted++;
      if (painted > 100) { window.__c2cDrawnAt = performance.now(); return; }
    }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();
"""


def browser_timings(index: Path, n: int) -> dict:
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from playwright.sync_api import sync_playwright

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(index.parent)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
    from c2c_assets_tests.explorer.browsing import map_points

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.add_init_script(DRAWN_PROBE)
            start = time.perf_counter()
            page.goto(url)
            page.get_by_text(f"{n:,} / {n:,} points").wait_for(timeout=300_000)
            counted = time.perf_counter() - start
            page.wait_for_function("() => window.__c2cDrawnAt !== undefined", timeout=300_000)
            # performance.now() counts from the navigation: the frame the map first showed its points.
            rendered = page.evaluate("() => window.__c2cDrawnAt") / 1000
            drawn = map_points(page, at_least=1)  # and the app's own pixels agree (toDataURL re-renders)
            assert drawn.painted > 0
            print(f"  page reports all {n:,} points after {counted:.1f} s; the map first showed its points at {rendered:.1f} s "
                  f"({drawn.painted:,} device pixels painted)", flush=True)  # fmt: skip
            page.screenshot(path=str(index.parent.parent / "explorer-1m.png"))
            count = page.get_by_text(re.compile(rf"^[\d,]+ / {n:,} points$")).first

            def changed(before: str, what: str) -> float:
                begin = time.perf_counter()
                while count.inner_text() == before:  # polled by Playwright round trips (~ms each)
                    if time.perf_counter() - begin > 120:
                        raise TimeoutError(f"the {what} did not change the count in 120 s")
                return time.perf_counter() - begin

            target = page.get_by_text("offerup", exact=True).last
            target.scroll_into_view_if_needed()
            before = count.inner_text()
            target.click()
            filtered = changed(before, "filter")
            page.get_by_title("Clear filters").click()
            page.get_by_text(f"{n:,} / {n:,} points").wait_for(timeout=120_000)
            box = page.locator("canvas").first.bounding_box()
            before = count.inner_text()
            # A box over the left third of the map in one drag move (shift + drag); the clock starts at
            # that move and stops when the count shows the selection (the count of the final box).
            corner, other = (box["x"] + 20, box["y"] + 60), (box["x"] + box["width"] / 3, box["y"] + box["height"] - 40)
            page.keyboard.down("Shift")
            page.mouse.move(*corner)
            page.mouse.down()
            begin = time.perf_counter()
            page.mouse.move(*other)
            while (selection := count.inner_text()) in (before, f"0 / {n:,} points"):
                if time.perf_counter() - begin > 120:
                    raise TimeoutError("the box selection did not change the count in 120 s")
            selected = time.perf_counter() - begin
            page.mouse.up()
            page.keyboard.up("Shift")
            browser.close()
    finally:
        server.shutdown()
    assert not errors, errors
    return {"counted_s": counted, "rendered_s": rendered, "filter_s": filtered, "select_s": selected, "selection": selection}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=70_000)
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--skip-coordinates", action="store_true", help="Only the data file and the browser")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "c2c-explorer-bench",
                        help="Kept between runs: numba's compiled UMAP kernels (the first run compiles them)")
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child:
        kind, n, sample, home = args.child[0], int(args.child[1]), int(args.child[2]), args.child[3]
        fn = {"coordinates": child_coordinates, "baseline": child_transform_baseline}[kind]
        print(json.dumps(fn(n, sample, home)))
        return

    n = args.posts
    home = Path(tempfile.mkdtemp(prefix="explorer-bench-"))
    args.cache.mkdir(parents=True, exist_ok=True)
    script = str(Path(__file__).resolve())
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    coords = None if args.skip_coordinates else child(script, ["coordinates", str(n), str(args.sample), str(args.cache)])
    if coords:
        print(f"coordinates for {n:,} posts (64-d, UMAP fitted on {coords['fitted']:,}, 2 threads): "
              f"layout {coords['layout_s']:.1f} s (UMAP fit {coords['fit_s']:.1f} s, placing the rest {coords['place_s']:.1f} s) "
              f"+ neighbours {coords['neighbours_s']:.1f} s = {coords['total_s']:.1f} s, peak RSS {coords['peak_rss'] / 1e9:.2f} GB")  # fmt: skip
        ok = coords["total_s"] <= 600 and coords["peak_rss"] <= 4e9
        print(f"target <= 600 s and <= 4 GB: {'PASS' if ok else 'FAIL'}")
        print(f"map quality on 5,000 posts: trustworthiness@10 {coords['trust']:.3f}, 10-NN kept on the map {coords['knn_kept']:.3f}; "
              f"neighbours recall@8 (IVF vs exact, 2,000 posts) {coords['recall8']:.3f}, in the post's own cluster "
              f"{coords['same_cluster']:.3f}, mean distance / exact {coords['distance_ratio']:.3f}")  # fmt: skip
        print(f"nightly: 5,000 new posts placed into the stored fit (no UMAP) in {coords['nightly_s']:.1f} s")
        print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    if not (args.skip_baseline or args.skip_coordinates) and n > args.sample:
        base = child(script, ["baseline", str(n), str(args.sample), str(args.cache)])
        print(f"baseline: umap-learn's own fit on {min(n, args.sample):,} (NN-descent) {base['fit_s']:.1f} s; its transform of "
              f"{base['slice']:,} out-of-sample posts {base['seconds']:.1f} s, extrapolated to all {n - args.sample:,}: "
              f"{base['extrapolated_s']:.0f} s; trustworthiness@10 of that slice: transform {base['trust_transform']:.3f}, "
              f"our interpolation {base['trust_interpolated']:.3f}")  # fmt: skip

    from c2c_assets.explorer.app import app_table, write_app
    from c2c_assets.home import C2cHome

    table = synthetic_table(n)
    import pyarrow.parquet as pq

    data = home / "dataset.parquet"
    pq.write_table(app_table(table), data, compression="zstd")
    size = data.stat().st_size
    print(f"explorer data for {n:,} posts: {size / 1e6:.1f} MB (target <= 100 MB: {'PASS' if size <= 100e6 else 'FAIL'})")
    if args.skip_browser:
        return
    first = {}
    for c, label in zip(table.column("cluster").to_pylist()[:100_000], table.column("label").to_pylist()[:100_000], strict=True):
        first.setdefault(c, label)
    names = {c: first.get(c, f"cluster {c}") for c in range(CLUSTERS)}  # the map's labels: the column's names
    index = write_app(C2cHome.from_env(home / "home"), table, names, home / "app", title=f"bench {n:,}", thumbnails="link")
    timings = browser_timings(index, n)
    print(f"headless Chromium (WebGL 2 on SwiftShader), {n:,} posts over http: first render {timings['rendered_s']:.1f} s "
          f"(all counted at {timings['counted_s']:.1f} s; target <= 10 s: {'PASS' if timings['rendered_s'] <= 10 else 'FAIL'}); "
          f"filter by source {timings['filter_s']:.2f} s, box selection on the map {timings['select_s']:.2f} s ({timings['selection']}) "
          f"(target <= 1 s: {'PASS' if max(timings['filter_s'], timings['select_s']) <= 1 else 'FAIL'})")  # fmt: skip
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
