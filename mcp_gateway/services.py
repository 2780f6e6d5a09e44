"""Answering one MCP tool call. Operation calls go through the caller /interact uses
(operations: argument validation, the outbound guard, size caps, credentials)
and each one, refused or not, is written to the interaction log with the request id."""

import json
import time
from dataclasses import dataclass

from django.conf import settings

from core.errors import ApplicationError
from interactions.approvals import HeldCall
from interactions.selectors import logs_page, logs_search
from interactions.services import interaction_log_rejected, interaction_record, operation_execute, storable_text
from operations.arguments import ArgumentError, check_against_schema, redact, secret_values, validate_arguments
from outbound.redaction import redact as redact_values
from prompts.selectors import system_prompt_for
from registry.selectors import service_list
from search.backend import SearchError

from .selectors import OWN_TOOLS, find_operation_tool, operations_matching

BACKEND = "mcp"  # InteractionLog.backend of tool calls made over MCP


@dataclass(frozen=True)
class ToolAnswer:
    """A tool result: text content (JSON as JSON), optionally structured, or an error."""

    text: str
    structured: dict | None = None
    is_error: bool = False


def _json_answer(value, *, is_error: bool = False) -> ToolAnswer:
    structured = value if isinstance(value, dict) else {"result": value}
    return ToolAnswer(json.dumps(value, ensure_ascii=False), structured, is_error)


def _error(message: str) -> ToolAnswer:
    return ToolAnswer(message, None, True)


def describe_call(name: str, arguments, schema: dict | None = None) -> str:
    """The log's user_input for a tool call: its name and its arguments, secret ones
    (by name, and by the tool's `schema`: format password, writeOnly) redacted."""
    text = f"tools/call {name} {json.dumps(redact(arguments, schema), ensure_ascii=False, default=str)}"
    return storable_text(text[: settings.ENSEMBLE_USER_INPUT_MAX_CHARS])


def operation_call(*, name: str, arguments) -> ToolAnswer:
    """Call the operation whose tool is `name`. Unknown names and bad arguments are
    refused before anything is sent; the service's own failures are its answer."""
    started = time.monotonic()
    arguments = {} if arguments is None else arguments
    tool = find_operation_tool(name)
    user_input = describe_call(name, arguments, tool.parameters if tool is not None else None)
    if tool is None:
        error = (f"Unknown tool {name!r}: no operation offered now has this name (read-only services offer only "
                 "their GET operations). search_operations finds the available ones.")
        interaction_log_rejected(raw_input=user_input, error=error, backend=BACKEND, started=started)
        return _error(error)
    try:
        validate_arguments(tool, arguments)
    except ArgumentError as problem:
        shown = redact_values(str(problem), secret_values(arguments, tool.parameters))  # a password never in a message
        error = f"Invalid arguments for {name}: {shown}. Nothing was sent to the service."
        interaction_log_rejected(raw_input=user_input, error=error, backend=BACKEND, started=started)
        return _error(error)
    call = operation_execute(tool, arguments)  # held when the operation needs an admin's approval
    interaction_record(user_input=user_input, calls=[call], backend=BACKEND, started=started, error=call.error)
    if isinstance(call, HeldCall):
        return _json_answer({"sent": False, "waiting_for_approval": True, "reference": call.reference,
                             "message": call.error})
    if call.status is None:
        return _error(f"{name} failed: {call.error}")
    try:
        body = json.loads(call.text)
    except ValueError:
        body = call.text
    return _json_answer({"status": call.status, "body": body}, is_error=not call.ok)


def _list_services(tags=None):
    return [
        {"id": s.id, "name": s.name, "description": s.description, "openapi_url": s.openapi_url, "tags": s.tag_list,
         "read_only": s.read_only}
        for s in service_list(tags=tags)
    ]


def _search_logs(text=None, service_id=None, limit=10, offset=0):
    """The same search as GET /logs?q=&service_id= (the Typesense mirror ranks, the
    database answers); without either, the newest logs."""
    if text or service_id:
        try:
            logs = logs_search(q=text or "", service_id=service_id or "", limit=limit, offset=offset).logs
        except SearchError as error:
            raise ApplicationError("TYPESENSE_SYNC_FAILED", "Searching the logs needs Typesense, which does not answer; "
                                   "search_logs without text and service_id still works.",
                                   details=str(error)[:500], status=502) from None
    else:
        logs = logs_page(limit=limit, offset=offset)
    return [{"timestamp": log.created_at.isoformat(), "user_input": log.user_input,
             "assistant_response": log.assistant_response, "service_responses": log.service_responses} for log in logs]


def _search_operations(query, limit=10):
    return [{"name": t.name, "description": t.description, "inputSchema": t.parameters}
            for t in operations_matching(query, limit)]


def tool_call(*, name: str, arguments) -> ToolAnswer:
    """Answer tools/call: an own tool, or an operation's tool."""
    own = {tool_name: schema for tool_name, _, schema in OWN_TOOLS}
    if name not in own:
        return operation_call(name=name, arguments=arguments)
    try:
        args = check_against_schema(own[name], {} if arguments is None else arguments)
    except ArgumentError as problem:
        return _error(f"Invalid arguments for {name}: {problem}")
    if name == "call_operation":
        return operation_call(name=args["name"], arguments=args.get("arguments"))
    try:
        if name == "list_services":
            return _json_answer({"services": _list_services(**args)})
        if name == "system_prompt":
            return ToolAnswer(system_prompt_for(args["service_ids"]))
        if name == "search_logs":
            return _json_answer({"logs": _search_logs(**args)})
        return _json_answer({"operations": _search_operations(**args)})
    except ApplicationError as error:
        return _error(f"{error.message} {error.details}".strip())
