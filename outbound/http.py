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
- an adaptive concurrency limit per service in this process (AIMD, as Netflix's
  concurrency-limits and TCP): it starts at ENSEMBLE_OUTBOUND_CONCURRENCY_FLOOR, grows by
  one for each answer in the service's usual time while the limit is reached, shrinks
  when answers slow to twice the usual and halves on a timeout or connection failure,
  never past ENSEMBLE_OUTBOUND_CONCURRENCY_CEILING. A request over the limit waits for a
  slot until its deadline, unless the service frees none for a while (a second or four
  times its usual answer time; a quarter second when it fails or is unknown): then it
  fails ("busy") instead of taking more web threads. While a request in flight has gone
  unanswered that long, only the floor's requests may be in flight, so a hung service
  keeps at most its floor of threads;
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

from core.observability import timing_add

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
    """A request we refused to send or that failed; `code` is for ErrorResponse.
    `reached` is whether the service may have received it (a timeout waiting for the
    answer, an answer too large) or surely did not (refused here, DNS, no connection)."""

    def __init__(self, code: str, message: str, *, reached: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reached = reached


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


# --- adaptive concurrency limit and circuit breaker, per service (per host when no service is named) ---


# A waiter gives up when its service frees no slot for a while: a service that answers
# gets about four times its usual answer time, at least a second (a healthy service on a
# busy host can take a few hundred milliseconds now and then), one that fails or was
# never heard from only a quarter second; never more than ENSEMBLE_OUTBOUND_QUEUE_SECONDS.
# Past the same time without an answer, only the floor's requests may be in flight.
_QUICK_QUEUE_SECONDS, _PATIENT_QUEUE_SECONDS, _USUAL_TIMES = 0.25, 1.0, 4
# How the limit moves (AIMD, as Netflix's concurrency-limits `AIMDLimit` and TCP do): +1
# for an answer in the usual time while the limit was reached; times the first factor for
# an answer much slower than usual, times the second for a timeout or connection failure.
_SLOW_BACKOFF, _FAILURE_BACKOFF = 0.9, 0.5
# "Much slower than usual": the recent average answer time over this many times the
# long-run average, and by more than the slack (scheduler noise on a busy host is not a
# service in trouble).
_SLOW_FACTOR, _SLOW_SLACK_SECONDS = 2.0, 0.010
# Weights of a new answer time in the two moving averages (recent, long-run).
_RECENT_WEIGHT, _LONG_RUN_WEIGHT = 0.3, 0.05
# Refusals we make before anything reaches the service: they say nothing of its speed.
_NOT_SENT_CODES = {"INVALID_URL", "FORBIDDEN_ADDRESS", "FORBIDDEN_HOST", "DNS_FAILURE", "INVALID_REQUEST"}
# Failures that say the service is unwell (not that we refused the request).
_BREAKER_CODES = {"TIMEOUT", "CONNECTION_FAILED"}


def _floor() -> int:
    return settings.ENSEMBLE_OUTBOUND_CONCURRENCY_FLOOR


def _ceiling() -> int:
    return max(settings.ENSEMBLE_OUTBOUND_CONCURRENCY_CEILING, _floor())


class _Guard:
    """One service's limit, requests in flight and breaker, in this process."""

    def __init__(self):
        self.limit = float(_floor())  # grows while the service keeps up
        self.sent: dict[int, float] = {}  # requests in flight: ticket -> when it was let through
        self.tickets = 0
        self.waiting = 0  # requests waiting for a slot
        self.freed_at = 0.0  # when a slot was last freed: waiters see the service progress
        self.slot_freed = threading.Condition(_guards_lock)
        self.failures = 0  # in a row
        self.open_until = 0.0
        self.trial = False  # a half-open trial is under way
        self.last_error = ""
        self.recent_seconds = 0.0  # moving averages of its answer times; 0: none yet
        self.usual_seconds = 0.0

    @property
    def in_flight(self) -> int:
        return len(self.sent)

    def stall_seconds(self) -> float:
        """How long without a freed slot means the service is stuck."""
        wait = _QUICK_QUEUE_SECONDS
        if self.usual_seconds and not self.failures:
            wait = max(_PATIENT_QUEUE_SECONDS, _USUAL_TIMES * self.usual_seconds)
        return min(settings.ENSEMBLE_OUTBOUND_QUEUE_SECONDS, wait)

    def allowed(self, now: float) -> int:
        """Requests that may be in flight now: the limit, or only the floor while one in
        flight has gone unanswered past the stall time, so a service that hangs suddenly
        does not go on taking threads at the limit it earned while healthy."""
        if self.sent and now - min(self.sent.values()) > self.stall_seconds():
            return _floor()
        return max(_floor(), min(_ceiling(), int(self.limit)))

    def answered(self, took: float, in_flight: int) -> None:
        if not self.usual_seconds:
            self.recent_seconds = self.usual_seconds = took
        else:
            self.recent_seconds += _RECENT_WEIGHT * (took - self.recent_seconds)
            self.usual_seconds += _LONG_RUN_WEIGHT * (took - self.usual_seconds)
        if self.recent_seconds > max(_SLOW_FACTOR * self.usual_seconds, self.usual_seconds + _SLOW_SLACK_SECONDS):
            self._set_limit(self.limit * _SLOW_BACKOFF)
        elif in_flight >= int(self.limit):  # the limit was reached (it held requests back): it may grow
            self._set_limit(self.limit + 1)

    def failed(self) -> None:
        self._set_limit(self.limit * _FAILURE_BACKOFF)

    def _set_limit(self, value: float) -> None:
        self.limit = min(float(_ceiling()), max(float(_floor()), value))


_guards: dict[str, _Guard] = {}
_guards_lock = threading.Lock()


def _enter(key: str, deadline: float) -> int:
    """Take a slot of `key` and return its ticket, or refuse: the breaker is open, or no
    slot came free in time. A waiter waits at most until the request's deadline, and
    gives up sooner when the service frees no slot for its stall time, so waiters of a
    hung service hold their threads only that long."""
    with _guards_lock:
        guard = _guards.get(key) or _guards.setdefault(key, _Guard())
        now = time.monotonic()
        if guard.open_until > now or (guard.open_until and guard.trial):
            raise OutboundError(
                "CIRCUIT_OPEN",
                f"{key} failed {guard.failures} times in a row and is skipped for "
                f"{max(1, int(guard.open_until - now))} more seconds (last error: {guard.last_error}).",
            )
        if guard.in_flight >= guard.allowed(now):
            waiting_since = now
            guard.waiting += 1
            try:
                while guard.in_flight >= guard.allowed(now):
                    until = min(deadline, max(waiting_since, guard.freed_at) + guard.stall_seconds())
                    if now >= until:
                        raise OutboundError(
                            "BUSY", f"{key} already has {guard.in_flight} requests in flight (its limit now: "
                            f"{guard.allowed(now)}); this one was not sent.",
                        )
                    guard.slot_freed.wait(until - now)
                    now = time.monotonic()
            finally:
                guard.waiting -= 1
                timing_add("bulkhead", time.monotonic() - waiting_since)
        if guard.open_until:  # the cool-down is over: this request is the trial
            guard.trial = True
        guard.tickets += 1
        guard.sent[guard.tickets] = time.monotonic()
        return guard.tickets


def _leave(key: str, ticket: int, error: "OutboundError | None") -> None:
    with _guards_lock:
        guard = _guards[key]
        in_flight = guard.in_flight
        sent_at = guard.sent.pop(ticket)
        now = guard.freed_at = time.monotonic()
        guard.slot_freed.notify()
        if error is not None and error.code in _BREAKER_CODES:
            guard.failures += 1
            guard.last_error = error.message[:300]
            guard.failed()
            if guard.trial or guard.failures >= settings.ENSEMBLE_OUTBOUND_BREAKER_FAILURES:
                guard.open_until = now + settings.ENSEMBLE_OUTBOUND_BREAKER_SECONDS
        elif error is None or error.code not in _NOT_SENT_CODES:
            # Answered (even refused or too large): how long its answers take.
            guard.answered(now - sent_at, in_flight)
            if error is None or guard.trial:
                guard.failures, guard.open_until, guard.last_error = 0, 0.0, ""
        guard.trial = False
        if guard.allowed(now) > guard.in_flight + 1:  # the limit grew: another waiter may go too
            guard.slot_freed.notify()


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


@dataclass(frozen=True)
class ConcurrencyStatus:
    """A service's adaptive concurrency limit in this process (each worker has its own)."""

    limit: int  # requests it may have in flight now
    floor: int
    ceiling: int
    in_flight: int
    waiting: int
    usual_ms: float | None  # the long-run average of its answer times; None: not heard from

    def __str__(self) -> str:
        heard = f"answers in ~{self.usual_ms:.0f} ms" if self.usual_ms is not None else "not called yet"
        return (f"limit {self.limit} (floor {self.floor}, ceiling {self.ceiling}); "
                f"{self.in_flight} in flight, {self.waiting} waiting; {heard}")


def concurrency_status(key: str) -> ConcurrencyStatus:
    """The adaptive concurrency limit of `key` (a service id) in this worker process."""
    with _guards_lock:
        guard = _guards.get(key)
        if guard is None:
            return ConcurrencyStatus(_floor(), _floor(), _ceiling(), 0, 0, None)
        return ConcurrencyStatus(guard.allowed(time.monotonic()), _floor(), _ceiling(), guard.in_flight,
                                 guard.waiting, round(guard.usual_seconds * 1000, 1) if guard.usual_seconds else None)


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


def guarded_request(method: str, url: str, *, key: str | None = None, timeout: float | None = None,
                    **kwargs) -> FetchResult:
    """Send a request with the address guard, a size cap and one deadline for the whole
    exchange (waiting for a slot included), through the adaptive concurrency limit and
    circuit breaker of `key` (a service id; the URL's host when none is given)."""
    key = key or (urlsplit(url).hostname or url)
    timeout = timeout or settings.ENSEMBLE_HTTP_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    ticket = _enter(key, deadline)
    error = None
    sent = time.monotonic()
    try:
        return _guarded_request(method, url, timeout=timeout, deadline=deadline, **kwargs)
    except OutboundError as failure:
        error = failure
        raise
    finally:
        _leave(key, ticket, error)
        timing_add("outbound", time.monotonic() - sent)


def _guarded_request(
    method: str,
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    deadline: float,
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
            except httpx.ConnectTimeout:
                raise OutboundError("TIMEOUT", f"{current} did not accept a connection within {timeout:g}s.") from None
            except httpx.TimeoutException:
                raise OutboundError("TIMEOUT", f"{current} did not answer within {timeout:g}s.", reached=True) from None
            except (httpx.ConnectError, httpx.UnsupportedProtocol) as error:
                raise OutboundError("CONNECTION_FAILED", f"Cannot reach {current}: {error}") from None
            except httpx.HTTPError as error:
                raise OutboundError("CONNECTION_FAILED", f"Cannot reach {current}: {error}", reached=True) from None
            try:
                if response.is_redirect and "location" in response.headers:
                    target = urljoin(current, response.headers["location"])
                    if credentials_origin and origin_of(target) != credentials_origin:
                        raise OutboundError(
                            "CREDENTIALS_REDIRECT",
                            f"{current} redirected to another origin ({origin_of(target)}); the service's credentials "
                            f"go only to {credentials_origin}, so the redirect was not followed.", reached=True,
                        )
                    current = target
                    method, json, params, content = ("GET", None, None, None) if response.status_code in (301, 302, 303) else (method, json, params, content)
                    continue
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise OutboundError("TOO_LARGE", f"{current} sends {declared} bytes; the limit is {max_bytes}.", reached=True)
                chunks, size = [], 0
                try:
                    for chunk in response.iter_raw():
                        size += len(chunk)
                        if size > max_bytes:
                            raise OutboundError("TOO_LARGE", f"{current} sent more than {max_bytes} bytes.", reached=True)
                        chunks.append(chunk)
                except httpx.TimeoutException:
                    raise OutboundError("TIMEOUT", f"{current} did not finish sending within {timeout:g}s.", reached=True) from None
                except httpx.HTTPError as error:
                    raise OutboundError("CONNECTION_FAILED", f"Reading from {current} failed: {error}", reached=True) from None
                body = b"".join(chunks)
                encoding = response.headers.get("content-encoding", "").lower()
                if encoding in ("gzip", "deflate", "br"):
                    raise OutboundError("UNSUPPORTED_ENCODING", f"{current} answered with content-encoding {encoding}.", reached=True)
                return FetchResult(url=current, status=response.status_code, headers=response.headers, body=body)
            finally:
                response.close()
    raise OutboundError("TOO_MANY_REDIRECTS", f"{url} redirected more than {max_redirects} times.", reached=True)
