"""The arguments an assistant (or an MCP client) gives an operation: checked against the
operation's own JSON schema and made safe before anything is sent, and what the log
keeps of them."""

import hashlib
import json
import re

import jsonschema
from django.conf import settings

from .tools import Tool

_SECRET_NAME = re.compile(r"pass|secret|token|api[-_]?key|authori[sz]ation|credential", re.I)


def redact(value):
    """`value` with every field whose name says it holds a secret shown as [redacted]."""
    if isinstance(value, dict):
        return {k: ("[redacted]" if _SECRET_NAME.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class ArgumentError(Exception):
    """Arguments an operation cannot take; the message names where and why."""


def validate_arguments(tool: Tool, arguments) -> dict:
    """`arguments` checked against the operation's own JSON schema (ArgumentError if not)."""
    if not isinstance(arguments, dict):
        raise ArgumentError("arguments must be a JSON object")
    return check_against_schema(tool.parameters, arguments)


def check_against_schema(schema: dict, arguments) -> dict:
    """`arguments` checked against `schema`; the error names the place ("limit: 500 is
    greater than the maximum of 50"). The schema came from a parsed spec or our own code,
    not from a client: it is not re-checked against the meta-schema on every call
    (jsonschema.validate would, at ~3 ms a call)."""
    validator = jsonschema.Draft202012Validator(schema)
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    except (jsonschema.exceptions.SchemaError, jsonschema.exceptions.UnknownType, TypeError) as problem:
        raise ArgumentError(f"the operation's schema is not usable: {problem}") from None
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(arguments)"
        raise ArgumentError(f"{where}: {error.message}")
    return arguments


# A header value HTTP can carry: visible ASCII, spaces and tabs (no CR/LF, no non-ASCII).
_HEADER_VALUE = re.compile(r"[\x20-\x7e\t]*")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_UNSTORABLE = re.compile("[\ud800-\udfff]")


def check_argument_safety(tool: Tool, arguments: dict) -> None:
    """Refuse arguments that would not reach the operation the assistant chose: header
    values HTTP cannot carry, path segments that are empty, `.` or `..` (clients and
    servers remove dot segments, so `id=.` would address the collection and `..` the
    resource above), and arguments over ENSEMBLE_SERVICE_ARGUMENTS_MAX_BYTES."""
    if not isinstance(arguments, dict):
        raise ArgumentError("arguments must be a JSON object")
    size = len(json.dumps(arguments, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    limit = settings.ENSEMBLE_SERVICE_ARGUMENTS_MAX_BYTES
    if size > limit:
        raise ArgumentError(f"the arguments take {size} bytes; the limit is {limit}")
    for param in tool.operation.get("parameters", []):
        if param["name"] not in arguments:
            continue
        value = str(arguments[param["name"]])
        if param["in"] == "path" and value.strip() in ("", ".", ".."):
            raise ArgumentError(f"{param['name']}: {value!r} is not a usable path segment")
        if param["in"] == "header":
            if not _HEADER_NAME.fullmatch(param["name"]):
                raise ArgumentError(f"{param['name']!r} is not a valid HTTP header name")
            if not _HEADER_VALUE.fullmatch(value):
                raise ArgumentError(f"{param['name']}: header values must be printable ASCII")


def stored_arguments(arguments):
    """What the log keeps of the arguments: oversized ones as a preview and their hash."""
    try:
        text = json.dumps(arguments, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(arguments)
    data = text.encode("utf-8", "backslashreplace")
    # NUL and lone surrogates cannot be stored (PostgreSQL refuses them even escaped).
    storable = "\\u0000" not in text and not _UNSTORABLE.search(text)
    if storable and len(data) <= settings.ENSEMBLE_SERVICE_ARGUMENTS_MAX_BYTES:
        return arguments
    return {"truncated": True, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "preview": data[:1000].decode("utf-8", "replace").replace("\\u0000", "\ufffd")}
