"""A local HTTP server for tests: serves documents the test registers, plus hostile
endpoints (redirects, endless bodies, huge bodies). Binds 127.0.0.1 only."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def send_body(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str = "application/json",
              headers: dict | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def start_server(handler_class, **state) -> ThreadingHTTPServer:
    """A threading HTTP server on a free loopback port, serving in a daemon thread;
    `state` becomes attributes of the server (handlers read them as self.server.X)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    httpd.daemon_threads = True
    for name, value in state.items():
        setattr(httpd, name, value)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        server = self.server
        server.requests.append((self.path, dict(self.headers)))
        if url.path.startswith("/redirect"):
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if url.path == "/endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/yaml")
            self.end_headers()
            try:
                for _ in range(600):  # bounded: at most ~60 s
                    self.wfile.write(b"# still sending\n")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
            return
        if url.path == "/fail":
            return send_body(self, 500, b'{"error": "internal"}')
        if url.path == "/huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            chunk = b" " * 65536
            try:
                for _ in range(50 * 16):  # 50 MB, no Content-Length
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        entry = server.files.get(url.path)
        if entry is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, content_type, etag = entry
        if etag and self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        send_body(self, 200, body, content_type, {"ETag": etag} if etag else None)


class LocalServer:
    """A test server on loopback: what it received, and how to stop it."""

    def __init__(self, handler_class, **state):
        self.httpd = start_server(handler_class, requests=[], **state)

    @property
    def requests(self):
        return self.httpd.requests

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class FileServer(LocalServer):
    def __init__(self):
        super().__init__(_Handler, files={})

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def add(self, path: str, body: bytes | str, content_type: str = "application/yaml", etag: str | None = None) -> str:
        self.httpd.files[path] = (body.encode() if isinstance(body, str) else body, content_type, etag)
        return self.url(path)
