"""Swagger 2 `formData` parameters (and OpenAPI form bodies) are sent as forms, end to
end: the prompt lists them as the body's fields, and the service receives a URL-encoded
or multipart body, against a real local server."""

import json
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

import pytest

from interactions.services import interaction_handle
from prompts.selectors import system_prompt_for
from prompts.services import spec_refresh
from registry import services
from tests.http_fixtures import LocalServer, send_body

pytestmark = pytest.mark.django_db(transaction=True)

SPEC = """swagger: '2.0'
info: {title: Notes, version: '1'}
host: HOST
schemes: [http]
paths:
  /notes:
    post:
      operationId: addNote
      summary: Add a note
      consumes: [application/x-www-form-urlencoded]
      parameters:
        - {name: title, in: formData, type: string, required: true, description: The note's title}
        - {name: stars, in: formData, type: integer}
      responses: {'201': {description: created}}
  /attachments:
    post:
      operationId: addAttachment
      summary: Attach a text
      consumes: [multipart/form-data]
      parameters:
        - {name: label, in: formData, type: string, required: true}
      responses: {'201': {description: created}}
"""


class _Notes(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        send_body(self, 200, SPEC.replace("HOST", f"127.0.0.1:{self.server.server_address[1]}").encode(), "application/yaml")

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((self.path, self.headers.get("Content-Type", ""), raw))
        send_body(self, 201, json.dumps({"saved": True}).encode())


@pytest.fixture
def notes(db):
    server = LocalServer(_Notes)
    port = server.httpd.server_address[1]
    service = services.service_register(id="notes", name="Notes", description="", openapi_url=f"http://127.0.0.1:{port}/spec.yml")
    assert spec_refresh(service=service).usable
    yield server
    server.close()


def test_form_fields_are_the_body_in_the_prompt_and_reach_the_service_form_encoded(notes):
    prompt = system_prompt_for(["notes"])
    assert "addNote" in prompt and "title" in prompt

    log, _ = interaction_handle(user_input="add note title=Balcony stars=5")
    (path, content_type, raw), = notes.requests
    assert path == "/notes" and content_type == "application/x-www-form-urlencoded"
    assert parse_qs(raw.decode()) == {"title": ["Balcony"], "stars": ["5"]}
    assert json.loads(log.service_responses[0]["response"]) == {"saved": True}


def test_multipart_form_fields_are_sent_as_plain_parts(notes):
    interaction_handle(user_input="add attachment label=Act-one")
    (path, content_type, raw), = notes.requests
    assert path == "/attachments" and content_type.startswith("multipart/form-data; boundary=")
    assert b'Content-Disposition: form-data; name="label"' in raw and b"Act-one" in raw
