"""`manage.py spec_check`: what registering a spec would give, before registering it.
The document is fetched (URL, through outbound/http.py like every spec) or read (file),
loaded and parsed by the very functions registration uses, and the system prompt text
for it is rendered to count its tokens."""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings

from outbound.http import OutboundError, guarded_request
from registry.models import Service

from .models import SpecSnapshot
from .parsing import HTTP_METHODS, SpecError, parse_spec
from .rendering import estimate_tokens, render_system_prompt
from .security import schemes_of_document

# Parameter locations the service caller can fill (interactions/caller.py); a body is separate.
SUPPORTED_LOCATIONS = {"path", "query", "header"}


@dataclass
class SpecReport:
    source: str
    spec_version: str  # "openapi 3.1.0" / "swagger 2.0"
    title: str
    api_version: str
    base_url: str
    operations: list[dict]
    warnings: list[str] = field(default_factory=list)
    prompt_tokens: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def _read(source: str) -> tuple[bytes, str | None]:
    """The document's bytes, and its URL when it came from one."""
    limit = settings.ENSEMBLE_SPEC_MAX_BYTES
    if source.startswith(("http://", "https://")):
        result = guarded_request("GET", source, max_bytes=limit,
                                 headers={"Accept": "application/json, application/yaml, text/yaml, */*;q=0.5"})
        if result.status != 200:
            raise OutboundError("HTTP_ERROR", f"{source} answered HTTP {result.status}.")
        return result.body, result.url
    path = Path(source)
    if path.stat().st_size > limit:
        raise SpecError(f"The document is larger than ENSEMBLE_SPEC_MAX_BYTES ({limit} bytes).")
    return path.read_bytes(), None


def _missing_operation_ids(document: dict) -> list[str]:
    missing = []
    for path, item in (document.get("paths") or {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method) if isinstance(item, dict) else None
            if isinstance(operation, dict) and not (isinstance(operation.get("operationId"), str)
                                                    and operation["operationId"].strip()):
                missing.append(f"{method.upper()} {path}")
    return missing


def spec_check(source: str) -> SpecReport:
    """Raises SpecError / OutboundError / OSError when the spec is unusable."""
    raw, url = _read(source)
    # Registration's own parse, with its budgets; the loaded document is kept for the warnings.
    loaded = {}

    def read_schemes(document):
        loaded["document"] = document
        return schemes_of_document(document, spec_url=url or "")

    parsed = parse_spec(raw, spec_url=url, schemes_reader=read_schemes)
    document = loaded["document"]
    kind = "swagger" if "swagger" in document else "openapi"
    report = SpecReport(
        source=source, spec_version=f"{kind} {document.get(kind)}", title=parsed["title"], api_version=parsed["version"],
        base_url=parsed["base_url"],
        operations=[{"operation_id": op["operation_id"], "method": op["method"], "path": op["path"]}
                    for op in parsed["operations"]],
    )
    for where in _missing_operation_ids(document):
        report.warnings.append(f"{where}: no operationId (a name is derived from the method and path)")
    for op in parsed["operations"]:
        for param in op["parameters"]:
            if param["in"] not in SUPPORTED_LOCATIONS:
                report.warnings.append(f"{op['operation_id']}: parameter {param['name']!r} in {param['in']} "
                                       f"is not supported (the assistant cannot send it)")
    if not parsed["base_url"]:
        report.warnings.append("no server URL: operations would be called relative to the spec's own URL")
    # Unsaved rows: the prompt is rendered exactly as for a registered service without policies.
    service = Service(id="(unregistered)", name=parsed["title"], description=parsed["description"], read_only=False)
    service.__dict__["_policies"] = {}
    snapshot = SpecSnapshot(service_id=service.id, base_url=parsed["base_url"], operations_json=parsed["operations_json"],
                            security_schemes_json=json.dumps(parsed["security_schemes"]), content_hash=hashlib.sha256(raw).hexdigest())
    report.prompt_tokens = estimate_tokens(render_system_prompt([(service, snapshot)], token_budget=10**12))
    return report
