"""The nine FountainAI services as real local HTTP servers built from their specs: each
serves its spec (with its own address as server) and answers its operations, refusing
a call whose body lacks the fields the spec requires, or without its own X-API-KEY
where the spec requires one (`server.api_key`), as a real service would. Reading one
resource (a GET whose path ends in its id) answers an object of the spec's response
schema, with the ids of the path in it."""

import json
import re
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import yaml

from prompts.parsing import parse_operations
from tests.http_fixtures import LocalServer, send_body
from tests.shared_material import SHARED, require

SPECS = SHARED / "reference" / "fountainai-services"


class _SpecHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self):
        server = self.server
        path = urlsplit(self.path).path
        if self.command == "GET" and path == "/openapi.yml":
            return send_body(self, 200, server.spec_text.encode(), "application/yaml")
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        for op in server.operations:
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(op["path"])) + "$"
            if op["method"] == self.command and re.match(pattern, path):
                if op.get("security") and self.headers.get("X-API-KEY") != server.api_key:
                    return send_body(self, 401, b'{"error": "missing or wrong X-API-KEY"}')
                body = json.loads(raw) if raw else None
                required = ((op.get("body") or {}).get("schema") or {}).get("required") or []
                if required and not (isinstance(body, dict) and all(k in body for k in required)):
                    return send_body(self, 400, json.dumps({"error": f"missing {required}"}).encode())
                server.requests.append((op["operation_id"], self.path, body))
                answer = server.answers.get(op["operation_id"])
                if answer is not None:  # answers="examples": what the spec says the operation returns
                    return send_body(self, 201 if self.command == "POST" else 200,
                                     json.dumps(answer(body) if callable(answer) else answer).encode())
                resource = server.resources.get(op["operation_id"])
                if resource is not None:
                    names = re.findall(r"{([^}]+)}", op["path"])
                    values = re.match(pattern.replace("[^/]+", "([^/]+)"), path).groups()
                    ids = {name: int(value) if value.isdigit() else value for name, value in zip(names, values, strict=True)}
                    return send_body(self, 200, json.dumps({**resource, **{k: v for k, v in ids.items() if k in resource}}).encode())
                return send_body(self, 200, json.dumps({"ok": True, "operation": op["operation_id"]}).encode())
        send_body(self, 404, b'{"error": "no such operation"}')

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


def _example(schema, document, depth=0):
    """A value of `schema` (local $refs followed): what a service would answer."""
    while isinstance(schema, dict) and "$ref" in schema:
        target = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            target = target[part]
        schema = target
    if not isinstance(schema, dict) or depth > 4:
        return None
    kind = schema.get("type") or ("object" if "properties" in schema else "string")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {name: _example(sub, document, depth + 1) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [_example(schema.get("items") or {}, document, depth + 1)]
    return {"integer": 1, "number": 1.5, "boolean": True}.get(kind, "example text")


def _resources(document) -> dict:
    """operationId -> the object a GET of one resource answers."""
    found = {}
    for path, item in document["paths"].items():
        get = item.get("get") or {}
        if not path.rstrip("/").endswith("}") or "operationId" not in get:
            continue
        for status in ("200", 200):
            content = ((get.get("responses") or {}).get(status) or {}).get("content") or {}
            value = _example((content.get("application/json") or {}).get("schema"), document)
            if isinstance(value, dict):
                found[get["operationId"]] = value
    return found


def _numbered(value, number: int):
    """An example answer with its integer ids set to `number` (items of a list differ)."""
    if isinstance(value, dict):
        return {k: (number if isinstance(v, int) and k.lower().endswith("id") else _numbered(v, number)) for k, v in value.items()}
    return value


def _example_answers(document) -> dict:
    """operationId -> what it answers, for lists (three items, ids 11, 12, 13) and creates
    (the body sent, with a new id), from the spec's response schemas."""
    found = {}
    for item in document["paths"].values():
        for method in ("get", "post"):
            op = item.get(method) or {}
            for status in ("200", "201", 200, 201):
                content = ((op.get("responses") or {}).get(status) or {}).get("content") or {}
                schema = (content.get("application/json") or {}).get("schema")
                if schema is None or "operationId" not in op:
                    continue
                value = _example(schema, document)
                if method == "get" and isinstance(value, list) and value and isinstance(value[0], dict):
                    found[op["operationId"]] = [_numbered(value[0], n) for n in (11, 12, 13)]
                elif method == "post" and isinstance(value, dict):
                    made = _numbered(value, 101)
                    found[op["operationId"]] = lambda body, made=made: {
                        **made, **{k: v for k, v in (body or {}).items() if k in made}}
                break
    return found


def start_fountainai_services(answers: str = "") -> list[tuple[str, str, LocalServer]]:
    """(service id, title, server) for each of the nine specs, serving on loopback.
    `answers="examples"`: lists and creates answer as their response schemas say (else
    `{"ok": true}`)."""
    started = []
    for path in sorted(require(SPECS).glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        server = LocalServer(_SpecHandler, spec_text="", operations=[], api_key=f"key-of-{path.stem.lower()}",
                             resources=_resources(document),
                             answers=_example_answers(document) if answers == "examples" else {})
        base = f"http://127.0.0.1:{server.httpd.server_address[1]}"
        document["servers"] = [{"url": base}]
        server.httpd.spec_text = yaml.safe_dump(document, sort_keys=False)
        server.httpd.operations = parse_operations(document)["operations"]
        started.append((path.stem.lower(), document["info"]["title"], server))
    return started


def register_fountainai_services(started, aliases: dict | None = None) -> None:
    """Register the started services, fetch their specs, set each one's key (the real
    services require it) and the aliases an admin would set on their pages."""
    from assistants.services import vocabulary_set
    from credentials.services import credential_set
    from prompts.security import security_schemes
    from prompts.services import spec_refresh
    from registry import services

    for service_id, title, server in started:
        service = services.service_register(id=service_id, name=title, description=title,
                                            openapi_url=f"http://127.0.0.1:{server.httpd.server_address[1]}/openapi.yml")
        snapshot = spec_refresh(service=service)
        assert snapshot.usable
        for scheme in security_schemes(snapshot):
            credential_set(service=service, scheme=scheme, value=server.httpd.api_key)
        if aliases and service_id in aliases:
            vocabulary_set(service=service, aliases=aliases[service_id])
