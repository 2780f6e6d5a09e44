"""Outbound HTTP that goes only where an admin meant it to.

Every request (and every redirect hop) resolves the host, refuses loopback, private,
link-local, shared, multicast, reserved and cloud-metadata addresses unless the
operator allowed their network (ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS), and then connects
to the very address it checked (the URL is rewritten to the IP; Host and TLS SNI keep
the name), so a DNS answer that changes between check and use cannot slip through.
The network lists are explicit because `ipaddress.is_private` on some Python 3.11
patch releases misclassifies ranges.

Three more guards keep one slow or hostile service from hurting anyone else:
- one deadline for the whole exchange (DNS, connect, TLS, headers, body, redirects):
  every socket operation waits at most the time left, so a server trickling a byte at a
  time is cut off at the deadline (httpx's own read timeout restarts with every byte),
  and name resolution, which the C library does with its own timeouts and retries, runs
  on a small pool of resolver threads that the request waits on only until the deadline;
- a bulkhead: at most ENSEMBLE_OUTBOUND_MAX_CONCURRENT requests per service at once in
  this process; as many more wait for a slot about twice as long as the service
  usually takes to answer (a failing or unknown one: a quarter second), then fail
  ("busy") instead of taking more web threads;
- a circuit breaker: after ENSEMBLE_OUTBOUND_BREAKER_FAILURES failures in a row a
  service is skipped for ENSEMBLE_OUTBOUND_BREAKER_SECONDS, then one trial is let through.
"""

import ipaddress
import json as _json
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

import certifi
import httpcore
import httpx
from django.conf import settings

BLOCKED_NETWORKS = [
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
        "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
        "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "100::/64", "2001::/23", "2001:db8::/32",
        "fc00::/7", "fe80::/10", "ff00::/8",
    )
]


class OutboundError(Exception):
    """A request we refused to send or that failed; `code` is for ErrorResponse."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _allowed_networks():
    return [ipaddress.ip_network(n, strict=False) for n in settings.ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS]


def check_address(address: str) -> None:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in net for net in _allowed_networks()):
        return
    if any(ip in net for net in BLOCKED_NETWORKS if net.version == ip.version):
        raise OutboundError(
            "FORBIDDEN_ADDRESS",
            f"Refusing to connect to {ip}: loopback, private, link-local and metadata addresses are not "
            "allowed (ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS can allow a network).",
        )


def check_host(host: str) -> None:
    """With ENSEMBLE_OUTBOUND_ALLOWED_HOSTS set, only those hosts are contacted (no DNS
    lookup happens for any other): an egress allow-list for locked-down deployments."""
    allowed = settings.ENSEMBLE_OUTBOUND_ALLOWED_HOSTS
    if allowed and host.strip("[]").lower() not in {h.strip("[]").lower() for h in allowed}:
        raise OutboundError("FORBIDDEN_HOST", f"Refusing to connect to {host}: not in ENSEMBLE_OUTBOUND_ALLOWED_HOSTS.")


# getaddrinfo cannot be interrupted; a lookup that outlives its request finishes here,
# on one of a few threads, instead of holding a web thread. A hung resolver fills the
# pool and later lookups wait in its queue, each only until its own deadline.
_RESOLVERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="outbound-dns")


def _getaddrinfo(host: str, port: int, deadline: float | None) -> list:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:  # an address literal: nothing to look up
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if deadline is None:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    lookup = _RESOLVERS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return lookup.result(timeout=max(0.0, deadline - time.monotonic()))
    except FutureTimeout:
        lookup.cancel()  # still queued: never run
        raise OutboundError("TIMEOUT", f"Resolving {host} took longer than the request's deadline.") from None


def resolve_checked(host: str, port: int, deadline: float | None = None) -> str:
    """Resolve `host` (by `deadline`, a time.monotonic() value, when given) and return an
    address that passes check_address; every answer must pass."""
    check_host(host)
    try:
        infos = _getaddrinfo(host.strip("[]"), port, deadline)
    except socket.gaierror as error:
        raise OutboundError("DNS_FAILURE", f"Cannot resolve {host}: {error}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for address in addresses:
        check_address(address)
    return addresses[0]


@lru_cache(maxsize=1)
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~35 ms: do it once per process, not per request.
    return ssl.create_default_context(cafile=certifi.where())


def origin_of(url: str) -> str:
    """scheme://host:port of a URL (default ports spelled out), for same-origin checks."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"


@dataclass
class FetchResult:
    url: str  # the final URL, after redirects
    status: int
    headers: httpx.Headers
    body: bytes


