"""Tests for the image fetcher against a real HTTP server on 127.0.0.1.

Nothing here touches a network beyond loopback: blocked-address tests replace
`socket.create_connection` (what httpx connects with) by a function that fails
the test, proving the guard refuses before any connection is attempted.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c2c_assets.ingest.fetcher import (
    BAD_SCHEME,
    BAD_URL,
    BLOCKED_ADDRESS,
    CONNECTION_ERROR,
    FETCH_REASONS,
    HTTP_ERROR,
    NOT_IMAGE,
    TIMEOUT,
    TOO_LARGE,
    TOO_MANY_REDIRECTS,
    FetchResult,
    FetchSettings,
    ImageFetcher,
    IPAddress,
    _is_public_address,
)

LIMIT = 1024  # max_bytes for the test fetchers


def _png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00\xff"))
        + chunk(b"IEND", b"")
    )


PNG = _png_1x1()

FAST = FetchSettings(
    timeout_s=0.5,
    total_timeout_s=1.5,
    max_bytes=LIMIT,
    retries=2,
    backoff_s=0.01,
    max_redirects=3,
    concurrency=8,
    allow_private_networks=True,
)


class _Server(ThreadingHTTPServer):
    # Non-daemon handler threads are joined by server_close(): clean shutdown.
    daemon_threads = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stopping = threading.Event()  # cuts handler sleeps short at teardown
        self.hits: Counter[str] = Counter()  # request target (path?query) -> count
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def url(self, target: str) -> str:
        return f"http://127.0.0.1:{self.port}{target}"

    def record(self, target: str) -> int:
        with self._lock:
            self.hits[target] += 1
            return self.hits[target]

    @property
    def total_hits(self) -> int:
        with self._lock:
            return sum(self.hits.values())

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-response (timeouts, size limits) is expected.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 5  # an idle keep-alive connection must not block shutdown forever
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        count = self.server.record(self.path)
        route = split.path.strip("/").split("/")
        getattr(self, f"route_{route[0].replace('-', '_')}")(route[1:], query, count)

    # -- helpers --------------------------------------------------------
    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = "image/png",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _start_chunked(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    # -- routes -----------------------------------------------------------
    def route_png(self, rest: list[str], query: dict[str, str], count: int) -> None:
        self._send(200, PNG)

    def route_slow(self, rest: list[str], query: dict[str, str], count: int) -> None:
        self.server.stopping.wait(float(query["s"]))
        self._send(200, PNG)

    def route_trickle(self, rest: list[str], query: dict[str, str], count: int) -> None:
        self._start_chunked()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.server.stopping.wait(0.05):
            self._chunk(b"x")
        self.close_connection = True

    def route_status(self, rest: list[str], query: dict[str, str], count: int) -> None:
        headers = {"Retry-After": query["ra"]} if "ra" in query else None
        self._send(int(rest[0]), content_type=None, headers=headers)

    def route_flaky(self, rest: list[str], query: dict[str, str], count: int) -> None:
        if count == 1:
            self._send(500, content_type=None)
        else:
            self._send(200, PNG)

    def route_rate_limited(self, rest: list[str], query: dict[str, str], count: int) -> None:
        if count == 1:
            self._send(429, content_type=None, headers={"Retry-After": "1"})
        else:
            self._send(200, PNG)

    def route_redirect(self, rest: list[str], query: dict[str, str], count: int) -> None:
        self._send(302, content_type=None, headers={"Location": query["to"]})

    def route_loop(self, rest: list[str], query: dict[str, str], count: int) -> None:
        self._send(302, content_type=None, headers={"Location": "/loop"})

    def route_html(self, rest: list[str], query: dict[str, str], count: int) -> None:
        self._send(200, b"<html></html>", content_type="text/html; charset=utf-8")

    def route_no_type(self, rest: list[str], query: dict[str, str], count: int) -> None:
        self._send(200, PNG, content_type=None)

    def route_big_length(self, rest: list[str], query: dict[str, str], count: int) -> None:
        self._send(200, b"x" * (LIMIT + 1))

    def route_big_chunked(self, rest: list[str], query: dict[str, str], count: int) -> None:
        self._start_chunked()
        for _ in range(8):
            self._chunk(b"x" * 512)
        self.wfile.write(b"0\r\n\r\n")

    def route_close_delimited(self, rest: list[str], query: dict[str, str], count: int) -> None:
        # No Content-Length and no chunking: the body ends when we hang up.
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Connection", "close")
        self.end_headers()
        remaining = int(query["n"])
        while remaining > 0:
            self.wfile.write(b"x" * min(256, remaining))
            remaining -= 256
        self.close_connection = True


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    yield httpd
    httpd.stopping.set()
    httpd.shutdown()
    thread.join()
    httpd.server_close()


@pytest.fixture
def make_fetcher(server: _Server) -> Iterator[Callable[..., ImageFetcher]]:
    """Fetchers with FAST settings (plus overrides), closed before the server stops."""
    fetchers: list[ImageFetcher] = []

    def make(cls: type[ImageFetcher] = ImageFetcher, **overrides: Any) -> ImageFetcher:
        fetcher = cls(replace(FAST, **overrides))
        fetchers.append(fetcher)
        return fetcher

    yield make
    for fetcher in fetchers:
        fetcher.close()


@pytest.fixture
def fetcher(make_fetcher: Callable[..., ImageFetcher]) -> ImageFetcher:
    return make_fetcher()


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything tries to open a TCP connection."""

    def refuse(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        raise AssertionError(f"unexpected connection to {address}")

    monkeypatch.setattr(socket, "create_connection", refuse)


def _timed(fetcher: ImageFetcher, url: str) -> tuple[FetchResult, float]:
    start = time.monotonic()
    result = fetcher.fetch(url)
    return result, time.monotonic() - start


def _assert_failed(result: FetchResult, reason: str) -> None:
    assert not result.ok, result
    assert result.reason == reason, result
    assert result.data is None
    assert result.detail


# -- success ------------------------------------------------------------------


def test_good_png(fetcher: ImageFetcher, server: _Server) -> None:
    url = server.url("/png")
    result = fetcher.fetch(url)
    assert result == FetchResult(
        url=url,
        final_url=url,
        ok=True,
        data=PNG,
        content_type="image/png",
        reason=None,
        detail=None,
        attempts=1,
        status_code=200,
    )


def test_body_exactly_at_limit_is_accepted(fetcher: ImageFetcher, server: _Server) -> None:
    result = fetcher.fetch(server.url(f"/close-delimited?n={LIMIT}"))
    assert result.ok, result
    assert result.data == b"x" * LIMIT


def test_context_manager_closes_client(server: _Server) -> None:
    with ImageFetcher(FAST) as fetcher:
        assert fetcher.fetch(server.url("/png")).ok
    with pytest.raises(RuntimeError):  # use after close is a bug, not a bad URL
        fetcher.fetch(server.url("/png"))


# -- timeouts -------------------------------------------------------------------


def test_slow_response_times_out_within_total_deadline(
    make_fetcher: Callable[..., ImageFetcher], server: _Server
) -> None:
    fetcher = make_fetcher(timeout_s=0.3, total_timeout_s=1.0, retries=5)
    result, elapsed = _timed(fetcher, server.url("/slow?s=3"))
    _assert_failed(result, TIMEOUT)
    assert result.attempts >= 2  # timeouts are retried while time remains
    assert elapsed < 1.0 + 0.4


def test_trickling_body_stopped_by_total_deadline(
    make_fetcher: Callable[..., ImageFetcher], server: _Server
) -> None:
    # Each byte arrives well within the read timeout; only the deadline helps.
    fetcher = make_fetcher(timeout_s=0.5, total_timeout_s=1.0)
    result, elapsed = _timed(fetcher, server.url("/trickle"))
    _assert_failed(result, TIMEOUT)
    assert result.status_code == 200
    assert result.attempts == 1  # no time left to retry
    assert 1.0 <= elapsed < 1.0 + 0.5 + 0.3  # overrun bounded by one read timeout


# -- HTTP status handling and retries -------------------------------------------------


def test_404_is_not_retried(fetcher: ImageFetcher, server: _Server) -> None:
    result = fetcher.fetch(server.url("/status/404"))
    _assert_failed(result, HTTP_ERROR)
    assert result.status_code == 404
    assert result.detail == "HTTP 404 Not Found"
    assert result.attempts == 1
    assert server.hits["/status/404"] == 1


def test_500_then_200_succeeds_on_retry(fetcher: ImageFetcher, server: _Server) -> None:
    result = fetcher.fetch(server.url("/flaky"))
    assert result.ok, result
    assert result.data == PNG
    assert result.attempts == 2


def test_503_always_gives_up_after_all_retries(fetcher: ImageFetcher, server: _Server) -> None:
    result = fetcher.fetch(server.url("/status/503"))
    _assert_failed(result, HTTP_ERROR)
    assert result.status_code == 503
    assert result.attempts == FAST.retries + 1
    assert server.hits["/status/503"] == FAST.retries + 1


def test_retry_after_is_honoured(
    make_fetcher: Callable[..., ImageFetcher], server: _Server
) -> None:
    fetcher = make_fetcher(total_timeout_s=3.0)
    result, elapsed = _timed(fetcher, server.url("/rate-limited"))
    assert result.ok, result
    assert result.attempts == 2
    assert elapsed >= 1.0


def test_retry_after_beyond_deadline_gives_up_at_once(
    fetcher: ImageFetcher, server: _Server
) -> None:
    result, elapsed = _timed(fetcher, server.url("/status/503?ra=30"))
    _assert_failed(result, HTTP_ERROR)
    assert result.attempts == 1
    assert elapsed < 0.5


def test_connection_refused_is_retried(fetcher: ImageFetcher) -> None:
    with socket.socket() as sock:  # grab a free port, then leave it closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = fetcher.fetch(f"http://127.0.0.1:{port}/png")
    _assert_failed(result, CONNECTION_ERROR)
    assert result.attempts == FAST.retries + 1
    assert result.status_code is None


# -- content type and size --------------------------------------------------------


def test_html_is_refused(fetcher: ImageFetcher, server: _Server) -> None:
    result = fetcher.fetch(server.url("/html"))
    _assert_failed(result, NOT_IMAGE)
    assert result.content_type == "text/html; charset=utf-8"
    assert result.attempts == 1


def test_missing_content_type_is_refused(fetcher: ImageFetcher, server: _Server) -> None:
    result = fetcher.fetch(server.url("/no-type"))
    _assert_failed(result, NOT_IMAGE)
    assert result.content_type is None


def test_oversized_content_length_refused_early(fetcher: ImageFetcher, server: _Server) -> None:
    result = fetcher.fetch(server.url("/big-length"))
    _assert_failed(result, TOO_LARGE)
    assert result.detail == f"Content-Length {LIMIT + 1} over {LIMIT} bytes"
    assert result.attempts == 1


@pytest.mark.parametrize("target", ["/big-chunked", f"/close-delimited?n={LIMIT * 8}"])
def test_oversized_body_without_content_length(
    fetcher: ImageFetcher, server: _Server, target: str
) -> None:
    result = fetcher.fetch(server.url(target))
    _assert_failed(result, TOO_LARGE)
    assert result.detail == f"body over {LIMIT} bytes"
    assert result.attempts == 1


# -- redirects ----------------------------------------------------------------------


@pytest.mark.parametrize("absolute", [False, True])
def test_redirect_to_image(fetcher: ImageFetcher, server: _Server, absolute: bool) -> None:
    target = server.url("/png") if absolute else "/png"
    url = server.url(f"/redirect?to={target}")
    result = fetcher.fetch(url)
    assert result.ok, result
    assert result.data == PNG
    assert result.url == url
    assert result.final_url == server.url("/png")


def test_redirect_loop(fetcher: ImageFetcher, server: _Server) -> None:
    result = fetcher.fetch(server.url("/loop"))
    _assert_failed(result, TOO_MANY_REDIRECTS)
    assert result.attempts == 1
    assert server.hits["/loop"] == FAST.max_redirects + 1


def test_redirect_to_file_scheme_refused(fetcher: ImageFetcher, server: _Server) -> None:
    result = fetcher.fetch(server.url("/redirect?to=file:///etc/passwd"))
    _assert_failed(result, BAD_SCHEME)
    assert result.final_url.startswith("file:")  # httpx normalises file:/// to file:/


# -- URL validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/image.png",
        "file:///etc/passwd",
        "data:image/png;base64,iVBORw0KGgo=",
        "gopher://127.0.0.1:70/_GET",
        "javascript:alert(1)",
    ],
)
def test_non_http_schemes_refused(fetcher: ImageFetcher, no_connect: None, url: str) -> None:
    result = fetcher.fetch(url)
    _assert_failed(result, BAD_SCHEME)
    assert result.attempts == 1


