"""What an MCP client sees: the ensemble's own tools and one tool per offered
operation, in the order worth listing first.

The operation tools are the very tools /interact gives its assistant
(operations.tools.build_tools over the same services in scope): the same names, the
same argument schemas, read-only services offering only GET operations.
"""

import base64
import binascii
from collections import Counter
from dataclasses import dataclass

from django.conf import settings

from assistants.ranking import rank_for_request
from interactions.selectors import recent_operation_calls
from operations.scope import assistant_scope
from operations.tools import Tool

# The ensemble's own tools: (name, description, input schema). Read-only, except
# call_operation, which is as safe as calling the operation's own tool.
OWN_TOOLS = [
    ("list_services", "The registered FountainAI services with their tags. `tags` narrows to services carrying all of them.",
     {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}, "maxItems": 20}},
      "additionalProperties": False}),
    ("system_prompt", "The system prompt the ensemble builds from the given services' OpenAPI documents.",
     {"type": "object", "properties": {"service_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 100}},
      "required": ["service_ids"], "additionalProperties": False}),
    ("search_logs", "Past interactions and tool calls, newest first; with `text`, a full-text search of their input, "
                    "answer and service responses (typos forgiven), best match first; `service_id` keeps those that "
                    "called that service.",
     {"type": "object", "properties": {"text": {"type": "string", "maxLength": 200},
                                       "service_id": {"type": "string", "maxLength": 200},
                                       "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                                       "offset": {"type": "integer", "minimum": 0, "maximum": 10000, "default": 0}},
      "additionalProperties": False}),
    ("search_operations", "Find service operations by what they do (all of them, also those not in the tool list). "
     "Returns each one's tool name, description and input schema; call it by name or with call_operation.",
     {"type": "object", "properties": {"query": {"type": "string", "minLength": 1, "maxLength": 500},
                                       "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}},
      "required": ["query"], "additionalProperties": False}),
    ("call_operation", "Call any service operation by its tool name (from search_operations) with its arguments.",
     {"type": "object", "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200},
                                       "arguments": {"type": "object"}},
      "required": ["name"], "additionalProperties": False}),
]
RECENT_CALLS = 5000  # how far back "most used" looks


@dataclass(frozen=True)
class ListedTool:
    """One entry of tools/list: an own tool (operation None) or an operation's tool."""

    name: str
    description: str
    input_schema: dict
    operation: Tool | None = None


def operation_tools() -> list[Tool]:
    return assistant_scope().tools


def find_operation_tool(name: str) -> Tool | None:
    """The operation tool called `name` among those offered now (a read-only service's
    write operations are not offered, so they are not found)."""
    return next((tool for tool in operation_tools() if tool.name == name), None)


def _most_used_first(tools: list[Tool]) -> list[Tool]:
    """`tools` with the most called among the latest RECENT_CALLS calls first (from any
    client: /interact's assistant or MCP), then catalogue order. The latest calls, not a
    period: a primary-key scan of bounded cost however large the log grows."""
    counts = Counter(recent_operation_calls(limit=RECENT_CALLS))
    order = {id(t): i for i, t in enumerate(tools)}
    return sorted(tools, key=lambda t: (-counts[(t.service.id, t.operation["operation_id"])], order[id(t)]))


def listed_tools() -> list[ListedTool]:
    """What tools/list offers: the own tools, then the operations. Past
    ENSEMBLE_MCP_MAX_LISTED_OPERATIONS operations, only that many are listed (the most
    used first); search_operations finds the others."""
    operations = operation_tools()
    limit = settings.ENSEMBLE_MCP_MAX_LISTED_OPERATIONS
    if len(operations) > limit:
        operations = _most_used_first(operations)[:limit]
    own = [ListedTool(name, description, schema) for name, description, schema in OWN_TOOLS]
    return own + [ListedTool(t.name, t.description, t.parameters, t) for t in operations]


class CursorError(ValueError):
    pass


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        offset = int(value)
    except (binascii.Error, UnicodeError, ValueError):
        raise CursorError("cursor: not a cursor this server gave out") from None
    if kind != "offset" or offset < 0:
        raise CursorError("cursor: not a cursor this server gave out")
    return offset


def tools_page(cursor: str | None) -> tuple[list[ListedTool], str | None]:
    """One page of tools/list and the cursor of the next (None at the end)."""
    offset = decode_cursor(cursor)
    tools = listed_tools()
    size = settings.ENSEMBLE_MCP_PAGE_SIZE
    page = tools[offset : offset + size]
    return page, (encode_cursor(offset + size) if offset + size < len(tools) else None)


def operations_matching(query: str, limit: int) -> list[Tool]:
    """Operations relevant to `query`, best first: the ranking /interact and the OpenAI
    backend use (assistants.ranking)."""
    return [tool for score, tool in rank_for_request(operation_tools(), query) if score > 0][:limit]
