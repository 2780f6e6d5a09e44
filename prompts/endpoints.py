"""Where a service's operations are sent: the one rule.

The effective base URL is the service's base-URL override when an admin set one
(registry: `Service.base_url_override`, to point a service at a local or another
environment's instance without editing its spec), else the operation's own `servers`
(OpenAPI 3 allows them per operation or path), else the spec's. Everything that sends
to a service, names its address or binds a secret to an origin reads it here.
"""

from outbound.http import origin_of


def effective_base_url(service, snapshot, operation: dict | None = None) -> str:
    """The base URL a call to `operation` of `service` goes to (the service's own, when
    no operation is given). "" when neither an override nor a spec says."""
    override = getattr(service, "base_url_override", "") or ""
    if override:
        return override
    if operation is not None and operation.get("base_url"):
        return operation["base_url"]
    return getattr(snapshot, "base_url", "") or "" if snapshot is not None else ""


def effective_origin(service, snapshot, operation: dict | None = None) -> str:
    """scheme://host:port of the effective base URL; "" when there is none."""
    url = effective_base_url(service, snapshot, operation)
    return origin_of(url) if url.lower().startswith(("http://", "https://")) else ""