@pytest.mark.parametrize(
    "url", ["", "   ", "not a url", "//example.com/x.png", "http:///x.png", "http://[::1", "http://a\r\nb/"]
)
def test_malformed_urls_refused(fetcher: ImageFetcher, no_connect: None, url: str) -> None:
    _assert_failed(fetcher.fetch(url), BAD_URL)


# -- SSRF guard ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://2130706433/",  # decimal 127.0.0.1
        "http://0x7f000001/",  # hex 127.0.0.1
        "http://127.1/",
        "http://0.0.0.0/",
        "http://localhost/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "https://192.168.1.1/",
        "http://172.16.0.1/",
        "http://100.64.0.1/",  # carrier-grade NAT
        "http://224.0.0.1/",
    ],
)
def test_blocked_addresses_refused_by_default(no_connect: None, url: str) -> None:
    with ImageFetcher() as fetcher:
        result = fetcher.fetch(url)
    _assert_failed(result, BLOCKED_ADDRESS)
    assert result.attempts == 1
    assert result.status_code is None


def test_live_loopback_server_not_contacted_by_default(server: _Server) -> None:
    with ImageFetcher() as fetcher:
        result = fetcher.fetch(server.url("/png"))
    _assert_failed(result, BLOCKED_ADDRESS)
    assert server.total_hits == 0


