"""Calling one service operation with arguments an assistant chose: the arguments
checked (operations.arguments), the secrets it needs (credentials), the guarded client
(outbound), and what came back as a `CallResult`."""

import hashlib
import json
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from django.conf import settings

from core.observability import REQUEST_ID_HEADER, current_request_id
from credentials.selectors import operation_credentials
from credentials.services import credential_outcome_record, credential_secret_rotated
from outbound.auth import REDACTED, CredentialError, authorized_request, redact_text
from outbound.http import OutboundError, encode_body
from prompts.endpoints import effective_base_url

from .arguments import ArgumentError, check_argument_safety, secret_values, stored_arguments, validate_arguments
from .tools import Tool


def _keep_rotated(credential_id: int, value: str) -> None:
    """A secret the token endpoint rotated during a call, kept for the next ones."""
    credential_secret_rotated(credential_id=credential_id, value=value)


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
    # Arguments a plan took from earlier calls' answers: {argument: {"call": position,
    # "path": "items[].id", "picked": "the first", "value": …}} (kept in the log).
    sources: dict = field(default_factory=dict)
    # Whether the request went out (the service may have acted on it). False for what was
    # refused before sending: bad arguments, a missing or held secret, a guard's refusal.
    sent: bool = True
    # The values of the arguments that are secrets (operations.arguments.secret_values):
    # redacted from what is kept of this call, and from the log's text. In memory only.
    hidden: list = field(default_factory=list, repr=False)

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


def call_tool(tool: Tool, arguments: dict) -> CallResult:
    started = time.monotonic()
    op = tool.operation
    # Arguments the spec marks as secrets (format: password, writeOnly) or whose names say
    # so: redacted, like credentials, from the URL, errors and the answer that are kept.
    hidden = secret_values(arguments, tool.parameters)
    try:
        check_argument_safety(tool, arguments)  # first: the size cap also bounds schema validation
        validate_arguments(tool, arguments)
    except ArgumentError as error:
        return CallResult(tool, stored_arguments(arguments), ok=False, sent=False,
                          error=f"invalid arguments: {redact_text(str(error), hidden)}",
                          hidden=hidden)
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
    url = effective_base_url(tool.service, tool.snapshot, op).rstrip("/") + path
    shown_url = redact_text(url, hidden)
    if current_request_id():
        # The service can tie its own logs to this interaction.
        headers.setdefault(REQUEST_ID_HEADER, current_request_id())
    needs = operation_credentials(service=tool.service, snapshot=tool.snapshot, operation=op, on_rotate=_keep_rotated)
    if needs.missing:
        return CallResult(tool, stored, ok=False, url=shown_url, error=needs.missing, hidden=hidden, sent=False)
    # JSON, or a form (Swagger 2 formData, OpenAPI form content), as the operation says.
    body = encode_body(op["body"].get("content_type") or "application/json", arguments.get("body")) if op.get("body") else {}
    headers.update(body.pop("headers", {}))
    try:
        result, sent = authorized_request(
            op["method"], url, key=tool.service.id, credentials=needs.credentials, params=query, headers=headers,
            **body, max_bytes=settings.ENSEMBLE_SERVICE_RESPONSE_MAX_BYTES,
        )
    except (OutboundError, CredentialError) as error:
        return CallResult(tool, stored, ok=False, url=shown_url, error=redact_text(getattr(error, "message", str(error)), hidden),
                          duration_ms=int((time.monotonic() - started) * 1000), hidden=hidden,
                          sent=getattr(error, "reached", False))
    # What is recorded shows [redacted] wherever a secret went, the query string included.
    recorded = {k: (REDACTED if k in sent.credential_params else v) for k, v in sent.params.items()}
    url = redact_text(url + (f"?{urlencode(recorded, safe='[]')}" if recorded else ""), hidden)
    text = redact_text(result.body.decode("utf-8", errors="replace"), [*sent.secrets, *hidden]).replace("\x00", "\ufffd")  # NUL cannot be stored
    refused = ""
    if needs.credentials and result.status in (401, 403):
        refused = (f"{tool.service.name} refused the credentials for {', '.join(needs.scheme_names)} "
                   f"(HTTP {result.status}); an admin should check the secret.")
    credential_outcome_record(service_id=tool.service.pk, schemes=needs.scheme_names, refused=refused, use_stale=needs.use_stale)
    return CallResult(
        tool, stored, ok=200 <= result.status < 300, status=result.status, url=url, text=text, error=refused,
        duration_ms=int((time.monotonic() - started) * 1000), response_hash=hashlib.sha256(result.body).hexdigest(),
        hidden=hidden,
    )
