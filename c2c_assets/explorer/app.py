"""The explorer application: embedding-atlas's own web front end (MIT, bundled in its PyPI package with
duckdb-wasm, so nothing comes from a CDN) over the explorer data, as a folder of static files.

    DIR/index.html             entry page (ours: a Content-Security-Policy and the boot script)
    DIR/assets/, duckdb-wasm/  embedding-atlas's static front end, copied as shipped
    DIR/data/metadata.json     what embedding-atlas reads: columns, our cluster labels, column styles
    DIR/data/dataset.parquet   one row per post (see ``app_table``)
    DIR/thumbs/ab/<sha>.thumb.jpg   the posts' thumbnails (hard links where the file system allows)
    DIR/payload/*.js           the same files as base64 in classic scripts, for file:// (see ``boot.js``)

Served over http(s) the entry page loads the front end as shipped. Opened from disk, browsers refuse
module scripts, ``fetch``, XHR and workers from ``file:`` URLs; ``templates/boot.js`` then serves those
files to the front end from blob: URLs made from the payload scripts (classic scripts do load from
disk). embedding-atlas has no such mode of its own (its export needs an http server), hence this.

The map draws with WebGPU where the browser offers a device with ``shader-f16`` and otherwise with
WebGL 2: embedding-atlas 0.22.0 is the last release with that fallback (0.24 dropped it and draws
nothing without shader-f16: most integrated GPUs, software rendering, headless browsers), hence the pin.

Scraped text never becomes HTML: titles use embedding-atlas's default text renderer (textContent),
links only http(s) URLs that :func:`~c2c_assets.reporting.render.safe_url` accepts, and thumbnails are
paths we derive from sha256 names; the page policy allows no network request and no inline script but
ours (by hash).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from markupsafe import Markup

from c2c_assets.home import C2cHome
from c2c_assets.reporting.render import render_page
from c2c_assets.storage import is_local, location, write_atomic

__all__ = ["MARKER", "app_table", "static_dir", "write_app"]

MARKER = ".c2c-explorer"  # an explorer folder: safe to replace on the next export
TEMPLATES = Path(__file__).parent / "templates"
_THUMB = re.compile(r"^images/([0-9a-f]{2})/([0-9a-f]{64}\.thumb\.jpg)$")
# What the file:// boot needs as payload: the exception-handling build of duckdb-wasm only (every
# current browser has wasm exceptions; the MVP build would add 45 MB), no in-browser UMAP.
_SKIP_PAYLOAD = re.compile(r"(duckdb-mvp|duckdb-browser-mvp|wasm_mvp/|umap_wasm|\.png$|^index\.html$)")
PAYLOAD_CHUNK = 32 * 1024 * 1024  # bytes per payload script: V8 strings stay far below their limit
THUMB_PX = 96

# Columns shown as badges in the tooltip and table; the rest are hidden there (still filterable).
SHOWN = ("thumbnail", "title", "price_usd", "source", "date", "label", "category", "price_band", "url", "post_id")


def static_dir() -> Path:
    import embedding_atlas

    return Path(embedding_atlas.__file__).parent / "static"


def _thumb_relative(path: str | None) -> str | None:
    match = _THUMB.match(path or "")
    return f"thumbs/{match.group(1)}/{match.group(2)}" if match else None


def app_table(table: pa.Table, thumbnails: set[str] | None = None) -> pa.Table:
    """The explorer data as embedding-atlas reads it: a row id, neighbours as ``{ids, distances}``
    (row ids, the format its nearest-neighbour view expects) and thumbnails as paths inside the app
    (only those in ``thumbnails``, the ones the app holds, when given)."""
    n = table.num_rows
    ids = table.column("neighbours").combine_chunks()
    distances = table.column("neighbour_distances").combine_chunks()
    neighbours = pa.StructArray.from_arrays(
        [_drop_missing(ids), _drop_missing_like(distances, ids)], names=["ids", "distances"]
    )
    links = [u if u and u.lower().startswith(("http://", "https://")) else None for u in table.column("url").to_pylist()]
    thumbs = [_thumb_relative(p) for p in table.column("thumbnail").to_pylist()]
    if thumbnails is not None:
        thumbs = [t if t in thumbnails else None for t in thumbs]
    columns = {name: table.column(name) for name in table.column_names}
    columns.update(url=pa.array(links, pa.string()), thumbnail=pa.array(thumbs, pa.string()))
    # The table and the charts follow the column order: what a person reads first, first.
    order = [*SHOWN, *(c for c in table.column_names if c not in SHOWN and c not in ("neighbours", "neighbour_distances"))]
    out = pa.table({name: columns[name] for name in order})
    out = out.append_column("neighbors", neighbours)
    return out.append_column("row_id", pa.array(np.arange(n, dtype=np.int32)))


def _drop_missing(lists: pa.ListArray) -> pa.ListArray:
    values = lists.values.to_numpy(zero_copy_only=False)
    offsets = lists.offsets.to_numpy()
    keep = values >= 0
    counts = np.add.reduceat(keep, offsets[:-1]) if len(values) else np.zeros(len(lists), np.int64)
    counts = np.where(np.diff(offsets) == 0, 0, counts)
    new_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(new_offsets), pa.array(values[keep], pa.int32()))


def _drop_missing_like(lists: pa.ListArray, ids: pa.ListArray) -> pa.ListArray:
    values = lists.values.to_numpy(zero_copy_only=False)
    keep = ids.values.to_numpy(zero_copy_only=False) >= 0
    counts = np.add.reduceat(keep, ids.offsets.to_numpy()[:-1]) if len(keep) else np.zeros(len(ids), np.int64)
    counts = np.where(np.diff(ids.offsets.to_numpy()) == 0, 0, counts)
    new_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(new_offsets), pa.array(values[keep], pa.float32()))


def _column_styles(columns: list[str]) -> dict[str, dict]:
    styles: dict[str, dict] = {c: {"display": "hidden"} for c in columns if c not in SHOWN}
    styles["title"] = {"display": "full"}
    # Our path (sha256 hex only, checked in _thumb_relative), escaped anyway: liquidjs does not escape.
    styles["thumbnail"] = {
        "display": "full",
        "renderer": "liquid-template",
        "options": {"template": f'<img src="{{{{ value | escape }}}}" alt="" style="max-width:{THUMB_PX}px;max-height:{THUMB_PX}px">'},
    }
    styles["url"] = {"display": "badge", "renderer": "url"}
    return styles


def _histogram(field: str) -> dict:
    # embedding-atlas's own histogram spec (what it makes for a numeric column): brush to filter.
    encoding = {"x": {"field": field}, "y": {"aggregate": "count"}}
    return {
        "title": field,
        "layers": [
            {"mark": "bar", "style": {"fillColor": "$markColorFade"}, "encoding": encoding},
            {"mark": "bar", "filter": "$filter", "encoding": encoding},
        ],
        "selection": {"brush": {"encoding": "x"}},
        "widgets": [{"type": "scale.type", "channel": "x"}],
    }


# The explorer's panels, by id: the map, SQL predicates, the table/grid of the filtered posts, then
# the cross-filters. Ids are fixed so that a link can select in one (see ``state_link``).
CHARTS: dict[str, dict] = {
    # Points coloured by cluster (its top terms); the map's colour menu switches to any other column.
    "1": {"type": "embedding", "title": "Map", "data": {"x": "x", "y": "y", "text": "title", "category": "label", "neighbors": "neighbors"}},
    "2": {"type": "instances", "title": "Posts"},
    "3": {"type": "count-plot", "title": "cluster (top terms)", "data": {"field": "label"}},
    "4": {"type": "count-plot", "title": "source", "data": {"field": "source"}},
    "5": _histogram("price_usd"),
    "6": {"type": "count-plot", "title": "price band", "data": {"field": "price_band"}},
    "7": _histogram("date"),
    "8": {"type": "count-plot", "title": "category", "data": {"field": "category"}},
    "9": {"type": "predicates", "title": "SQL predicates"},
}
LABEL_CHART = "3"


def explorer_state(columns: list[str], *, label: str | None = None) -> dict:
    """embedding-atlas's app state (its version's format): our panels, column styles and, with
    ``label``, that cluster selected in the cluster chart (the explorer filtered to it)."""
    import embedding_atlas

    state: dict = {
        "version": embedding_atlas.__version__,
        "charts": CHARTS,
        "chartStates": {},
        "layouts": {"1": {"type": "list", "name": "Default", "chartIds": list(CHARTS)}},
        "layoutOrder": ["1"],
        "currentLayout": "1",
        "columnStyles": _column_styles(columns),
    }
    if label is not None:
        state["chartStates"][LABEL_CHART] = {"selection": [label]}
    return state


def app_columns() -> list[str]:
    """The columns of ``app_table``'s output (the order embedding-atlas shows them in)."""
    from c2c_assets.explorer.data import EXPLORER_SCHEMA

    return app_table(EXPLORER_SCHEMA.empty_table()).column_names