class _OnlyFirstHop(ImageFetcher):
    """Admits exactly one host:port, so redirects elsewhere must be refused."""

    allowed: tuple[IPAddress, int]

    def _is_allowed_address(self, address: IPAddress, port: int) -> bool:
        return (address, port) == self.allowed


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.2:{port}/png", "http://[::1]:{port}/png", "http://169.254.169.254/"],
)
def test_redirect_to_blocked_address_refused(
    make_fetcher: Callable[..., ImageFetcher],
    server: _Server,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
) -> None:
    fetcher = make_fetcher(_OnlyFirstHop, allow_private_networks=False)
    assert isinstance(fetcher, _OnlyFirstHop)
    fetcher.allowed = (ipaddress.ip_address("127.0.0.1"), server.port)
    connected: list[Any] = []
    real_connect = socket.create_connection

    def spy(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        connected.append(address)
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)

    assert fetcher.fetch(server.url("/png")).ok  # the policy does admit the first hop
    target = target.format(port=server.port)
    result = fetcher.fetch(server.url(f"/redirect?to={target}"))
    _assert_failed(result, BLOCKED_ADDRESS)
    assert result.final_url == target
    assert {address for address in connected} == {("127.0.0.1", server.port)}
    assert server.total_hits == 2


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_public_addresses_allowed(address: str) -> None:
    assert _is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.0.2.1",  # documentation
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:192.168.0.1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2001::1",  # Teredo
        "fec0::1",  # site-local
        "ff02::1",
    ],
)
def test_non_public_addresses_blocked(address: str) -> None:
    assert not _is_public_address(ipaddress.ip_address(address))


