"""Which web pages may call /mcp: the Origin check the MCP specification asks servers
to make against DNS rebinding (a page on another site, its name made to resolve to this
server, would otherwise talk to it from the user's browser).

A request without an Origin header (the SDKs, hosted assistants, curl) is served; one
with an Origin is served only when it is listed in ENSEMBLE_MCP_ALLOWED_ORIGINS (none by
default). `scheme://host:*` allows any port, as in the MCP SDK's own check, which
mcp_gateway.server turns on with the same list. No SDK import here: the view checks
before the SDK is loaded."""

from django.conf import settings

from core.errors import ApplicationError


def origin_allowed(origin: str, allowed: list[str]) -> bool:
    if origin in allowed:
        return True
    return any(entry.endswith(":*") and origin.startswith(entry[:-1]) for entry in allowed)


def check_origin(request) -> None:
    """403 ErrorResponse for a request from a web page whose origin is not allowed."""
    origin = request.headers.get("Origin")
    if origin is None:
        return
    if not origin_allowed(origin, settings.ENSEMBLE_MCP_ALLOWED_ORIGINS):
        raise ApplicationError(
            "FORBIDDEN", f"Requests from the web origin {origin[:200]!r} may not use /mcp.",
            details="Allowed web origins are set by ENSEMBLE_MCP_ALLOWED_ORIGINS (none by default); "
                    "clients that send no Origin header are served.",
            status=403,
        )
