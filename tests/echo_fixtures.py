"""An echo service on a chosen loopback address, for the tests of where secrets go
(tests/test_secret_origins.py, tests/test_secret_origins_live.py).

`EchoServer(host)` binds `host` (127.0.0.2 plays the service's own host, 127.0.0.3 a
foreign one) and records every request it receives. It serves the documents a test
publishes, an OAuth2 token endpoint (client credentials and refresh tokens, optionally
rotating them) and, for every other path, echoes back what it received in the shapes
careless services use: every header, query and body value raw, lower- and upper-cased,
URL- and form-encoded, HTML-escaped, a basic credential decoded (and its password
alone), all inside JSON written with `\\/` as Java and PHP do, and once more as JSON
text inside a JSON string. With `require_token` on, paths under it answer 401 (echoing
the token) unless the bearer token is one the token endpoint issued and has not revoked.
"""

import base64
import html
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

from tests.http_fixtures import send_body


def echo_forms(value: str) -> list[str]:
    return [value, value.lower(), value.upper(), quote(value, safe=""), quote_plus(value), html.escape(value)]


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self):
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        with server.lock:
            server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})
        if url.path in server.files:
            return send_body(self, 200, server.files[url.path], "application/json")
        if url.path == server.token_path and self.command == "POST":
            return self._token(body)
        if server.require_token and url.path.startswith(server.require_token):
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            with server.lock:
                valid = server.tokens.get(token, 0) > time.monotonic()
            if not valid:
                return send_body(self, 401, json.dumps({"error": "invalid token", "got": token}).encode())
        send_body(self, 200, self._echo(url, body))

    def _echo(self, url, body: bytes) -> bytes:
        values = [value for name, value in self.headers.items() if name.lower() not in ("host", "content-length")]
        values += [v for vs in parse_qs(url.query).values() for v in vs]
        text = body.decode("utf-8", "replace")
        values += [text] + [v for vs in parse_qs(text).values() for v in vs]
        authorization = self.headers.get("Authorization") or ""
        if authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode("utf-8", "replace")
            values += [decoded, decoded.split(":", 1)[-1]]
        received = {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": text}
        document = {"service": self.server.label, "received": received, "forms": [f for v in values for f in echo_forms(v)],
                    "as_json_text": json.dumps(received)}
        return json.dumps(document).replace("/", "\\/").encode()

    def _token(self, body: bytes):
        server = self.server
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        grant = form.get("grant_type")
        authorization = self.headers.get("Authorization") or ""
        client = base64.b64decode(authorization[6:]).decode() if authorization.startswith("Basic ") else f"{form.get('client_id')}:"
        if client != f"{quote_plus(server.client_id)}:{quote_plus(server.client_secret)}":
            return send_body(self, 401, json.dumps({"error": "invalid_client", "got": client}).encode())
        answer = {"token_type": "Bearer", "expires_in": server.lifetime}
        with server.lock:
            if grant == "refresh_token":
                if form.get("refresh_token") not in server.refresh_tokens:
                    return send_body(self, 400, json.dumps({"error": "invalid_grant"}).encode())
                if server.rotate:
                    server.refresh_tokens.discard(form["refresh_token"])
                    answer["refresh_token"] = f"rotated-refresh-{next(server.counter)}-{server.label}"
                    server.refresh_tokens.add(answer["refresh_token"])
            elif grant != "client_credentials":
                return send_body(self, 400, json.dumps({"error": "unsupported_grant_type"}).encode())
            answer["access_token"] = f"issued-access-{next(server.counter)}-{server.label}"
            server.tokens[answer["access_token"]] = time.monotonic() + server.lifetime
            server.issued.append(answer["access_token"])
        send_body(self, 200, json.dumps(answer).encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


class EchoServer:
    def __init__(self, host: str, label: str = ""):
        self.httpd = ThreadingHTTPServer((host, 0), _Echo)
        self.httpd.daemon_threads = True
        state = {"lock": threading.Lock(), "requests": [], "files": {}, "label": label or host, "token_path": "/token",
                 "client_id": "", "client_secret": "", "refresh_tokens": set(), "rotate": False, "tokens": {},
                 "issued": [], "counter": itertools.count(1), "lifetime": 3600, "require_token": ""}
        for name, value in state.items():
            setattr(self.httpd, name, value)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def publish(self, path: str, document: dict) -> str:
        self.httpd.files[path] = json.dumps(document).encode()
        return self.base + path

    def oauth(self, *, client_id: str, client_secret: str = "", refresh_tokens=(), rotate=False, require_token="",
              token_path="/token"):
        """Run the token endpoint for this client; with `require_token`, paths starting there need its tokens."""
        server = self.httpd
        server.client_id, server.client_secret, server.rotate = client_id, client_secret, rotate
        server.refresh_tokens, server.require_token, server.token_path = set(refresh_tokens), require_token, token_path

    def revoke_tokens(self):
        with self.httpd.lock:
            self.httpd.tokens.clear()

    @property
    def issued(self) -> list[str]:
        with self.httpd.lock:
            return list(self.httpd.issued)

    @property
    def requests(self) -> list[dict]:
        with self.httpd.lock:
            return list(self.httpd.requests)

    def calls(self, prefix: str = "") -> list[dict]:
        """Requests other than for published documents (and under `prefix`)."""
        return [r for r in self.requests if urlsplit(r["path"]).path not in self.httpd.files and r["path"].startswith(prefix)]

    def received(self, text: str) -> bool:
        """Whether `text` reached this server anywhere in a request (path, headers, body)."""
        return any(text in r["path"] or text in json.dumps(r["headers"]) or text.encode() in r["body"] for r in self.requests)

    def forget(self):
        with self.httpd.lock:
            self.httpd.requests.clear()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def vault_spec(base: str, *, token_url: str = "", extra_servers: dict | None = None) -> dict:
    """A service with one operation per kind of secret: header and query API keys
    together, HTTP basic, bearer, OAuth2 client credentials (when `token_url`)."""
    def op(op_id, security, **extra):
        return {"operationId": op_id, "summary": f"Echo for {op_id}", "security": security,
                "responses": {"200": {"description": "What the service received."}}, **extra}

    schemes = {
        "headerKey": {"type": "apiKey", "in": "header", "name": "X-Vault-Key"},
        "queryKey": {"type": "apiKey", "in": "query", "name": "vault_key"},
        "basicAuth": {"type": "http", "scheme": "basic"},
        "bearerAuth": {"type": "http", "scheme": "bearer"},
    }
    paths = {
        "/keys": {"get": op("echoKeys", [{"headerKey": [], "queryKey": []}])},
        "/basic": {"get": op("echoBasic", [{"basicAuth": []}])},
        "/bearer": {"post": op("echoBearer", [{"bearerAuth": []}], requestBody={"content": {"application/json": {
            "schema": {"type": "object", "properties": {"note": {"type": "string"}}}}}})},
    }
    if token_url:
        schemes["clientAuth"] = {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {}}}}
        paths["/client"] = {"get": op("echoClient", [{"clientAuth": []}])}
    for path, servers in (extra_servers or {}).items():
        paths[path]["servers"] = [{"url": servers}]
    return {"openapi": "3.0.3", "info": {"title": "Vault", "version": "1"}, "servers": [{"url": f"{base}/api"}],
            "paths": paths, "components": {"securitySchemes": schemes}}


def notes_spec(base: str, *, method: str = "put", path: str = "/notes/{noteId}", summary: str = "Change a note") -> dict:
    """A notes service: updateNote takes the note's text, the owner's password
    (`format: password`) and a recovery answer (`writeOnly`)."""
    body = {"type": "object", "required": ["text"], "properties": {
        "text": {"type": "string"},
        "password": {"type": "string", "format": "password"},
        "recovery": {"type": "string", "writeOnly": True}}}
    operation = {"operationId": "updateNote", "summary": summary, "responses": {"200": {"description": "The note."}},
                 "parameters": [{"name": "noteId", "in": "path", "required": True, "schema": {"type": "integer"}}]}
    if method != "delete":
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return {"openapi": "3.0.3", "info": {"title": "Notes", "version": "1"}, "servers": [{"url": f"{base}/api"}],
            "paths": {path: {method: operation},
                      "/notes": {"get": {"operationId": "listNotes", "responses": {"200": {"description": "Notes."}}}}}}
