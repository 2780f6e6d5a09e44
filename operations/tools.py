"""Service operations as assistant tools.

A tool's name is `<service id>__<operationId>`, reduced to the characters tool APIs
accept (letters, digits, `_`, `-`) and at most 64 long; a hash suffix keeps shortened
names unique and stable. Its parameters are one JSON schema: the operation's path,
query and header parameters by name, plus `body` for a request body, keeping the
original enums, formats, bounds and required fields.
"""

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property

from prompts.models import SpecSnapshot
from prompts.parsing import Operation
from prompts.policies import policies_key
from prompts.rendering import offered_operations
from prompts.search_index import object_id
from registry.models import Service

MAX_NAME = 64
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Tool:
    name: str
    service: Service
    snapshot: SpecSnapshot
    operation: Operation
    parameters: dict  # JSON schema of the arguments

    @cached_property
    def object_id(self) -> str:
        """The operation's id in the operations index."""
        return object_id(self.service.id, self.operation["operation_id"])

    @property
    def description(self) -> str:
        op = self.operation
        return f"{self.service.name}: {op['method']} {op['path']}. {op.get('summary', '')}".strip()[:1000]


def tool_name(service_id: str, operation_id: str) -> str:
    raw = f"{service_id}__{operation_id}"
    name = _UNSAFE.sub("_", raw)
    if name == raw and len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 9]}_{digest}"


def arguments_schema(operation: dict) -> dict:
    properties, required = {}, []
    for param in operation.get("parameters", []):
        if param["in"] not in ("path", "query", "header"):
            continue
        schema = dict(param.get("schema") or {})
        if param.get("description") and "description" not in schema:
            schema["description"] = param["description"]
        properties[param["name"]] = schema or {"type": "string"}
        if param["required"]:
            required.append(param["name"])
    body = operation.get("body")
    if body:
        properties["body"] = body.get("schema") or {"type": "object"}
        # A body whose schema has required fields is needed, whatever the spec says of
        # the body itself: a real service refuses the call without them.
        if body.get("required") or properties["body"].get("required"):
            required.append("body")
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


# A service's tools, per version of the service and of its spec: with a thousand
# services, decoding every spec and building every schema on each request would cost
# hundreds of milliseconds. Bounded; an entry is dropped when its key changes.
_TOOLS_CACHE: OrderedDict = OrderedDict()
_TOOLS_CACHE_SIZE = 4096


def _service_tools(service, snapshot) -> list[Tool]:
    # The policies are part of the key: a disabled operation leaves the tools on the next request.
    key = (service.id, getattr(service, "revision", None), service.name, getattr(service, "read_only", False),
           snapshot.content_hash, snapshot.base_url, snapshot.fetched_at, policies_key(service))
    if not snapshot.content_hash:  # an unsaved or hand-made snapshot: nothing to key on
        key = None
    cached = _TOOLS_CACHE.get(service.id) if key else None
    if cached is not None and cached[0] == key:
        _TOOLS_CACHE.move_to_end(service.id)
        return cached[1]
    tools = [
        Tool(tool_name(service.id, operation["operation_id"]), service, snapshot, operation, arguments_schema(operation))
        for operation in offered_operations(service, snapshot)
    ]
    if key:
        _TOOLS_CACHE[service.id] = (key, tools)
        while len(_TOOLS_CACHE) > _TOOLS_CACHE_SIZE:
            _TOOLS_CACHE.popitem(last=False)
    return tools


class ToolList(list):
    """Tools in catalogue order, with each one's position by operations-index id (kept
    with the list: an interaction's scope is reused while the registry is unchanged)."""

    @cached_property
    def position(self) -> dict[str, int]:
        return {tool.object_id: index for index, tool in enumerate(self)}

    @cached_property
    def unscored(self) -> list[tuple[int, "Tool"]]:
        """(0, tool) for every tool, in order: a ranking's tail of tools no search found."""
        return [(0, tool) for tool in self]


def build_tools(pairs: list[tuple]) -> ToolList:
    """Tools for (Service, SpecSnapshot) pairs; read-only services offer only GET operations."""
    tools, seen = ToolList(), set()
    for service, snapshot in pairs:
        for tool in _service_tools(service, snapshot):
            if tool.name in seen:
                continue
            seen.add(tool.name)
            tools.append(tool)
    return tools
