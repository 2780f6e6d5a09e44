"""Validating real responses against the contract's schemas: the project's
openapi3_1.yml and, where ../shared is present, the reference contract."""

import json
from functools import cache
from pathlib import Path

import jsonschema
import yaml

from core.contract import ADDABLE_STATUSES

ROOT = Path(__file__).resolve().parent.parent
PROJECT_SPEC = ROOT / "openapi3_1.yml"
REFERENCE_SPEC = ROOT.parent / "shared" / "reference" / "openapi3_1.yml"


@cache
def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def specs() -> list[dict]:
    found = [load(PROJECT_SPEC)]
    if REFERENCE_SPEC.exists():
        found.append(load(REFERENCE_SPEC))
    return found


def _inline(document, node, depth=0):
    if depth > 50:
        return node
    if isinstance(node, dict):
        if "$ref" in node:
            target = document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return _inline(document, target, depth + 1)
        return {k: _inline(document, v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(document, v, depth + 1) for v in node]
    return node


def operation(document: dict, operation_id: str) -> dict:
    for item in document["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise KeyError(operation_id)


def assert_conforms(response, operation_id: str, status: int | None = None) -> dict:
    """The response's status is one the operation documents, and its JSON body matches
    that status's schema, in every contract we have. Returns the body."""
    status = status or response.status_code
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    body = response.json() if hasattr(response, "json") else json.loads(response.content)
    for index, document in enumerate(specs()):
        responses = operation(document, operation_id)["responses"]
        if index > 0 and str(status) in ADDABLE_STATUSES and str(status) not in responses:
            continue  # 429/503: documented by the project's contract only (see contract.py)
        assert str(status) in responses, f"{operation_id} does not document {status}"
        schema = _inline(document, responses[str(status)]["content"]["application/json"]["schema"])
        jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(body)
    return body


def assert_error(response, operation_id: str | None, status: int, error_code: str | None = None) -> dict:
    """An ErrorResponse with all three fields as strings (and, for documented statuses, valid per the contract)."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    if operation_id is not None:
        assert_conforms(response, operation_id, status)
    assert set(body) >= {"errorCode", "message", "details"}, body
    assert all(isinstance(body[k], str) for k in ("errorCode", "message", "details")), body
    assert "detail" not in body
    if error_code:
        assert body["errorCode"] == error_code, body
    return body
