"""The arguments an assistant (or an MCP client) gives an operation: checked against the
operation's own JSON schema and made safe before anything is sent, and what the log
keeps of them."""

import hashlib
import json
import re

import jsonschema
from django.conf import settings

from outbound.redaction import REDACTED

from .tools import Tool

# A name says it holds a secret when one of its words (camelCase, snake_case, kebab-case)
# is one of these or ends with one of the longer ones ("userPassword", "authtoken"); a
# word that merely starts so ("passengers", "tokenizer") does not.
_NAME_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_SECRET_WORDS = {"pass", "pwd", "pin", "auth", "authorization", "authorisation", "credential", "credentials"}
_SECRET_ENDINGS = ("password", "passwords", "passwd", "passphrase", "passcode", "secret", "secrets", "token", "tokens",
                   "apikey", "privatekey")


def secret_name(name) -> bool:
    """Whether a field's name says it holds a secret ("password", "client_secret",
    "X-API-KEY", "accessToken")."""
    words = [w.lower() for w in _NAME_WORDS.findall(str(name))]
    joined = [a + b for a, b in zip(words, words[1:], strict=False)]  # "api" "key" -> "apikey"
    return any(w in _SECRET_WORDS or w.endswith(_SECRET_ENDINGS) for w in words + joined)


def _marks_secret(schema: dict) -> bool:
    return schema.get("format") == "password" or schema.get("writeOnly") is True


def _parts(schema, depth: int = 8) -> list[dict]:
    """A schema and the parts of its allOf / oneOf / anyOf (any of them may declare a field)."""
    if not isinstance(schema, dict):
        return []
    found = [schema]
    if depth > 0:
        for combiner in ("allOf", "oneOf", "anyOf"):
            parts = schema.get(combiner)
            for part in parts if isinstance(parts, list) else []:
                found += _parts(part, depth - 1)
    return found


def _field_schemas(schemas: list[dict], name: str) -> list[dict]:
    found = []
    for schema in schemas:
        properties = schema.get("properties")
        if isinstance(properties, dict) and name in properties:
            found += _parts(properties[name])
        elif isinstance(schema.get("additionalProperties"), dict):
            found += _parts(schema["additionalProperties"])
    return found


def _item_schemas(schemas: list[dict]) -> list[dict]:
    return [part for schema in schemas for part in _parts(schema.get("items"))]


def _collect(value, found: list[str]) -> None:
    if isinstance(value, str):
        found.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, found)
    elif isinstance(value, list):
        for item in value:
            _collect(item, found)


def _redacted(value, schemas: list[dict], found: list[str]):
    if any(_marks_secret(schema) for schema in schemas):
        _collect(value, found)
        return REDACTED
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if secret_name(key):
                _collect(item, found)
                result[key] = REDACTED
            else:
                result[key] = _redacted(item, _field_schemas(schemas, str(key)), found)
        return result
    if isinstance(value, list):
        items = _item_schemas(schemas)
        return [_redacted(item, items, found) for item in value]
    return value


def redact(value, schema: dict | None = None):
    """`value` with every secret field shown as [redacted]: one whose name says it holds
    a secret, and, given the operation's schema (a tool's `parameters`), one the spec
    marks `format: password` or `writeOnly` (in properties, items, additionalProperties
    and allOf/oneOf/anyOf parts)."""
    return _redacted(value, _parts(schema), [])


def secret_values(value, schema: dict | None = None) -> list[str]:
    """The text values `redact` hides: what must be redacted, in every form, from what
    a service answers and from the log's text (outbound.redaction)."""
    found: list[str] = []
    _redacted(value, _parts(schema), found)
    return list(dict.fromkeys(found))


def has_secrets(value, schema: dict | None = None) -> bool:
    """Whether `redact` hides anything in `value`."""
    return redact(value, schema) != value


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
