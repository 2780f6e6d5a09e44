#!/usr/bin/env python
"""Demo FountainAI services for `make run` and the tests: a Character Service and an
Action Service, in memory, in one small HTTP server (standard library only).

    python demo/server.py [--port 8101]

Each service publishes its OpenAPI document at /<service>/openapi.yml; its operations
live under /<service>/ (the documents' `servers` URLs are relative to that).
"""

import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
SPECS = {"character": (HERE / "character.yml").read_bytes(), "action": (HERE / "action.yml").read_bytes()}


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.characters = {1: {"characterId": 1, "name": "John Doe", "description": "A restless detective."},
                           2: {"characterId": 2, "name": "Jane Roe", "description": "A patient archivist."}}
        self.actions = [{"actionId": 1, "characterId": 1, "description": "enters the room"}]


class Handler(BaseHTTPRequestHandler):
    store: Store
    server_version = "FountainDemo/1.0"

    def log_message(self, *args):  # quiet: the tests and `make run` print their own lines
        pass

    def _send(self, status, body, content_type="application/json"):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 65536:
            return None
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        if len(parts) == 2 and parts[0] in SPECS and parts[1] == "openapi.yml":
            return self._send(200, SPECS[parts[0]], "application/yaml")
        with self.store.lock:
            if parts[:2] == ["character", "characters"]:
                if len(parts) == 2:
                    name = (query.get("name") or [""])[0].lower()
                    return self._send(200, [c for c in self.store.characters.values() if name in c["name"].lower()])
                if len(parts) == 3 and parts[2].isdigit() and int(parts[2]) in self.store.characters:
                    return self._send(200, self.store.characters[int(parts[2])])
                return self._send(404, {"error": "no such character"})
            if parts == ["action", "actions"]:
                wanted = (query.get("characterId") or [""])[0]
                return self._send(200, [a for a in self.store.actions if not wanted or str(a["characterId"]) == wanted])
        return self._send(404, {"error": "not found"})

    def do_POST(self):
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        body = self._json_body()
        if body is None:
            return self._send(400, {"error": "send a JSON object"})
        with self.store.lock:
            if parts == ["character", "characters"]:
                if not isinstance(body.get("name"), str) or not body["name"]:
                    return self._send(400, {"error": "name is required"})
                new_id = max(self.store.characters, default=0) + 1
                character = {"characterId": new_id, "name": body["name"], "description": body.get("description", "")}
                self.store.characters[new_id] = character
                return self._send(201, character)
            if parts == ["action", "actions"]:
                if body.get("characterId") not in self.store.characters:
                    return self._send(404, {"error": "no such character"})
                action = {"actionId": len(self.store.actions) + 1, "characterId": body["characterId"],
                          "description": str(body.get("description", ""))}
                self.store.actions.append(action)
                return self._send(201, action)
        return self._send(404, {"error": "not found"})


def make_server(port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    handler = type("DemoHandler", (Handler,), {"store": Store()})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main():
    parser = argparse.ArgumentParser(description="Demo FountainAI services (Character, Action).")
    parser.add_argument("--port", type=int, default=8101)
    args = parser.parse_args()
    server = make_server(args.port)
    print(f"Demo services on http://127.0.0.1:{args.port}/character/openapi.yml and /action/openapi.yml", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
