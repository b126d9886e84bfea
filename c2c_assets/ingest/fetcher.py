"""Concurrent, hardened image downloader for URLs taken from scraped posts.

The URLs are untrusted: a hostile post can point at internal services (SSRF),
at non-HTTP schemes, at endless or trickling bodies, or at redirect chains that
do any of those one hop later. Every fetch is therefore bounded in time, size
and destination, and every outcome -- success or refusal -- is a `FetchResult`
rather than an exception, so one bad URL never aborts a batch.

DNS rebinding (residual risk, accepted): the SSRF guard resolves the host with
`socket.getaddrinfo` and checks every address, then httpx resolves the host a
second time when it connects. A hostile DNS server answering with a zero TTL
can hand us a public address for the check and a private one for the
connection. Closing that window means pinning the connection to the checked
address (requesting the IP with a Host header and an `sni_hostname` extension,
or a custom network backend), which complicates TLS, connection pooling and
multi-address fallback. We accept the window because the attacker must also
control authoritative DNS and win a race per hop, and because deployments
should enforce the same policy with an egress firewall anyway; this guard is
defence in depth, not the only wall.
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import ipaddress
import random
import socket
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from types import TracebackType

import httpx

BAD_SCHEME = "bad_scheme"
BLOCKED_ADDRESS = "blocked_address"
TIMEOUT = "timeout"
HTTP_ERROR = "http_error"
TOO_LARGE = "too_large"
NOT_IMAGE = "not_image_content_type"
TOO_MANY_REDIRECTS = "too_many_redirects"
CONNECTION_ERROR = "connection_error"
BAD_URL = "bad_url"

FETCH_REASONS: tuple[str, ...] = (
    BAD_SCHEME,
    BLOCKED_ADDRESS,
    TIMEOUT,
    HTTP_ERROR,
    TOO_LARGE,
    NOT_IMAGE,
    TOO_MANY_REDIRECTS,
    CONNECTION_ERROR,
    BAD_URL,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Well-known NAT64 prefix (RFC 6052): a DNS64 resolver maps IPv4-only hosts
# into it, and the NAT64 gateway forwards to the embedded IPv4 address.
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
# Jitter spreads retries from concurrent workers so they don't hit a
# struggling server in lock-step; a tenth of the back-off is enough for that.
_JITTER_FRACTION = 0.1


@dataclass(frozen=True)
class FetchSettings:
    """Limits for one `ImageFetcher`; the defaults suit untrusted public URLs."""

    timeout_s: float = 10.0  # per attempt, connect and each read
    total_timeout_s: float = 30.0  # per URL, all attempts and redirects included
    max_bytes: int = 20 * 1024 * 1024
    retries: int = 3  # re-tries after the first attempt
    backoff_s: float = 0.5  # first back-off; doubles each retry
    max_redirects: int = 5
    concurrency: int = 8
    allow_private_networks: bool = False
    user_agent: str = "c2c-assets-image-fetcher/0.1"

    def __post_init__(self) -> None:
        # Misconfiguration is a programming error, so fail loudly up front
        # instead of producing confusing per-URL results later.
        if self.timeout_s <= 0 or self.total_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if self.max_bytes < 0 or self.retries < 0 or self.max_redirects < 0:
            raise ValueError("max_bytes, retries and max_redirects must be >= 0")
        if self.backoff_s < 0:
            raise ValueError("backoff_s must be >= 0")
        if self.concurrency < 1:
            raise ValueError("concurrency must be >= 1")


@dataclass(frozen=True)
class FetchResult:
    """Outcome of fetching one URL; `reason` is one of `FETCH_REASONS` or None."""

    url: str  # as requested
    final_url: str  # last URL reached or refused (differs from `url` after redirects)
    ok: bool
    data: bytes | None  # body when ok
    content_type: str | None
    reason: str | None  # None when ok
    detail: str | None  # human-readable explanation of `reason`
    attempts: int
    status_code: int | None  # status of the response the outcome is about, if any


@dataclass(frozen=True)
class _Outcome:
    """One attempt's result plus what the retry loop needs to decide on it."""

    result: FetchResult
    retryable: bool = False
    retry_after_s: float | None = None


def _failure(
    url: str,
    final_url: httpx.URL | str,
    reason: str,
    detail: str,
    *,
    status_code: int | None = None,
    content_type: str | None = None,
    retryable: bool = False,
    retry_after_s: float | None = None,
) -> _Outcome:
    result = FetchResult(
        url=url,
        final_url=str(final_url),
        ok=False,
        data=None,
        content_type=content_type,
        reason=reason,
        detail=detail,
        attempts=0,  # filled in by the retry loop, which alone knows the count
        status_code=status_code,
    )
    return _Outcome(result, retryable, retry_after_s)