def cluster_link(page: str, label: str) -> str:
    """A link to the explorer at ``page`` filtered to the cluster named ``label``."""
    return state_link(page, app_columns(), label)


def state_link(page: str, columns: list[str], label: str) -> str:
    """``page`` opened on the explorer filtered to one cluster: its state in the URL's hash, as
    embedding-atlas itself writes it there (deflate-raw JSON in base64url, ``#?state=``)."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = packer.compress(json.dumps(explorer_state(columns, label=label)).encode("utf-8")) + packer.flush()
    return f"{page}#?state=" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def metadata(columns: list[str], labels: list[dict], title: str) -> dict:
    from embedding_atlas.options import make_embedding_atlas_props

    props = make_embedding_atlas_props(
        row_id="row_id", x="x", y="y", text="title", neighbors="neighbors", labels=labels,
        initial_state=explorer_state(columns),
    )  # fmt: skip
    # isStatic + an in-browser DuckDB: what embedding-atlas's own static export writes.
    return {"props": props, "isStatic": True, "database": {"type": "wasm", "load": True}, "c2c": {"title": title}}


def map_labels(table: pa.Table, names: Mapping[int, str]) -> list[dict]:
    """Each cluster's name at the median of its posts (embedding-atlas's ``labels`` prop), biggest first."""
    clusters = table.column("cluster").to_numpy()
    xy = np.column_stack([table.column("x").to_numpy(), table.column("y").to_numpy()])
    out = []
    for c in np.unique(clusters):
        if c < 0:
            continue
        members = clusters == c
        mx, my = np.median(xy[members], axis=0)
        name = names.get(int(c), f"cluster {c}")
        # embedding-atlas 0.22's map reads a label's ``content`` (later releases ``text``): both, so neither breaks.
        out.append({"x": float(mx), "y": float(my), "content": name, "text": name, "priority": int(members.sum())})
    return sorted(out, key=lambda label: -label["priority"])


def _copy_thumbnails(home: C2cHome, table: pa.Table, target: Path, mode: str) -> set[str]:
    """Copy (or hard-link) each post's thumbnail into the app; the app paths of those it holds."""
    done: set[str] = set()
    for stored in set(table.column("thumbnail").to_pylist()):
        relative = _thumb_relative(stored)
        if relative is None:
            continue
        source = home.stored_image(stored)
        if not source.exists():
            continue  # the photo store lost it: the post shows no thumbnail rather than a broken one
        dest = target / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        if mode == "link" and is_local(source):
            try:
                os.link(source, dest)
                done.add(relative)
                continue
            except OSError:
                pass  # another file system: copy
        if is_local(source):
            shutil.copyfile(source, dest)
        else:
            dest.write_bytes(location(source).read_bytes())
        done.add(relative)
    return done


