"""``c2c serve``: a long-lived HTTP JSON search service over one home (FastAPI on uvicorn).

It answers what ``c2c search`` answers, with the same JSON as ``c2c search --json`` (a list of
``Hit.as_dict()``), but keeps the encoders' towers and the opened indexes in one ``Searcher`` between
requests. Each query reads the side's ``CURRENT`` pointer and reopens the index when a new build was
published, so ``c2c index`` (or the faiss_index asset) takes effect at the next query, without a restart.

Routes::

    GET  /health                      {"status": "ok", "encoders": {name: {side: {"build", "n"}}}}
    GET  /encoders                    the served encoders: family, sides, builds, sizes
    GET  /search?q=TEXT | like=POST_ID [&encoder=&k=&source=&min_price=&max_price=&since=YYYY-MM-DD&size=&fits=&mode=&lexical_weight=&feedback=]
    POST /search                      JSON {"text" | "like", "encoder", "k", "source", "min_price", "max_price", "since", "size", "fits", "mode", "lexical_weight", "feedback"}

Text queries are hybrid by default (``mode``: hybrid, semantic, lexical); each hit says its ``mode`` and its
``lexical_rank`` / ``vector_rank`` / ``feedback_rank`` (``search.feedback``), and the ``X-C2C-Search-Mode`` header says the mode used (also for no hits).
    POST /search/image                a photo: multipart field ``file``, or the raw body; the same query parameters
    POST /search/audio                a sound (encoders with an audio tower), likewise

Errors are JSON ``{"error": "..."}``: 400 for a query that cannot be answered (``SearchError``) or a
bad parameter, 404 for an encoder that is not served, 413 for an upload over the limit, 500 (no
traceback, the server logs it) for anything else.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from c2c_assets.home import C2cHome
from c2c_assets.search.filters import FilterError
from c2c_assets.search.service import Filters, Searcher, SearchError
from c2c_assets.search.settings import LEXICAL_WEIGHT

log = logging.getLogger("c2c_assets.search.server")

MAX_K = 1000
MAX_UPLOAD_BYTES = 20 << 20  # 20 MiB: a phone photo or a short sound clip
_SUFFIX = re.compile(r"^\.[A-Za-z0-9]{1,8}$")


class SearchBody(BaseModel):
    """``POST /search``: one of ``text`` or ``like``, and the same options as the query string."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    like: str | None = None
    encoder: str | None = None
    k: int = Field(10, ge=1, le=MAX_K)
    source: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    since: date | None = None
    size: str | None = None
    fits: str | None = None
    mode: Literal["hybrid", "semantic", "lexical"] | None = None
    lexical_weight: float = Field(LEXICAL_WEIGHT, ge=0.0, le=1.0)
    feedback: int | None = Field(None, ge=0, le=MAX_K)


class _NotServed(Exception):
    pass