def _is_public_address(address: IPAddress) -> bool:
    """True only for globally routable unicast addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        # These IPv6 forms deliver to an embedded IPv4 host, so that host is
        # what must be judged (::ffff:127.0.0.1 is loopback, not "reserved").
        if address.ipv4_mapped is not None:
            return _is_public_address(address.ipv4_mapped)
        if address in _NAT64_PREFIX:
            return _is_public_address(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        # 6to4 relays route to the embedded IPv4 host as well as the prefix.
        if address.sixtofour is not None and not _is_public_address(address.sixtofour):
            return False
        if address.is_site_local:
            return False
    # `is_global` alone has varied across Python releases (e.g. multicast
    # counts as global), so every special-purpose category is refused too.
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _resolve(host: str, port: int) -> list[IPAddress]:
    # getaddrinfo is what httpx's connect uses too, so odd literals such as
    # "2130706433" or "0x7f000001" are interpreted exactly as they will be when
    # connecting. (It has no timeout of its own; resolver limits apply.)
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def _retry_after_s(response: httpx.Response) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or HTTP-date)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _declared_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


class ImageFetcher:
    """Downloads images from untrusted http(s) URLs; safe to share across threads."""

    def __init__(self, settings: FetchSettings | None = None) -> None:
        self._settings = settings or FetchSettings()
        s = self._settings
        self._client = httpx.Client(
            # Redirects are followed by hand so every hop is re-validated.
            follow_redirects=False,
            # No proxies from the environment (a proxy would resolve and
            # connect on our behalf, bypassing the address guard) and no
            # ambient credentials.
            trust_env=False,
            timeout=httpx.Timeout(s.timeout_s),
            limits=httpx.Limits(
                max_connections=s.concurrency, max_keepalive_connections=s.concurrency
            ),
            # Refuse all cookies: hostile servers must not be able to plant
            # state that rides along on later, unrelated fetches.
            cookies=http.cookiejar.CookieJar(
                policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[])
            ),
            headers={
                "User-Agent": s.user_agent,
                "Accept": "image/*",
                # Images are already compressed; asking for identity avoids
                # decompression bombs inflating far past the byte count.
                "Accept-Encoding": "identity",
            },
        )

    def __enter__(self) -> ImageFetcher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch_many(self, urls: Iterable[str]) -> dict[str, FetchResult]:
        """Fetch distinct URLs concurrently; one result per distinct URL."""
        unique = list(dict.fromkeys(urls))
        if not unique:
            return {}
        workers = min(self._settings.concurrency, len(unique))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image-fetch") as pool:
            return dict(zip(unique, pool.map(self.fetch, unique)))

    def fetch(self, url: str) -> FetchResult:
        """Fetch one URL with retries, all within `total_timeout_s`. Never raises."""
        deadline = time.monotonic() + self._settings.total_timeout_s
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(url, deadline)
            delay = self._retry_delay(outcome, attempt)
            # Sleeping past the deadline would only end in a timeout, which
            # says less than the failure we already have.
            if delay is None or time.monotonic() + delay >= deadline:
                return replace(outcome.result, attempts=attempt)
            time.sleep(delay)

    def _is_allowed_address(self, address: IPAddress, port: int) -> bool:
        """Address policy applied to every resolved address of every hop.

        A seam for tests, which override it to admit exactly their local
        server and prove that later hops are still checked; `port` is passed
        so such a policy can be that narrow.
        """
        return _is_public_address(address)

    def _retry_delay(self, outcome: _Outcome, attempt: int) -> float | None:
        if not outcome.retryable or attempt > self._settings.retries:
            return None
        backoff = self._settings.backoff_s * 2.0 ** (attempt - 1)
        backoff += random.uniform(0, backoff * _JITTER_FRACTION)
        # Never retry sooner than the server asked to.
        return max(backoff, outcome.retry_after_s or 0.0)

    def _attempt(self, url: str, deadline: float) -> _Outcome:
        """One pass over the redirect chain, starting again from `url`.

        Retries restart from the original URL because redirect targets are
        often short-lived (signed CDN links) and must be re-derived.
        """
        try:
            current = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            return _failure(url, url, BAD_URL, f"invalid URL: {exc}")
        for hop in range(self._settings.max_redirects + 1):
            refusal = self._check_destination(url, current)
            if refusal is not None:
                return refusal
            step = self._request(url, current, deadline)
            if isinstance(step, _Outcome):
                return step
            if hop == self._settings.max_redirects:
                break
            current = step
        return _failure(
            url,
            current,
            TOO_MANY_REDIRECTS,
            f"more than {self._settings.max_redirects} redirects",
        )

    def _check_destination(self, url: str, current: httpx.URL) -> _Outcome | None:
        """Refuse a hop whose scheme or resolved addresses are not allowed."""
        if not current.scheme:
            return _failure(url, current, BAD_URL, "URL is not absolute")
        if current.scheme not in _DEFAULT_PORTS:
            return _failure(url, current, BAD_SCHEME, f"scheme {current.scheme!r} not allowed")
        try:
            # The IDNA-encoded ASCII form is what httpx will resolve too.
            host = current.raw_host.decode("ascii")
        except UnicodeError as exc:
            return _failure(url, current, BAD_URL, f"invalid host: {exc}")
        if not host:
            return _failure(url, current, BAD_URL, "URL has no host")
        if self._settings.allow_private_networks:
            return None
        port = current.port or _DEFAULT_PORTS[current.scheme]
        try:
            addresses = _resolve(host, port)
        except socket.gaierror as exc:
            # Only a temporary resolver failure is worth retrying; NXDOMAIN
            # and friends will not change within our deadline.
            return _failure(
                url,
                current,
                CONNECTION_ERROR,
                f"cannot resolve {host!r}: {exc}",
                retryable=exc.errno == socket.EAI_AGAIN,
            )
        except (UnicodeError, ValueError) as exc:
            return _failure(url, current, BAD_URL, f"invalid host {host!r}: {exc}")
        except OSError as exc:
            return _failure(url, current, CONNECTION_ERROR, f"cannot resolve {host!r}: {exc}")
        # Refuse if ANY address is disallowed: the connection may use any of them.
        blocked = [a for a in addresses if not self._is_allowed_address(a, port)]
        if blocked or not addresses:
            shown = blocked[0] if blocked else "nothing"
            return _failure(
                url, current, BLOCKED_ADDRESS, f"{host!r} resolves to disallowed address {shown}"
            )
        return None

    def _request(self, url: str, current: httpx.URL, deadline: float) -> _Outcome | httpx.URL:
        """GET one hop: the final outcome, or the URL a redirect points to."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return _failure(
                url,
                current,
                TIMEOUT,
                f"total deadline of {self._settings.total_timeout_s} s exceeded",
            )
        # Connect and each read get the per-attempt timeout, shortened so
        # that waiting for headers cannot outlast the overall deadline.
        timeout = httpx.Timeout(min(self._settings.timeout_s, remaining))
        try:
            with self._client.stream("GET", current, timeout=timeout) as response:
                return self._read_response(url, current, response, deadline)
        except httpx.TimeoutException as exc:
            return _failure(url, current, TIMEOUT, f"{type(exc).__name__}: {exc}", retryable=True)
        except httpx.TransportError as exc:
            return _failure(
                url, current, CONNECTION_ERROR, f"{type(exc).__name__}: {exc}", retryable=True
            )
        except httpx.DecodingError as exc:
            return _failure(url, current, CONNECTION_ERROR, f"undecodable body: {exc}")

    def _read_response(
        self, url: str, current: httpx.URL, response: httpx.Response, deadline: float
    ) -> _Outcome | httpx.URL:
        status = response.status_code
        if status in _REDIRECT_STATUSES:
            location = response.headers.get("location")
            if location is None:
                return _failure(
                    url, current, HTTP_ERROR, f"HTTP {status} without Location", status_code=status
                )
            try:
                return current.join(location)
            except httpx.InvalidURL as exc:
                return _failure(
                    url, current, BAD_URL, f"invalid redirect target: {exc}", status_code=status
                )
        if not response.is_success:
            retryable = status == 429 or status >= 500
            return _failure(
                url,
                current,
                HTTP_ERROR,
                f"HTTP {status} {response.reason_phrase}".rstrip(),
                status_code=status,
                retryable=retryable,
                retry_after_s=_retry_after_s(response) if retryable else None,
            )

        content_type = response.headers.get("content-type")
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        if not media_type.startswith("image/"):
            return _failure(
                url,
                current,
                NOT_IMAGE,
                f"Content-Type {content_type!r} is not image/*",
                status_code=status,
                content_type=content_type,
            )

        max_bytes = self._settings.max_bytes
        declared = _declared_length(response)
        if declared is not None and declared > max_bytes:
            return _failure(
                url,
                current,
                TOO_LARGE,
                f"Content-Length {declared} over {max_bytes} bytes",
                status_code=status,
                content_type=content_type,
            )
        # The header may be absent or lie, so the streamed bytes are counted,
        # and the deadline is checked between reads: a server trickling bytes
        # can overrun it by at most one read timeout.
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                return _failure(
                    url,
                    current,
                    TOO_LARGE,
                    f"body over {max_bytes} bytes",
                    status_code=status,
                    content_type=content_type,
                )
            if time.monotonic() > deadline:
                return _failure(
                    url,
                    current,
                    TIMEOUT,
                    f"total deadline of {self._settings.total_timeout_s} s exceeded reading body",
                    status_code=status,
                    content_type=content_type,
                )
        return _Outcome(
            FetchResult(
                url=url,
                final_url=str(current),
                ok=True,
                data=bytes(body),
                content_type=content_type,
                reason=None,
                detail=None,
                attempts=0,
                status_code=status,
            )
        )