def _payload(folder: Path) -> list[str]:
    """``payload/NNN.js`` classic scripts holding every file the front end fetches, as base64."""
    out = folder / "payload"
    out.mkdir()
    names: list[str] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative.startswith(("payload/", "thumbs/")) or relative == MARKER or _SKIP_PAYLOAD.search(relative):
            continue
        data = path.read_bytes()
        mime = _mime(relative)
        for part, start in enumerate(range(0, max(len(data), 1), PAYLOAD_CHUNK)):
            name = f"payload/{len(names):03d}.js"
            chunk = base64.b64encode(data[start : start + PAYLOAD_CHUNK]).decode("ascii")
            last = start + PAYLOAD_CHUNK >= len(data)
            (folder / name).write_text(
                f"__c2cFile({json.dumps(relative)},{json.dumps(mime)},{part},{json.dumps(last)},\"{chunk}\");\n",
                encoding="ascii",
            )
            names.append(name)
    return names


def _mime(name: str) -> str:
    for suffix, mime in ((".js", "text/javascript"), (".css", "text/css"), (".wasm", "application/wasm"), (".json", "application/json")):
        if name.endswith(suffix):
            return mime
    return "application/octet-stream"


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _entry_page(folder: Path, title: str, payload: list[str]) -> str:
    stock = (static_dir() / "index.html").read_text(encoding="utf-8")
    main = re.search(r'src="\./(assets/index-[^"]+\.js)"', stock).group(1)
    css = re.search(r'href="\./(assets/index-[^"]+\.css)"', stock).group(1)
    boot = (TEMPLATES / "boot.js").read_text(encoding="utf-8")
    if "</script" in boot.lower():
        raise ValueError("boot.js contains '</script': it would end its own element")
    main_text = (folder / main).read_text(encoding="utf-8")
    # Chunks the front end imports on demand (syntax colours): from disk an import map points them at
    # data: URLs (they import nothing themselves); over http the map does not match and they load as shipped.
    chunks = sorted(set(re.findall(r"import\(`\./([A-Za-z0-9_.-]+\.js)`\)", main_text)))
    imports = {
        f"./{name}": "data:text/javascript;base64," + base64.b64encode((folder / "assets" / name).read_bytes()).decode("ascii")
        for name in chunks
    }
    importmap = json.dumps({"imports": imports}, separators=(",", ":"))
    csp = "; ".join(
        [
            "default-src 'none'",
            # The inline module is the front end itself, inserted by boot.js from disk: allowed by its hash.
            f"script-src 'self' file: blob: data: 'wasm-unsafe-eval' {_sha256(boot)} {_sha256(main_text)} {_sha256(importmap)}",
            "worker-src 'self' file: blob:",
            "connect-src 'self' file: blob: data:",
            "img-src 'self' file: blob: data:",
            "style-src 'self' file: blob: 'unsafe-inline'",
            "font-src 'self' file: data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    return render_page(
        "explorer.html.j2", csp=Markup(csp), title=title, boot=Markup(boot), importmap=Markup(importmap), main=main, css=css, payload=json.dumps(payload)
    )


def write_app(home: C2cHome, table: pa.Table, names: Mapping[int, str], target: Path, *, title: str, thumbnails: str = "link") -> Path:
    """Write the explorer application for ``table`` (explorer data) to ``target``; returns its index.html.

    Built in a hidden folder beside ``target`` and swapped in, so a reader never sees half an app.
    ``target`` must be missing, empty, or an earlier explorer (it holds ``MARKER``).
    """
    target = Path(target).resolve()
    if target.exists() and any(target.iterdir()) and not (target / MARKER).exists():
        raise FileExistsError(f"{target} is not empty and is not an explorer export: choose an empty or new folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    build = target.parent / f".{target.name}.building-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    try:
        shutil.copytree(static_dir(), build, ignore=shutil.ignore_patterns("index.html"))
        held = _copy_thumbnails(home, table, build, thumbnails)
        data = app_table(table, held)
        (build / "data").mkdir()
        pq.write_table(data, build / "data" / "dataset.parquet", compression="zstd")
        meta = metadata(data.column_names, map_labels(table, names), title)
        (build / "data" / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
        for icon in (build / "assets").glob("*.png"):  # the front end names them relative to the page too
            shutil.copyfile(icon, build / icon.name)
        payload = _payload(build)
        (build / MARKER).write_text("embedding-atlas explorer written by c2c_assets\n", encoding="utf-8")
        write_atomic(build / "index.html", _entry_page(build, title, payload))
        old = None
        if target.exists():
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            target.rename(old)
        build.rename(target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return target / "index.html"
