"""Outbound HTTP that goes only where an admin meant it to.

Every request (and every redirect hop) resolves the host, refuses loopback, private,
link-local, shared, multicast, reserved and cloud-metadata addresses unless the
operator allowed their network (ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS), and then connects
to the very address it checked (the URL is rewritten to the IP; Host and TLS SNI keep
the name), so a DNS answer that changes between check and use cannot slip through.
The network lists are explicit because `ipaddress.is_private` on some Python 3.11
patch releases misclassifies ranges.
"""

import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

import certifi
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


def resolve_checked(host: str, port: int) -> str:
    """Resolve `host` and return an address that passes check_address; every answer must pass."""
    check_host(host)
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
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


def _pinned(url: str) -> tuple[str, dict, dict]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundError("INVALID_URL", f"{url!r} is not an http(s) URL.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_checked(parts.hostname, port)
    host_for_url = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((parts.scheme, f"{host_for_url}:{port}", parts.path or "/", parts.query, ""))
    default_port = (parts.scheme == "https" and port == 443) or (parts.scheme == "http" and port == 80)
    headers = {"Host": parts.hostname if default_port else f"{parts.hostname}:{port}"}
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return pinned, headers, extensions


def guarded_request(
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
    with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False, verify=_ssl_context()) as client:
        for _hop in range(max_redirects + 1):
            pinned, pin_headers, extensions = _pinned(current)
            request = client.build_request(
                method, pinned, headers={"Accept-Encoding": "identity", **(headers or {}), **pin_headers}, params=params, json=json, content=content, extensions=extensions
            )
            try:
                response = client.send(request, stream=True)
            except httpx.TimeoutException:
                raise OutboundError("TIMEOUT", f"{current} did not answer within {timeout:.0f}s.") from None
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
                        if time.monotonic() > deadline:
                            raise OutboundError("TIMEOUT", f"{current} did not finish sending within {timeout:.0f}s.")
                        chunks.append(chunk)
                except httpx.TimeoutException:
                    raise OutboundError("TIMEOUT", f"{current} stopped sending for {timeout:.0f}s.") from None
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
