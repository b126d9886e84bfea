"""``c2c index``, ``c2c search`` and ``c2c serve``: an encoder's FAISS indexes, and queries against them
(once, or from a long-lived HTTP service)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table

from c2c_assets.cli import (
    TAGS,
    HomeOption,
    app,
    build,
    console,
    default,
    describe,
    err,
    fail,
    home_paths,
    known_encoder,
    need_embeddings,
    parse_date,
)
from c2c_assets.home import C2cHome
from c2c_assets.search.settings import LEXICAL_WEIGHT, MODES, IndexSettings


def run_index(home: C2cHome, encoder: str, settings: IndexSettings | None = None):  # -> RunOutcome
    """Materialize faiss_index for one encoder (and then lexical_index, which every encoder's hybrid search shares)."""
    from c2c_assets.defs.search.assets import faiss_index
    from c2c_assets.runner import dagster_instance, materialize, register_encoder

    instance = dagster_instance(home)
    register_encoder(instance, encoder)
    outcome = materialize(home, [faiss_index], partition_key=encoder, config={"faiss_index": settings or IndexSettings()},
                          instance=instance, tags=TAGS)
    if outcome.success:
        lexical = run_lexical_index(home, instance)
        if not lexical.success:
            return lexical
    return outcome


def run_lexical_index(home: C2cHome, instance=None):  # -> RunOutcome
    """Materialize lexical_index (BM25 over every current post's text)."""
    from c2c_assets.defs.search.assets import lexical_index
    from c2c_assets.runner import dagster_instance, materialize

    return materialize(home, [lexical_index], instance=instance or dagster_instance(home), tags=TAGS)


@app.command()
def index(
    encoder: Annotated[str, typer.Option("--encoder", "-e", help="Encoder whose current vectors to index.")] = "default",
    memory_budget_gb: Annotated[float, typer.Option(help=describe(IndexSettings, "memory_budget_gb"))] = default(IndexSettings, "memory_budget_gb"),
    incremental: Annotated[bool, typer.Option(help=describe(IndexSettings, "incremental"))] = default(IndexSettings, "incremental"),
    home: HomeOption = None,
) -> None:
    """Build (replace) the FAISS indexes of an encoder through the faiss_index asset, and the lexical index (lexical_index)."""
    settings = build(IndexSettings, memory_budget_gb=memory_budget_gb, incremental=incremental)
    paths = home_paths(home)
    need_embeddings(paths, encoder)
    with console.status(f"building {encoder} indexes..."):
        outcome = run_index(paths, encoder, settings)
    if not outcome.success:
        fail(outcome.failure or "faiss_index failed")
    console.print(Markdown(outcome.metadata["faiss_index"]["indexes"]))


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="Text query, e.g. \"headlight assembly\".")] = None,
    encoder: Annotated[str, typer.Option("--encoder", "-e")] = "default",
    k: Annotated[int, typer.Option("-k", help="Number of results.")] = 10,
    image: Annotated[Path | None, typer.Option("--image", help="Search by photo.")] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="Search by sound (imagebind).")] = None,
    like: Annotated[str | None, typer.Option("--like", help="Posts like this post_id.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this marketplace.")] = None,
    min_price: Annotated[float | None, typer.Option(help="Minimum price, USD.")] = None,
    max_price: Annotated[float | None, typer.Option(help="Maximum price, USD.")] = None,
    since: Annotated[str | None, typer.Option(help="Only posts scraped on or after YYYY-MM-DD.")] = None,
    fits: Annotated[str | None, typer.Option(help="Only posts whose text says they fit this year/make/model, e.g. \"2016 Civic\".")] = None,
    size: Annotated[str | None, typer.Option(help="Only posts with this tire size, wheel spec, bolt pattern or wheel diameter (265/70R17, 20x10, 5x114.3, 20).")] = None,
    mode: Annotated[str | None, typer.Option(help=f"{' | '.join(MODES)}: hybrid (default for text: lexical + vector, fused), semantic or lexical; photo/sound/--like are semantic.")] = None,
    lexical_weight: Annotated[float, typer.Option(help="Hybrid: weight of the lexical ranking in the fusion (0..1).", min=0.0, max=1.0)] = LEXICAL_WEIGHT,
    feedback: Annotated[int | None, typer.Option(help="Text queries: how many of the vector side's first hits feed back as a second "
                                                      "query (their post vectors' centroid); default 5 in hybrid mode, 0 (off) in semantic.", min=0)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write an HTML gallery with thumbnails here.")] = None,
    dedupe: Annotated[bool, typer.Option("--dedupe", help="One hit per repost group (`c2c reposts`).")] = False,
    hide_flagged: Annotated[bool, typer.Option("--hide-flagged", help="Drop flagged posts (`c2c flags`).")] = False,
    home: HomeOption = None,
) -> None:
    """Search posts by text, photo, sound or example post, with filters."""
    paths = home_paths(home, create=False)
    known_encoder(paths, encoder)
    from c2c_assets.embeddings.store import SIDES
    from c2c_assets.search.filters import FilterError
    from c2c_assets.search.index import current_build

    if mode is not None and mode not in MODES:
        fail(f"--mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode != "lexical" and not any(current_build(paths, encoder, side) for side in SIDES):
        fail(f"encoder {encoder!r} has no search index yet: run `c2c index -e {encoder}` first")
    from c2c_assets.attributes.extract import describe as describe_attributes
    from c2c_assets.search.service import Filters, Searcher, SearchError

    try:
        filters = Filters(source, min_price, max_price, parse_date(since, "--since"), size=size, fits=fits)
    except FilterError as error:
        fail(str(error))
    searcher = Searcher(paths)

    def ask(n: int) -> Any:
        return searcher.query(encoder, n, filters, mode, lexical_weight, feedback, text=query, image=image, audio=audio, like=like)

    try:
        if dedupe or hide_flagged:  # quality post-filter (c2c_assets.quality.postfilter): asks for more, keeps k
            from c2c_assets.quality.postfilter import search_filtered

            asked: list[Any] = []
            kept = search_filtered(paths, encoder, k, lambda k: asked.append(ask(k)) or asked[-1].hits,
                                   dedupe=dedupe, hide_flagged=hide_flagged)
            result = dataclasses.replace(asked[-1], hits=kept)
        else:
            result = ask(k)
    except SearchError as error:
        fail(str(error))
    hits = result.hits
    if result.note and not as_json:  # JSON: each hit says its mode
        err.print(f"note: {result.note}", soft_wrap=True)
    if html is not None:
        from c2c_assets.reporting.gallery import write_gallery

        write_gallery(html, paths, hits, title=query or str(image or audio or like))
    if as_json:
        print(json.dumps([hit.as_dict() for hit in hits], indent=2))
        return
    table = Table("score", title=f"{len(hits)} results ({encoder}, {result.mode})")
    table.add_column("post_id", no_wrap=True)  # an id to copy: never broken over lines
    for column in ("title", "price", "source", "lex", "vec", "fb", "attributes"):
        table.add_column(column)
    for hit in hits:
        price = "" if hit.price_usd is None else f"${hit.price_usd:,.0f}"
        title = escape(hit.title) + (" [dim](text predicted from photos)[/]" if hit.text_predicted else "")
        rank = lambda value: "" if value is None else str(value)  # noqa: E731
        table.add_row(f"{hit.score:.3f}", hit.post_id, title, price, hit.source, rank(hit.lexical_rank), rank(hit.vector_rank),
                      rank(hit.feedback_rank), escape(describe_attributes(hit.attributes)))
    console.print(table)


@app.command()
def serve(
    encoders: Annotated[list[str] | None, typer.Option("--encoder", "-e", help="Encoder to serve (repeat for more; the first is the default). Default: default.")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; anything but loopback exposes the service to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free one).", min=0, max=65535)] = 8765,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    home: HomeOption = None,
) -> None:
    """Serve search over HTTP (JSON, the answers of `c2c search --json`), keeping encoders and indexes loaded;
    a newly built index is picked up at the next query."""
    paths = home_paths(home, create=False)
    names = list(dict.fromkeys(encoders or ["default"]))
    from c2c_assets.embeddings.store import SIDES
    from c2c_assets.search.index import current_build

    for name in names:
        known_encoder(paths, name)
        if not any(current_build(paths, name, side) for side in SIDES):
            fail(f"encoder {name!r} has no search index yet: run `c2c index -e {name}` first")
    from c2c_assets.search import server as serving
    from c2c_assets.search.service import Searcher, SearchError

    searcher = Searcher(paths, keep_posts=True)
    try:
        with err.status(f"loading {', '.join(names)}..."):
            for name in names:
                searcher.warm(name)
    except SearchError as error:
        fail(str(error))
    try:
        sock = serving.bind(host, port)
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror or error}")
    if not serving.is_loopback(host):
        err.print(f"warning: listening on {host}, not loopback: anyone who can reach it can query (no authentication)", soft_wrap=True)
    uvicorn_server = serving.server(serving.create_app(paths, names, searcher=searcher), log_level=log_level)
    print(f"serving {', '.join(names)} on {serving.url_of(sock)} (Ctrl-C to stop)", flush=True)
    try:
        uvicorn_server.run(sockets=[sock])
    finally:
        sock.close()
