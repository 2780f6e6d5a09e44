"""`/mcp`: the Streamable HTTP endpoint. A DRF view, so MCP requests pass the same
authentication (X-API-KEY, or `Authorization: Bearer <key>`), failed-key counting and
throttling as every REST operation before the SDK sees them; a refused request is the
contract's ErrorResponse (401, 429) and no tool is listed. A request from a web page
whose Origin is not allowed is refused first (403, mcp_gateway.origins).

The MCP SDK (about half a second of imports) is loaded on the first POST, or when a web
worker starts (`warm_up`, called by gunicorn's post_worker_init), never merely because
the URLconf was imported: every management command that runs the system checks does
that."""

from asgiref.sync import async_to_sync
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.views import APIView

from apikeys.authentication import ApiKeyAuthentication, BearerApiKeyAuthentication

from .origins import check_origin


def warm_up() -> None:
    """Import the MCP server and its SDK now, so the first /mcp request does not pay for it."""
    from . import server  # noqa: F401


def _asgi_scope(request) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
        "scheme": request.scheme, "path": request.path, "raw_path": request.path.encode(), "root_path": "",
        "query_string": request.META.get("QUERY_STRING", "").encode("latin-1"),
        # Host as Django accepted it (ALLOWED_HOSTS): what the SDK's DNS-rebinding check compares.
        "headers": [(b"host", request.get_host().encode("latin-1"))] + [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in request.headers.items()
            if name.lower() != "host"],
        "server": (request.get_host().rsplit(":", 1)[0], int(request.get_port())),
        "client": (request.META.get("REMOTE_ADDR", ""), 0),
    }


def _django_response(messages: list[dict]) -> HttpResponse:
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    response = HttpResponse(body, status=start["status"])
    for name, value in start.get("headers", []):
        name = name.decode("latin-1")
        if name.lower() not in ("content-length", "transfer-encoding", "connection"):
            response[name] = value.decode("latin-1")
    return response


@extend_schema(exclude=True)  # MCP is its own protocol, not an operation of the REST contract
class McpView(APIView):
    authentication_classes = [ApiKeyAuthentication, BearerApiKeyAuthentication]

    def initial(self, request, *args, **kwargs):
        check_origin(request)  # before the key is even looked at
        super().initial(request, *args, **kwargs)

    def post(self, request):
        from .server import handle  # loaded on first use (see the module's docstring)

        return _django_response(async_to_sync(handle)(_asgi_scope(request), request.body))

    def get(self, request):
        # No server-to-client stream: each answer comes in its POST's response.
        response = HttpResponse(status=405)
        response["Allow"] = "POST"
        return response

    def delete(self, request):
        # Stateless: there is no session to end.
        response = HttpResponse(status=405)
        response["Allow"] = "POST"
        return response
