"""A local OpenAI-compatible Chat Completions server with scripted replies, so the real
OpenAI SDK is exercised over real HTTP without the internet."""

import json
import time
from http.server import BaseHTTPRequestHandler

from tests.http_fixtures import LocalServer, send_body


def tool_call(name: str, arguments, call_id: str = "call_1") -> dict:
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}}


def completion(message: dict, model="fake-model") -> dict:
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", **message},
                     "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length))
        self.server.requests.append(request)
        step = self.server.script.pop(0) if self.server.script else {"content": "(script exhausted)"}
        if step == "sleep":
            time.sleep(5)
            return
        if step == "malformed":
            body, status = b"this is not json", 200
        elif step == "server_error":
            body, status = json.dumps({"error": {"message": "boom"}}).encode(), 500
        else:
            body, status = json.dumps(completion(step)).encode(), 200
        send_body(self, status, body)


class FakeOpenAI(LocalServer):
    def __init__(self):
        super().__init__(_Handler, script=[])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def script(self, *steps):
        self.httpd.script[:] = list(steps)