def create_app(home: C2cHome, encoders: Sequence[str], *, searcher: Searcher | None = None,
               max_upload_bytes: int = MAX_UPLOAD_BYTES) -> FastAPI:
    """The app serving ``encoders`` (the first is the default of a query that names none) of ``home``."""
    if not encoders:
        raise ValueError("serve at least one encoder")
    served = list(dict.fromkeys(encoders))
    searcher = searcher or Searcher(home, keep_posts=True)
    app = FastAPI(title="c2c search", summary="Search C2C car-parts posts by text, photo, sound or example post.",
                  version="1")
    app.state.searcher = searcher

    def chosen(encoder: str | None) -> str:
        name = encoder or served[0]
        if name not in served:
            raise _NotServed(f"encoder {name!r} is not served here; served: {', '.join(served)}")
        return name

    def run(encoder: str | None, k: int, filters: Filters, mode: str | None = None, lexical_weight: float = LEXICAL_WEIGHT,
            feedback: int | None = None, **query: Any) -> JSONResponse:
        hits = searcher.search(chosen(encoder), k, filters, mode, lexical_weight=lexical_weight, feedback=feedback, **query)
        headers = {"X-C2C-Search-Mode": searcher.last_mode}  # this thread's query: the Searcher keeps it per thread
        if searcher.last_note:
            headers["X-C2C-Search-Note"] = searcher.last_note.encode("ascii", "replace").decode()
        return JSONResponse([hit.as_dict() for hit in hits], headers=headers)

    @app.exception_handler(FilterError)
    async def filter_error(_: Request, error: FilterError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=400)

    @app.exception_handler(SearchError)
    async def search_error(_: Request, error: SearchError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=400)

    @app.exception_handler(_NotServed)
    async def not_served(_: Request, error: _NotServed) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=404)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": "; ".join(_problem(p) for p in error.errors())}, status_code=400)

    @app.exception_handler(StarletteHTTPException)  # FastAPI's, and the router's 404 / 405
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(error.detail)}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse({"error": f"internal error ({type(error).__name__}); see the server's log"}, status_code=500)

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "home": str(home.root), "encoders": {name: _sides(searcher, name) for name in served}}

    @app.get("/encoders")
    def list_encoders() -> list[dict[str, Any]]:
        rows = []
        for name in served:
            config = searcher.config(name)
            rows.append({"name": name, "family": config.family, "default": name == served[0], "sides": _sides(searcher, name)})
        return rows

    @app.get("/search")
    def search_get(
        q: Annotated[str | None, Query(description="Text query.")] = None,
        like: Annotated[str | None, Query(description="Posts like this post_id.")] = None,
        encoder: Annotated[str | None, Query()] = None,
        k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
        source: Annotated[str | None, Query()] = None,
        min_price: Annotated[float | None, Query()] = None,
        max_price: Annotated[float | None, Query()] = None,
        since: Annotated[date | None, Query(description="Scraped on or after, YYYY-MM-DD.")] = None,
        size: Annotated[str | None, Query(description="Tire size, wheel spec, bolt pattern or wheel diameter.")] = None,
        fits: Annotated[str | None, Query(description="Year, make and/or model, e.g. 2016 Civic.")] = None,
        mode: Annotated[Literal["hybrid", "semantic", "lexical"] | None, Query()] = None,
        lexical_weight: Annotated[float, Query(ge=0.0, le=1.0)] = LEXICAL_WEIGHT,
        feedback: Annotated[int | None, Query(ge=0, le=MAX_K, description="Hits fed back (search.feedback); default: 5 in hybrid mode.")] = None,
    ) -> JSONResponse:
        return run(encoder, k, Filters(source, min_price, max_price, since, size=size, fits=fits), mode, lexical_weight, feedback,
                   text=q, like=like)

    @app.post("/search")
    def search_post(body: SearchBody) -> JSONResponse:
        filters = Filters(body.source, body.min_price, body.max_price, body.since, size=body.size, fits=body.fits)
        return run(body.encoder, body.k, filters, body.mode, body.lexical_weight, body.feedback, text=body.text, like=body.like)

    def upload_route(kind: str, default_suffix: str):
        async def route(
            request: Request,
            encoder: Annotated[str | None, Query()] = None,
            k: Annotated[int, Query(ge=1, le=MAX_K)] = 10,
            source: Annotated[str | None, Query()] = None,
            min_price: Annotated[float | None, Query()] = None,
            max_price: Annotated[float | None, Query()] = None,
            since: Annotated[date | None, Query()] = None,
            size: Annotated[str | None, Query()] = None,
            fits: Annotated[str | None, Query()] = None,
        ) -> JSONResponse:
            name = chosen(encoder)  # before reading an upload for nothing
            filters = Filters(source, min_price, max_price, since, size=size, fits=fits)
            with tempfile.TemporaryDirectory(prefix="c2c-serve-") as folder:
                path = await _receive_upload(request, Path(folder), default_suffix, max_upload_bytes)
                return await run_in_threadpool(run, name, k, filters, **{kind: path})

        route.__name__ = f"search_{kind}"
        route.__doc__ = f"Search by {kind}: a multipart field `file`, or the raw request body."
        return route

    app.post("/search/image")(upload_route("image", ".jpg"))
    app.post("/search/audio")(upload_route("audio", ".wav"))
    return app


def _sides(searcher: Searcher, encoder: str) -> dict[str, dict[str, Any]]:
    return {side: {"build": loaded.build_dir.name, "n": len(loaded)} for side, loaded in searcher.builds(encoder).items()}


def _problem(problem: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in problem.get("loc", ()) if part not in ("query", "body"))
    return f"{where}: {problem.get('msg')}" if where else str(problem.get("msg"))


async def _capped(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body, stopped with a 413 once it passes ``limit`` bytes (whatever Content-Length said)."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise HTTPException(413, f"the upload is over {limit / (1 << 20):.0f} MiB")
        yield chunk


async def _receive_upload(request: Request, folder: Path, default_suffix: str, limit: int) -> Path:
    """Write the uploaded file (multipart field ``file``, else the raw body) under ``folder``, at most ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise HTTPException(413, f"the upload is over {limit / (1 << 20):.0f} MiB")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        from starlette.datastructures import UploadFile
        from starlette.formparsers import MultiPartException, MultiPartParser

        parser = MultiPartParser(request.headers, _capped(request, limit + 64 * 1024), max_files=1, max_fields=16)
        try:
            form = await parser.parse()
        except MultiPartException as error:
            raise HTTPException(400, f"cannot read the upload: {error.message}") from None
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise HTTPException(400, "send the file as the multipart field `file` (or as the raw request body)")
        suffix = Path(upload.filename or "").suffix
        path = folder / ("upload" + (suffix if _SUFFIX.match(suffix) else default_suffix))
        written = 0
        with path.open("wb") as out:
            while chunk := await upload.read(1 << 16):
                written += len(chunk)
                if written > limit:
                    raise HTTPException(413, f"the upload is over {limit / (1 << 20):.0f} MiB")
                out.write(chunk)
        await upload.close()
    else:
        path = folder / ("upload" + default_suffix)
        written = 0
        with path.open("wb") as out:
            async for chunk in _capped(request, limit):
                written += len(chunk)
                out.write(chunk)
    if written == 0:
        raise HTTPException(400, "the upload is empty")
    return path


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int):  # -> socket.socket
    """A listening socket on host:port (port 0: a free one), so the URL printed is the one served."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def server(app: FastAPI, *, log_level: str = "warning", access_log: bool = False):  # -> uvicorn.Server
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, access_log=access_log, timeout_graceful_shutdown=5,
                            limit_concurrency=256, lifespan="off")
    return uvicorn.Server(config)
