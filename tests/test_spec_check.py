"""Issue 13: `manage.py spec_check` parses a spec file or URL as registration does and
reports its version, operations, warnings and prompt size."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

SPEC = """
openapi: 3.0.3
info: {title: Checked API, version: 2.1.0}
servers: [{url: "http://checked.example/api"}]
paths:
  /items/{id}:
    get:
      operationId: getItem
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
        - {name: session, in: cookie, schema: {type: string}}
    delete:
      summary: no id here
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
"""


def _run(*args) -> str:
    out = io.StringIO()
    call_command("spec_check", *args, stdout=out)
    return out.getvalue()


def test_a_file_is_reported_as_json_and_as_text(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    report = json.loads(_run(str(spec), "--json"))
    assert report["spec_version"] == "openapi 3.0.3" and report["api_version"] == "2.1.0"
    assert report["base_url"] == "http://checked.example/api"
    assert [(op["method"], op["operation_id"]) for op in report["operations"]] == [
        ("GET", "getItem"), ("DELETE", "delete_items_id")]
    assert any("DELETE /items/{id}: no operationId" in w for w in report["warnings"])
    assert any("'session' in cookie is not supported" in w for w in report["warnings"])
    assert 20 < report["prompt_tokens"] < 400
    text = _run(str(spec))
    assert "Checked API 2.1.0 (openapi 3.0.3)" in text and "2 operations:" in text and "Prompt: about" in text


def test_a_url_goes_through_the_guarded_client(file_server):
    url = file_server.add("/spec.json", json.dumps({
        "swagger": "2.0", "info": {"title": "T", "version": "1"}, "host": "h.example", "basePath": "/v1",
        "paths": {"/x": {"get": {"operationId": "getX"}}}}).encode())
    report = json.loads(_run(url, "--json"))
    assert report["spec_version"] == "swagger 2.0" and report["operations"][0]["operation_id"] == "getX"


def test_an_unusable_spec_is_a_command_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: [unclosed")
    with pytest.raises(CommandError, match="neither valid JSON nor valid YAML"):
        _run(str(bad))
    with pytest.raises(CommandError, match="No such file"):
        _run(str(tmp_path / "missing.yaml"))


# Run as `python -c` with the command's argv: runs manage.py's entry point, then prints
# which modules of the MCP SDK the process imported.
_IMPORTS_PROBE = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ensemble_project.settings.test")
from django.core.management import execute_from_command_line
try:
    execute_from_command_line(["manage.py", *sys.argv[1:]])
finally:
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("mcp", "mcp_types") or m.startswith("mcp_gateway.server"))
    sys.stderr.write("MCP-MODULES " + json.dumps(loaded) + "\\n")
"""


@pytest.mark.parametrize("command", [["help"], ["spec_check", "{spec}"], ["spec_check", "{spec}", "--json"]])
def test_commands_start_without_the_mcp_sdk(tmp_path, command):
    """The SDK is half a second of imports: only /mcp (and the web worker's start) loads it."""
    import subprocess
    import sys
    from pathlib import Path

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    argv = [part.format(spec=spec) for part in command]
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", _IMPORTS_PROBE, *argv], cwd=root, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stderr.splitlines() if line.startswith("MCP-MODULES "))
    assert json.loads(line.removeprefix("MCP-MODULES ")) == []
    if command[0] == "spec_check":
        assert "getItem" in done.stdout


def test_the_mcp_view_loads_the_sdk_on_first_use(api_keys, db):
    """The other side of the lazy import: /mcp still answers (the suite has imported the SDK
    or not; either way the view finds its server)."""
    from rest_framework.test import APIClient

    response = APIClient().post("/mcp", {"jsonrpc": "2.0", "id": 1, "method": "ping"}, format="json",
                                HTTP_X_API_KEY=api_keys["api"], HTTP_ACCEPT="application/json, text/event-stream",
                                HTTP_MCP_PROTOCOL_VERSION="2025-11-25")
    assert response.status_code == 200 and response.json()["result"] == {}
