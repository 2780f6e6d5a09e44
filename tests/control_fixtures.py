"""A small FountainAI-style service for the control-room tests: it publishes its spec
and records every operation call it receives (the spec fetch is not recorded)."""

import json
from http.server import BaseHTTPRequestHandler

from tests.http_fixtures import LocalServer, send_body

SPEC = """
openapi: 3.1.0
info: {title: Scene Service, version: 1.0.0}
servers: [{url: /api}]
paths:
  /scenes/{sceneId}:
    get:
      operationId: getScene
      summary: Get one scene by id
      parameters: [{name: sceneId, in: path, required: true, schema: {type: integer}}]
      responses: {'200': {description: The scene.}}
    delete:
      operationId: deleteScene
      summary: Delete one scene by id
      parameters: [{name: sceneId, in: path, required: true, schema: {type: integer}}]
      responses: {'204': {description: Deleted.}}
  /scenes:
    post:
      operationId: createScene
      summary: Create a scene
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [title], properties: {title: {type: string}}}
      responses: {'201': {description: The new scene.}}
"""


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.server.requests.append((self.command, self.path, body))

    def do_GET(self):
        if self.path == "/openapi.yml":
            return send_body(self, 200, SPEC.encode(), "application/yaml")
        self._record()
        if self.path == "/api/scenes/404":
            return send_body(self, 404, b'{"error": "no such scene"}')
        send_body(self, 200, json.dumps({"sceneId": int(self.path.rsplit("/", 1)[-1]), "title": "Opening"}).encode())

    def do_POST(self):
        self._record()
        send_body(self, 201, b'{"sceneId": 7, "title": "created"}')

    def do_DELETE(self):
        self._record()
        send_body(self, 204, b"")


class SceneService(LocalServer):
    def __init__(self):
        super().__init__(_Handler)

    @property
    def spec_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/openapi.yml"

    def calls(self, method=None) -> list:
        return [r for r in self.requests if method is None or r[0] == method]
