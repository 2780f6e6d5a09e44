"""Calling a service operation with arguments the assistant chose."""

import hashlib
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import jsonschema
from django.conf import settings

from core.observability import REQUEST_ID_HEADER, current_request_id
from credentials.selectors import operation_credentials
from credentials.services import credential_outcome_record
from outbound.auth import REDACTED, CredentialError, authorized_request, redact_text
from outbound.http import OutboundError, encode_body

from .tools import Tool

_SECRET_NAME = re.compile(r"pass|secret|token|api[-_]?key|authori[sz]ation|credential", re.I)


def redact(value):
    if isinstance(value, dict):
        return {k: ("[redacted]" if _SECRET_NAME.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


@dataclass
class CallResult:
    tool: Tool
    arguments: dict
    ok: bool
    status: int | None = None
    url: str = ""
    text: str = ""
    error: str = ""
    duration_ms: int = 0
    response_hash: str = ""

    def for_model(self) -> str:
        """What the assistant sees: a JSON envelope, so service text is data, not instructions."""
        if not self.ok and self.status is None:
            return json.dumps({"ok": False, "error": self.error})
        if self.error:
            return json.dumps({"ok": self.ok, "status": self.status, "error": self.error, "body": self.text[:8000]})
        return json.dumps({"ok": self.ok, "status": self.status, "body": self.text[:8000]})

    def summary(self) -> str:
        """The `response` string of the contract's service_responses."""
        if self.status is None:
            return f"{self.tool.operation['operation_id']} failed: {self.error}"
        if self.ok:
            return self.text
        return f"{self.error + ' ' if self.error else ''}HTTP {self.status}: {self.text[:2000]}"


class ArgumentError(Exception):
    pass


def validate_arguments(tool: Tool, arguments) -> dict:
    if not isinstance(arguments, dict):
        raise ArgumentError("arguments must be a JSON object")
    # The schema came from a parsed spec, not from the model: it is not re-checked against
    # the meta-schema on every call (jsonschema.validate would, at ~3 ms a call).
    validator = jsonschema.Draft202012Validator(tool.parameters)
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


def call_tool(tool: Tool, arguments: dict) -> CallResult:
    started = time.monotonic()
    op = tool.operation
    try:
        check_argument_safety(tool, arguments)  # first: the size cap also bounds schema validation
        validate_arguments(tool, arguments)
    except ArgumentError as error:
        return CallResult(tool, stored_arguments(arguments), ok=False, error=f"invalid arguments: {error}")
    stored = stored_arguments(arguments)
    path = op["path"]
    query, headers = {}, {}
    for param in op.get("parameters", []):
        if param["name"] not in arguments:
            continue
        value = arguments[param["name"]]
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", quote(str(value), safe=""))
        elif param["in"] == "query":
            query[param["name"]] = value if not isinstance(value, (dict,)) else json.dumps(value)
        elif param["in"] == "header":
            headers[param["name"]] = str(value)
    url = tool.snapshot.base_url.rstrip("/") + path
    if current_request_id():
        # The service can tie its own logs to this interaction.
        headers.setdefault(REQUEST_ID_HEADER, current_request_id())
    needs = operation_credentials(service=tool.service, snapshot=tool.snapshot, operation=op)
    if needs.missing:
        return CallResult(tool, stored, ok=False, url=url, error=needs.missing)
    # JSON, or a form (Swagger 2 formData, OpenAPI form content), as the operation says.
    body = encode_body(op["body"].get("content_type") or "application/json", arguments.get("body")) if op.get("body") else {}
    headers.update(body.pop("headers", {}))
    try:
        result, sent = authorized_request(
            op["method"], url, key=tool.service.id, credentials=needs.credentials, params=query, headers=headers,
            **body, max_bytes=settings.ENSEMBLE_SERVICE_RESPONSE_MAX_BYTES,
        )
    except (OutboundError, CredentialError) as error:
        return CallResult(tool, stored, ok=False, url=url, error=getattr(error, "message", str(error)),
                          duration_ms=int((time.monotonic() - started) * 1000))
    # What is recorded shows [redacted] wherever a secret went, the query string included.
    recorded = {k: (REDACTED if k in sent.credential_params else v) for k, v in sent.params.items()}
    url += f"?{urlencode(recorded, safe='[]')}" if recorded else ""
    text = redact_text(result.body.decode("utf-8", errors="replace"), sent.secrets).replace("\x00", "\ufffd")  # NUL cannot be stored
    refused = ""
    if needs.credentials and result.status in (401, 403):
        refused = (f"{tool.service.name} refused the credentials for {', '.join(needs.scheme_names)} "
                   f"(HTTP {result.status}); an admin should check the secret.")
    credential_outcome_record(service_id=tool.service.pk, schemes=needs.scheme_names, refused=refused, use_stale=needs.use_stale)
    return CallResult(
        tool, stored, ok=200 <= result.status < 300, status=result.status, url=url, text=text, error=refused,
        duration_ms=int((time.monotonic() - started) * 1000), response_hash=hashlib.sha256(result.body).hexdigest(),
    )
