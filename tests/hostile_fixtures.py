"""Hostile servers on loopback for the adversarial tests (tests/test_hostile.py):

- `HostileServer`: serves specs (a normal one, a 1,000-hop `$ref` chain, a `$ref`
  fan-out bomb, YAML nested 100,000 levels deep) and the operations they describe, some of which trickle their response
  headers a byte at a time; it records every request it receives.
- `ScriptedModel`: an OpenAI-compatible chat endpoint that answers by script: the
  user's input names a script (set by the test) saying which tool to call with which
  arguments (or, with no tool, what to say); once a tool result is in the conversation
  it answers in words. Stateless per request, so concurrent interactions work.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler

from tests.fake_openai import completion, tool_call
from tests.http_fixtures import LocalServer, send_body


def chain_spec(hops: int = 1000) -> bytes:
    """A request body schema reached through `hops` local $refs (about 47 KB)."""
    schemas = {f"S{i}": {"$ref": f"#/components/schemas/S{i + 1}"} for i in range(hops)}
    schemas[f"S{hops}"] = {"type": "object", "properties": {"name": {"type": "string"}}}
    return json.dumps({
        "openapi": "3.0.3", "info": {"title": "Chain", "version": "1"},
        "paths": {"/things": {"post": {"operationId": "makeThing", "requestBody": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/S0"}}}}, "responses": {"200": {"description": "ok"}}}}},
        "components": {"schemas": schemas},
    }, separators=(",", ":")).encode()


def bomb_spec(width: int = 80, operations: int = 12) -> bytes:
    """Levels of schemas whose properties all point to the next level: about 16 KB that
    expands to width⁴ nodes per operation."""
    schemas = {f"L{level}": {"type": "object", "properties": {
        f"p{i}": {"$ref": f"#/components/schemas/L{level + 1}"} for i in range(width)}} for level in range(4)}
    schemas["L4"] = {"type": "string"}
    paths = {f"/b{j}": {"post": {"operationId": f"bomb{j}", "requestBody": {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/L0"}}}}, "responses": {"200": {"description": "ok"}}}}
        for j in range(operations)}
    return json.dumps({"openapi": "3.0.3", "info": {"title": "Bomb", "version": "1"}, "paths": paths,
                       "components": {"schemas": schemas}}, separators=(",", ":")).encode()


def deep_yaml_spec(levels: int = 100_000) -> bytes:
    """A valid OpenAPI head with an extension nested `levels` deep on one line (`- - - …`,
    about 200 KB): a parser that recurses per level on the native stack crashes on it."""
    return ("openapi: 3.0.3\ninfo: {title: Deep, version: '1'}\npaths: {}\nx-deep:\n  "
            + "- " * levels + "leaf\n").encode()


def api_spec(base: str) -> bytes:
    def op(op_id, **extra):
        return {"operationId": op_id, "responses": {"200": {"description": "ok"}}, **extra}

    path_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    return json.dumps({
        "openapi": "3.0.3", "info": {"title": "Items", "version": "1"}, "servers": [{"url": f"{base}/api"}],
        "paths": {
            "/v1/items/{id}": {"get": op("getItem", parameters=path_id), "delete": op("deleteItem", parameters=path_id)},
            "/v1/items": {"delete": op("deleteAllItems")},
            "/trace": {"get": op("traceThing", parameters=[
                {"name": "X-Trace", "in": "header", "required": True, "schema": {"type": "string"}}])},
            "/echo": {"post": op("echo", requestBody={"required": True, "content": {"application/json": {
                "schema": {"type": "object"}}}})},
        },
    }).encode()


def slow_spec(base: str) -> bytes:
    return json.dumps({
        "openapi": "3.0.3", "info": {"title": "Slow", "version": "1"}, "servers": [{"url": f"{base}/slow"}],
        "paths": {"/wait": {"get": {"operationId": "waitSlow", "responses": {"200": {"description": "ok"}}}}},
    }).encode()


class _Hostile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with self.server.lock:
            self.server.requests.append((self.command, self.path, dict(self.headers), length))

    def _trickle_headers(self):
        """A status line, then header bytes every 0.3 s, for up to a minute."""
        self.close_connection = True
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            for _ in range(200):
                self.wfile.write(b"a")
                self.wfile.flush()
                time.sleep(0.3)
        except OSError:
            pass

    def _answer(self):
        self._record()
        path = self.path.split("?")[0]
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if path == "/trickle" or path == "/slow/wait":
            return self._trickle_headers()
        if path == "/steady":  # healthy, not instant: answers after 0.6 s
            time.sleep(0.6)
        documents = {"/spec/api.json": lambda: api_spec(base), "/spec/slow.json": lambda: slow_spec(base),
                     "/spec/chain.json": chain_spec, "/spec/bomb.json": bomb_spec, "/spec/deep.yml": deep_yaml_spec}
        if path in documents:
            return send_body(self, 200, documents[path]())
        return send_body(self, 200, json.dumps({"method": self.command, "path": self.path}).encode())

    do_GET = do_POST = do_DELETE = do_PUT = _answer


class HostileServer(LocalServer):
    def __init__(self):
        super().__init__(_Hostile, lock=threading.Lock())

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def received(self, prefix: str) -> list:
        with self.httpd.lock:
            return [r for r in self.requests if r[1].startswith(prefix)]


class _Model(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length))
        messages = request["messages"]
        if messages[-1]["role"] == "tool":
            reply = {"content": "done: " + messages[-1]["content"][:300]}
        else:
            script = self.server.scripts.get(messages[-1]["content"])
            if script and script[0] is None:  # no tool: say what the script says
                reply = {"content": script[1]["say"]}
            else:
                reply = {"tool_calls": [tool_call(*script)]} if script else {"content": "nothing to do"}
        send_body(self, 200, json.dumps(completion(reply)).encode())


class ScriptedModel(LocalServer):
    def __init__(self):
        super().__init__(_Model, scripts={})

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def script(self, name: str, tool: str, arguments: dict) -> str:
        self.httpd.scripts[name] = (tool, arguments)
        return name
