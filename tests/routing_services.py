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


def start_fountainai_services() -> list[tuple[str, str, LocalServer]]:
    """(service id, title, server) for each of the nine specs, serving on loopback."""
    started = []
    for path in sorted(require(SPECS).glob("*.yml")):
        document = yaml.safe_load(path.read_text())
        server = LocalServer(_SpecHandler, spec_text="", operations=[], api_key=f"key-of-{path.stem.lower()}",
                             resources=_resources(document))
        base = f"http://127.0.0.1:{server.httpd.server_address[1]}"
        document["servers"] = [{"url": base}]
        server.httpd.spec_text = yaml.safe_dump(document, sort_keys=False)
        server.httpd.operations = parse_operations(document)["operations"]
        started.append((path.stem.lower(), document["info"]["title"], server))
    return started
