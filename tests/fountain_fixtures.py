"""Protected FountainAI-style services for the credential tests: each serves one of the
real FountainAI specs (its `servers` pointing at itself) and answers 401 to any
operation without its own credential. Binds 127.0.0.1 only."""

import base64
import copy
import itertools
import json
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.http_fixtures import LocalServer, send_body
from tests.shared_material import SHARED, require

SPECS = SHARED / "reference" / "fountainai-services"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _record(self, body=b""):
        self.server.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body})

    def _authorized(self, url) -> bool:
        server = self.server
        if server.mode == "apikey-header":
            return self.headers.get("X-API-KEY") == server.key
        if server.mode == "apikey-query":
            return parse_qs(url.query).get("api_key") == [server.key]
        if server.mode == "oauth2":
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            expires = server.tokens.get(token)
            return expires is not None and expires > time.monotonic()
        return True

    def do_GET(self):
        url = urlsplit(self.path)
        self._record()
        server = self.server
        if url.path == "/openapi.yml":
            return send_body(self, 200, server.spec.encode(), "application/yaml")
        if server.redirect_to:
            self.send_response(307)
            self.send_header("Location", server.redirect_to + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not self._authorized(url):
            # Echoes what it got, as careless services do: the Ensemble must not record it.
            got = self.headers.get("X-API-KEY") or parse_qs(url.query).get("api_key", [""])[0]
            return send_body(self, 401, json.dumps({"message": f"missing or invalid credentials: {got!r}"}).encode())
        return send_body(self, 200, json.dumps({"service": server.label, "path": url.path, "name": "Ada Protected"}).encode())

    def do_POST(self):
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._record(body)
        server = self.server
        if url.path == "/token":
            expected = base64.b64encode(f"{server.client_id}:{server.client_secret}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {expected}" or b"grant_type=client_credentials" not in body:
                return send_body(self, 401, b'{"error": "invalid_client"}')
            token = f"token-{next(server.counter)}"
            server.tokens[token] = time.monotonic() + server.lifetime
            return send_body(self, 200, json.dumps({"access_token": token, "token_type": "Bearer",
                                                    "expires_in": server.lifetime}).encode())
        return send_body(self, 404, b"{}")


class FountainService(LocalServer):
    """`mode`: apikey-header (the specs' own X-API-KEY), apikey-query, oauth2, or open."""

    def __init__(self, spec_file: str, *, key: str = "", mode: str = "apikey-header", label: str = "",
                 client_id: str = "", client_secret: str = "", lifetime: float = 3600):
        super().__init__(_Handler, spec="", key=key, mode=mode, label=label or spec_file, redirect_to="", tokens={},
                         counter=itertools.count(1), client_id=client_id, client_secret=client_secret, lifetime=lifetime)
        document = yaml.safe_load(require(SPECS / spec_file).read_text())
        document["servers"] = [{"url": self.base}]
        if mode == "apikey-query":
            document["components"]["securitySchemes"]["apiKeyAuth"] = {"type": "apiKey", "in": "query", "name": "api_key"}
        if mode == "oauth2":
            document["components"]["securitySchemes"] = {"clientAuth": {"type": "oauth2", "flows": {"clientCredentials": {
                "tokenUrl": "/token", "scopes": {}}}}}  # relative: resolved against the spec's URL
            document["security"] = [{"clientAuth": []}]
            for item in document["paths"].values():
                for op in item.values():
                    if isinstance(op, dict) and "security" in op:
                        op["security"] = [{"clientAuth": []}]
        self.document = document
        self.publish()

    def publish(self, document: dict | None = None):
        self.httpd.spec = yaml.safe_dump(copy.deepcopy(document or self.document), sort_keys=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def spec_url(self) -> str:
        return f"{self.base}/openapi.yml"

    def token_fetches(self) -> int:
        return sum(1 for r in self.requests if r["path"] == "/token")

    def received(self, text: str) -> bool:
        """Whether `text` reached this server anywhere in a request (path, headers, body)."""
        return any(text in r["path"] or text in json.dumps(r["headers"]) or text.encode() in r["body"] for r in self.requests)