@pytest.fixture(scope="module")
def default_fetcher() -> Iterator[ImageFetcher]:
    with ImageFetcher() as fetcher:
        yield fetcher


_URLISH = st.one_of(
    st.text(),
    st.builds(
        str.__add__,
        st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "//", "http:", "http://[", "data:"]),
        st.text(),
    ),
)


@settings(max_examples=200, deadline=None)
@given(url=_URLISH)
def test_arbitrary_input_never_raises(default_fetcher: ImageFetcher, url: str) -> None:
    # Every host "resolves" to a private address, so no example can connect.
    private = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", 80))]
    with (
        mock.patch.object(socket, "getaddrinfo", return_value=private),
        mock.patch.object(socket, "create_connection", side_effect=AssertionError("connect")),
    ):
        result = default_fetcher.fetch(url)
    assert not result.ok
    assert result.reason in FETCH_REASONS
    assert result.attempts == 1


# -- batches -------------------------------------------------------------------------


def test_fetch_many_one_result_per_distinct_url(fetcher: ImageFetcher, server: _Server) -> None:
    good = [server.url(f"/png?i={i}") for i in range(10)]
    bad = {
        server.url("/status/404"): HTTP_ERROR,
        server.url("/html"): NOT_IMAGE,
        server.url("/big-length"): TOO_LARGE,
        server.url("/loop"): TOO_MANY_REDIRECTS,
        "ftp://127.0.0.1/x.png": BAD_SCHEME,
        "": BAD_URL,
    }
    urls = good + list(bad) + [good[0], good[0], server.url("/html"), good[5]]
    assert len(urls) == 20

    results = fetcher.fetch_many(urls)

    assert set(results) == set(urls)
    for url, result in results.items():
        assert result.url == url
    assert all(results[url].ok and results[url].data == PNG for url in good)
    assert {url: results[url].reason for url in bad} == bad
    assert server.hits["/png?i=0"] == 1  # duplicates fetched once
    assert server.hits["/html"] == 1


def test_fetch_many_empty(fetcher: ImageFetcher) -> None:
    assert fetcher.fetch_many([]) == {}


def test_fetch_many_runs_concurrently(
    make_fetcher: Callable[..., ImageFetcher], server: _Server
) -> None:
    fetcher = make_fetcher(timeout_s=2.0, total_timeout_s=5.0, concurrency=8)
    urls = [server.url(f"/slow?s=0.3&i={i}") for i in range(8)]
    start = time.monotonic()
    results = fetcher.fetch_many(urls)
    elapsed = time.monotonic() - start
    assert all(result.ok for result in results.values())
    assert elapsed < 1.5  # sequential would take 8 * 0.3 = 2.4 s


# -- settings -----------------------------------------------------------------------------


def test_reason_codes_are_distinct() -> None:
    assert len(set(FETCH_REASONS)) == len(FETCH_REASONS) == 9


@pytest.mark.parametrize(
    "overrides",
    [{"timeout_s": 0}, {"total_timeout_s": -1}, {"retries": -1}, {"concurrency": 0}, {"max_bytes": -1}],
)
def test_invalid_settings_rejected(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        FetchSettings(**overrides)
