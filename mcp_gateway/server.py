"""The MCP server: the official SDK's low-level `Server` with two handlers, served by
the SDK's Streamable HTTP session manager in stateless, JSON-response mode.

Stateless is what lets a plain WSGI process model serve MCP: every POST carries one
JSON-RPC message and gets its whole answer in the response, so no session lives in a
worker's memory, any gunicorn worker (or app instance) can take the next request, and
no thread is held by a long-lived stream. The SDK does all the protocol work (JSON-RPC
framing, the initialize handshake of the 2025 revisions, the single-exchange requests
of 2026-07-28, `server/discover`, header checks, errors); this module only says what
the tools are and what calling one does.

The handlers run in the event loop that `async_to_sync` starts for the request (see
views.py); the Django work they do is handed back to the request's own thread
(`sync_to_async(thread_sensitive=True)`), so it uses that thread's database connection
and request id like any other view.
"""

import anyio
import mcp_types as types
from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.lowlevel.server import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError

from .selectors import CursorError, tools_page
from .services import ToolAnswer, tool_call

INSTRUCTIONS = (
    "The FountainAI ensemble: every registered FountainAI service operation is a tool named "
    "<service id>__<operationId>. With many services only the most used operations are listed: "
    "use search_operations to find others and call them by name or with call_operation. "
    "list_services shows the services, system_prompt describes them, search_logs shows past calls."
)


def _mcp_tool(listed) -> types.Tool:
    operation = listed.operation
    annotations = None
    if operation is not None:
        method = operation.operation["method"]
        annotations = types.ToolAnnotations(
            title=f"{operation.service.name}: {operation.operation['operation_id']}",
            read_only_hint=method in ("GET", "HEAD"), destructive_hint=method == "DELETE",
            idempotent_hint=method in ("GET", "HEAD", "PUT", "DELETE"), open_world_hint=True,
        )
    return types.Tool(name=listed.name, description=listed.description, input_schema=listed.input_schema,
                      annotations=annotations)


def _page(cursor):
    try:
        return tools_page(cursor)
    except CursorError as error:
        raise MCPError(types.INVALID_PARAMS, str(error)) from None


async def list_tools(ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    page, next_cursor = await sync_to_async(_page, thread_sensitive=True)(params.cursor if params else None)
    # Never cached by the client: a registry change shows in the next tools/list.
    return types.ListToolsResult(tools=[_mcp_tool(t) for t in page], next_cursor=next_cursor, ttl_ms=0,
                                 cache_scope="private")


async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
    answer: ToolAnswer = await sync_to_async(tool_call, thread_sensitive=True)(name=params.name, arguments=params.arguments)
    return types.CallToolResult(content=[types.TextContent(type="text", text=answer.text)],
                                structured_content=answer.structured, is_error=answer.is_error)


def no_header_schema(name: str) -> None:
    # Our tools declare no `Mcp-Param-*` headers, so there is nothing to check them
    # against; without this the SDK would walk every tools/list page on each 2026-07-28
    # tools/call to look. Arguments are validated by the caller (operations.arguments).
    return None


SERVER = Server(
    "fountainai-ensemble", version="1.1.0", title="FountainAI Ensemble", instructions=INSTRUCTIONS,
    on_list_tools=list_tools, on_call_tool=call_tool, get_tool_input_schema=no_header_schema,
)


def transport_security(scope: dict) -> TransportSecuritySettings:
    """The SDK's DNS-rebinding protection, on: the Origin must be one of
    ENSEMBLE_MCP_ALLOWED_ORIGINS (or absent), as the view already checked (a second
    guard, the SDK's own); the Host is the one Django accepted under ALLOWED_HOSTS
    (whose patterns, such as `.example.com`, the SDK's list cannot express)."""
    host = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"host"), "")
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=[host] if host else [],
                                     allowed_origins=list(settings.ENSEMBLE_MCP_ALLOWED_ORIGINS))


async def handle(scope: dict, body: bytes) -> list[dict]:
    """Serve one HTTP request (an ASGI scope and its whole body) with the SDK; returns
    the ASGI messages of the response."""
    manager = StreamableHTTPSessionManager(
        app=SERVER, stateless=True, json_response=True, max_request_body_size=settings.ENSEMBLE_MAX_BODY_BYTES,
        security_settings=transport_security(scope),
    )
    sent: list[dict] = []
    body_given = False

    async def receive() -> dict:
        nonlocal body_given
        if not body_given:
            body_given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.sleep_forever()  # the client stays connected until the answer is sent

    async def send(message: dict) -> None:
        sent.append(message)

    async with manager.run():
        await manager.handle_request(scope, receive, send)
    return sent
