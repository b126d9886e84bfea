"""``c2c explore``: the embedding explorer of one encoder, served on 127.0.0.1 or exported as static files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from c2c_assets.cli import TAGS, HomeOption, app, console, err, fail, home_paths, need_embeddings


def _ensure_explorer(paths, encoder: str) -> None:
    """The explorer data exists, or is materialized now from the encoder's clusters."""
    from c2c_assets.explorer.data import data_file

    if data_file(paths, encoder).exists():
        return
    if not any(paths.lake.glob(f"clusters/encoder={encoder}/part-0.parquet")):
        fail(f"encoder {encoder!r} has no clusters yet: run `c2c analyse -e {encoder}` first")
    from c2c_assets.analysis.settings import AnalysisSettings
    from c2c_assets.defs.analysis.assets import explorer
    from c2c_assets.runner import materialize

    with err.status(f"laying out {encoder}'s posts (the first layout compiles numba)..."):
        outcome = materialize(paths, [explorer], partition_key=encoder, config={"explorer": AnalysisSettings()}, tags=TAGS)
    if not outcome.success:
        fail(outcome.failure or "explorer failed")


@app.command()
def explore(
    encoder: Annotated[str, typer.Option("--encoder", "-e")] = "default",
    export: Annotated[Path | None, typer.Option("--export", help="Write a static explorer to this folder (DIR/index.html opens from disk or any static server) and exit.")] = None,
    host: Annotated[str, typer.Option(help="Address to serve on (there is no authentication: keep it local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on (0: any free port).")] = 5055,
    home: HomeOption = None,
) -> None:
    """Explore an encoder's posts on a map: colour, hover, search, filters, selection to a table of
    thumbnails and links, export of the selection (embedding-atlas's front end, served locally)."""
    paths = home_paths(home)
    need_embeddings(paths, encoder)
    _ensure_explorer(paths, encoder)
    from c2c_assets.explorer.pipeline import explorer_folder, export_explorer

    if export is not None:
        try:
            page = export_explorer(paths, encoder, export.expanduser())
        except (FileExistsError, NotADirectoryError) as error:
            fail(str(error))
        console.print(f"explorer: {page}", soft_wrap=True)  # a path stays whole, whatever the width
        return
    folder = explorer_folder(paths, encoder)
    if not (folder / "index.html").exists():
        export_explorer(paths, encoder, folder, thumbnails="link")
    _serve(folder, host, port)


def _serve(folder: Path, host: str, port: int) -> None:
    # The app is static files: the standard library's threaded file server is all it needs.
    import functools
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    try:
        server = ThreadingHTTPServer((host, port), handler)
    except OSError:
        server = ThreadingHTTPServer((host, 0), handler)  # the port is taken: any free one
    url = f"http://{host}:{server.server_address[1]}/index.html"
    console.print(f"explorer: {url}   (Ctrl-C stops it)", soft_wrap=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