def _pinned(url: str, deadline: float) -> tuple[str, dict, dict]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError("INVALID_URL", f"{url!r} is not an http(s) URL.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_checked(parts.hostname, port, deadline)
    host_for_url = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((parts.scheme, f"{host_for_url}:{port}", parts.path or "/", parts.query, ""))
    default_port = (parts.scheme == "https" and port == 443) or (parts.scheme == "http" and port == 80)
    headers = {"Host": parts.hostname if default_port else f"{parts.hostname}:{port}"}
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return pinned, headers, extensions


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits at most until `deadline`."""

    def __init__(self, stream, deadline: float):
        self._stream, self._deadline = stream, deadline

    def _left(self, timeout, error):
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the exchange's deadline has passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes, timeout=None):
        return self._stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer, timeout=None):
        for start in range(0, len(buffer), 65536):  # each piece gets only the time left
            self._stream.write(buffer[start:start + 65536], self._left(timeout, httpcore.WriteTimeout))

    def close(self):
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        stream = self._stream.start_tls(ssl_context, server_hostname, self._left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    def __init__(self, deadline: float):
        self._deadline = deadline

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the exchange's deadline has passed")
        timeout = left if timeout is None else min(timeout, left)
        stream = super().connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)


def _client(deadline: float, timeout: float) -> httpx.Client:
    transport = httpx.HTTPTransport(verify=_ssl_context(), trust_env=False)
    # httpx has no public switch for the network backend; the pool takes one.
    transport._pool._network_backend = _DeadlineBackend(deadline)
    return httpx.Client(transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False)


# --- bulkhead and circuit breaker, per service (per host when no service is named) ---------


# The wait for a slot of a service that fails or was never heard from.
_QUICK_QUEUE_SECONDS = 0.25


class _Guard:
    def __init__(self):
        self.in_flight = 0
        self.waiting = 0  # requests waiting for one of the slots
        self.failures = 0  # in a row
        self.open_until = 0.0
        self.trial = False  # a half-open trial is under way
        self.last_error = ""
        self.answer_seconds = 0.0  # moving average of the time its answers took; 0: none yet

    def queue_seconds(self) -> float:
        """How long a request waits for a free slot. A service that answers (no failure
        since) frees a slot within about its usual answer time, so waiting twice that
        serves ordinary concurrency; one that fails or was never heard from gets only
        the short wait, so a hung service holds no more threads than its slots."""
        wait = _QUICK_QUEUE_SECONDS
        if self.answer_seconds and not self.failures:
            wait = max(wait, 2 * self.answer_seconds)
        return min(settings.ENSEMBLE_OUTBOUND_QUEUE_SECONDS, wait)


_guards: dict[str, _Guard] = {}
_guards_lock = threading.Lock()
_slot_freed = threading.Condition(_guards_lock)


def _guard(key: str) -> _Guard:
    with _guards_lock:
        return _guards.setdefault(key, _Guard())


def _enter(key: str) -> float:
    """Take a slot for `key`, or refuse at once: breaker open, or too many in flight."""
    now = time.monotonic()
    with _guards_lock:
        guard = _guards.setdefault(key, _Guard())
        if guard.open_until > now or (guard.open_until and guard.trial):
            raise OutboundError(
                "CIRCUIT_OPEN",
                f"{key} failed {guard.failures} times in a row and is skipped for "
                f"{max(1, int(guard.open_until - now))} more seconds (last error: {guard.last_error}).",
            )
        limit = settings.ENSEMBLE_OUTBOUND_MAX_CONCURRENT
        if guard.in_flight >= limit and guard.waiting < limit:
            # A healthy service frees its slots within milliseconds: wait briefly for one
            # (at most as many waiters as slots), so ordinary concurrency is served while
            # a slow service still holds no more than its share of the threads.
            guard.waiting += 1
            try:
                _slot_freed.wait_for(lambda: guard.in_flight < limit, timeout=guard.queue_seconds())
            finally:
                guard.waiting -= 1
        if guard.in_flight >= limit:
            raise OutboundError(
                "BUSY", f"{key} already has {guard.in_flight} requests in flight; this one was not sent."
            )
        if guard.open_until:  # the cool-down is over: this request is the trial
            guard.trial = True
        guard.in_flight += 1
    return time.monotonic()


def _leave(key: str, error: "OutboundError | None", sent_at: float) -> None:
    with _guards_lock:
        guard = _guards[key]
        guard.in_flight -= 1
        _slot_freed.notify_all()
        failed = error is not None and error.code in _BREAKER_CODES
        if failed:
            guard.failures += 1
            guard.last_error = error.message[:300]
            if guard.trial or guard.failures >= settings.ENSEMBLE_OUTBOUND_BREAKER_FAILURES:
                guard.open_until = time.monotonic() + settings.ENSEMBLE_OUTBOUND_BREAKER_SECONDS
        else:  # answered (even refused or too large): how long its answers take
            took = time.monotonic() - sent_at
            guard.answer_seconds = took if not guard.answer_seconds else 0.7 * guard.answer_seconds + 0.3 * took
            if error is None or guard.trial:
                guard.failures, guard.open_until, guard.last_error = 0, 0.0, ""
        guard.trial = False


# Failures that say the service is unwell (not that we refused the request).
_BREAKER_CODES = {"TIMEOUT", "CONNECTION_FAILED"}


def breaker_status(key: str) -> str:
    """The circuit breaker of `key` in this process, in words (for the admin)."""
    guard = _guards.get(key)
    if guard is None or (not guard.failures and not guard.in_flight):
        return "closed"
    left = guard.open_until - time.monotonic()
    if guard.open_until and left > 0:
        return f"open for {int(left) + 1} s after {guard.failures} failures ({guard.last_error})"
    if guard.open_until:
        return f"half-open: the next request is a trial ({guard.failures} failures)"
    return f"closed ({guard.failures} recent failures, {guard.in_flight} in flight)"


def encode_body(content_type: str, body) -> dict:
    """The keyword arguments of guarded_request that send `body` as `content_type`:
    JSON, or a form (URL-encoded, or multipart with each field a plain part)."""
    if body is None:
        return {}
    if isinstance(body, dict) and ("x-www-form-urlencoded" in content_type or "multipart/form-data" in content_type):
        fields = {name: value if isinstance(value, str) else _json.dumps(value) for name, value in body.items()}
        if "multipart" in content_type:
            request = httpx.Request("POST", "http://form.invalid/", files={name: (None, value) for name, value in fields.items()})
        else:
            request = httpx.Request("POST", "http://form.invalid/", data=fields)
        return {"content": request.read(), "headers": {"Content-Type": request.headers["Content-Type"]}}
    return {"json": body}


def guarded_request(method: str, url: str, *, key: str | None = None, **kwargs) -> FetchResult:
    """Send a request with the address guard, a size cap and one deadline for the whole
    exchange, through the bulkhead and circuit breaker of `key` (a service id; the
    URL's host when none is given)."""
    key = key or (urlsplit(url).hostname or url)
    sent_at = _enter(key)
    error = None
    try:
        return _guarded_request(method, url, **kwargs)
    except OutboundError as failure:
        error = failure
        raise
    finally:
        _leave(key, error, sent_at)


def _guarded_request(
    method: str,
    url: str,
    *,
    max_bytes: int,
    timeout: float | None = None,
    headers: dict | None = None,
    params=None,
    json=None,
    content: bytes | None = None,
    max_redirects: int = 3,
    credentials_origin: str | None = None,
) -> FetchResult:
    """Send a request with the address guard, a size cap and an overall deadline.
    With `credentials_origin` (the request carries credentials meant for that origin),
    a redirect to any other origin is refused rather than followed with them."""
    timeout = timeout or settings.ENSEMBLE_HTTP_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    current = url
    with _client(deadline, timeout) as client:
        for _hop in range(max_redirects + 1):
            pinned, pin_headers, extensions = _pinned(current, deadline)
            try:
                request = client.build_request(
                    method, pinned, headers={"Accept-Encoding": "identity", **(headers or {}), **pin_headers},
                    params=params, json=json, content=content, extensions=extensions,
                )
            except (ValueError, TypeError, httpx.HTTPError) as error:  # e.g. a header value HTTP cannot carry
                raise OutboundError("INVALID_REQUEST", f"Cannot build the request to {current}: {error}") from None
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                raise OutboundError("TIMEOUT", f"{current} did not answer within {timeout:g}s.") from None
            except httpx.HTTPError as error:
                raise OutboundError("CONNECTION_FAILED", f"Cannot reach {current}: {error}") from None
            try:
                if response.is_redirect and "location" in response.headers:
                    target = urljoin(current, response.headers["location"])
                    if credentials_origin and origin_of(target) != credentials_origin:
                        raise OutboundError(
                            "CREDENTIALS_REDIRECT",
                            f"{current} redirected to another origin ({origin_of(target)}); the service's credentials "
                            f"go only to {credentials_origin}, so the redirect was not followed.",
                        )
                    current = target
                    method, json, params, content = ("GET", None, None, None) if response.status_code in (301, 302, 303) else (method, json, params, content)
                    continue
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise OutboundError("TOO_LARGE", f"{current} sends {declared} bytes; the limit is {max_bytes}.")
                chunks, size = [], 0
                try:
                    for chunk in response.iter_raw():
                        size += len(chunk)
                        if size > max_bytes:
                            raise OutboundError("TOO_LARGE", f"{current} sent more than {max_bytes} bytes.")
                        chunks.append(chunk)
                except httpx.TimeoutException:
                    raise OutboundError("TIMEOUT", f"{current} did not finish sending within {timeout:g}s.") from None
                except httpx.HTTPError as error:
                    raise OutboundError("CONNECTION_FAILED", f"Reading from {current} failed: {error}") from None
                body = b"".join(chunks)
                encoding = response.headers.get("content-encoding", "").lower()
                if encoding in ("gzip", "deflate", "br"):
                    raise OutboundError("UNSUPPORTED_ENCODING", f"{current} answered with content-encoding {encoding}.")
                return FetchResult(url=current, status=response.status_code, headers=response.headers, body=body)
            finally:
                response.close()
    raise OutboundError("TOO_MANY_REDIRECTS", f"{url} redirected more than {max_redirects} times.")
