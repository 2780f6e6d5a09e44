"""The first ten minutes, as a newcomer lives them: `scripts/run.sh` (what `make run`
starts) on free ports, every README block marked runnable run against it in a shell,
and Swagger UI's "Try it out" in headless Chromium against the same server.

A runnable block is a fenced `sh` block right after a `<!-- tested -->` line. An
optional `json` block right after it shows the expected output, one JSON value per
line: the block must print as many JSON values, each of that line's shape (see
`shape_errors`)."""

import html
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browser import chromium_page

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import typesense_server  # noqa: E402 - after sys.path names the scripts folder

# `make run` is SQLite whatever the suite's database: run once, on the SQLite pass of `make test`.
pytestmark = pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                reason="scripts/run.sh serves SQLite; checked on the SQLite pass")

MARKER = "<!-- tested -->"
README_BASE, README_DEMO = "http://127.0.0.1:8000", "127.0.0.1:8101"
DEV_API_KEY = "ensemble-dev-api-key"
# The environment a fresh terminal would have: none of the test session's settings.
SESSION_ONLY = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "TYPESENSE_URLS", "TYPESENSE_API_KEY", "ENSEMBLE_API_KEY",
                "ENSEMBLE_ADMIN_API_KEY", "ENSEMBLE_VAR_DIR", "TYPESENSE_COLLECTION_PREFIX", "PORT", "DEMO_PORT",
                "TYPESENSE_PORT", "TYPESENSE_DATA_DIR", "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")


@dataclass
class Block:
    line: int  # in README.md, for failure messages
    command: str
    expected: list[str] | None  # JSON lines, or None: any non-empty output


FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.DOTALL | re.MULTILINE)


def runnable_blocks(text: str) -> list[Block]:
    blocks = []
    for marker in re.finditer(re.escape(MARKER) + r"\n", text):
        fence = FENCE.match(text, marker.end())
        assert fence and fence.group(1) == "sh", f"README line {text.count(chr(10), 0, marker.start()) + 1}: " \
                                                 f"{MARKER} must be followed by a ```sh block"
        expected = FENCE.match(text, fence.end())
        lines = None
        if expected and expected.group(1) == "json":
            lines = [line for line in expected.group(2).splitlines() if line.strip()]
        blocks.append(Block(text.count("\n", 0, marker.start()) + 1, fence.group(2), lines))
    return blocks


def json_values(text: str) -> list:
    """The JSON values printed one after the other (curl adds no newline)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while (at := len(text) - len(text[at:].lstrip())) < len(text):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
    return values


def shape_errors(example, actual, where="$") -> list[str]:
    """How `actual` differs in shape from `example`: every key of an example object is
    present with a value of the same shape; every item of a list has the shape of the
    example's first item; a string ending in "…" is a prefix; other scalars need only
    the same JSON type."""
    if isinstance(example, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r:.80}"]
        errors = [f"{where}.{key}: missing" for key in example if key not in actual]
        for key in example.keys() & actual.keys():
            errors += shape_errors(example[key], actual[key], f"{where}.{key}")
        return errors
    if isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r:.80}"]
        if example and not actual:
            return [f"{where}: expected items, got an empty list"]
        if not example:
            return []
        return [e for i, item in enumerate(actual) for e in shape_errors(example[0], item, f"{where}[{i}]")]
    if isinstance(example, str) and example.endswith("…"):
        ok = isinstance(actual, str) and actual.startswith(example[:-1])
        return [] if ok else [f"{where}: expected a string starting {example[:-1]!r}, got {actual!r:.120}"]
    numbers = (int, float)
    if type(example) is not type(actual) and not (isinstance(example, numbers) and isinstance(actual, numbers)):
        return [f"{where}: expected {type(example).__name__}, got {actual!r:.80}"]
    return []


class MadeRun:
    def __init__(self, url, demo_port, var_dir, log_path):
        self.url, self.demo_port, self.var_dir, self.log_path = url, demo_port, var_dir, log_path

    def readme(self, command: str) -> str:
        """A README command aimed at this instance."""
        return command.replace(README_BASE, self.url).replace(README_DEMO, f"127.0.0.1:{self.demo_port}")


def _free_pair() -> int:
    """A free port whose successor is free too (Typesense peers on port + 1)."""
    import socket

    for _ in range(50):
        port = typesense_server.free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port pair")


@pytest.fixture(scope="module")
def made_run(tmp_path_factory):
    """scripts/run.sh exactly as `make run` calls it, moved to free ports and its own
    var folder (SQLite, its own Typesense, the demo services, the development keys)."""
    var_dir = tmp_path_factory.mktemp("made-run")
    port, demo_port, ts_port = typesense_server.free_port(), typesense_server.free_port(), _free_pair()
    env = {k: v for k, v in os.environ.items() if k not in SESSION_ONLY}
    env.update(PORT=str(port), DEMO_PORT=str(demo_port), TYPESENSE_PORT=str(ts_port), ENSEMBLE_VAR_DIR=str(var_dir))
    log_path = var_dir / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = MadeRun(f"http://127.0.0.1:{port}", demo_port, var_dir, log_path)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"run.sh exited:\n{log_path.read_text()}"
            try:
                # Ready as a person sees it: it answers, and run.sh printed its URLs and keys.
                if httpx.get(server.url + "/healthz", timeout=2).status_code == 200 and \
                        "Ctrl-C stops everything." in log_path.read_text():
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"run.sh's server did not answer:\n{log_path.read_text()}"
            time.sleep(0.3)
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # run.sh's trap stops its children and Typesense
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        typesense_server.stop(data_dir=var_dir / "typesense", timeout=10)


def test_run_sh_says_what_each_step_does(made_run):
    log = made_run.log_path.read_text()
    steps = ["==> Starting Typesense", "==> Migrating", "==> Storing the development API keys",
             "==> Starting the demo services", "==> Starting the Typesense sync worker", "Listening at"]
    positions = [log.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), log
    assert "character-service: 3 operations" in log and "X-API-KEY: ensemble-dev-api-key" in log


def test_readme_tour_runs_as_written(made_run, tmp_path):
    blocks = runnable_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 6, "the tour's blocks are no longer marked runnable"
    # The commands run from a folder whose var/ is the server's (var/admin-password.txt).
    (tmp_path / "var").symlink_to(made_run.var_dir)
    env = {k: v for k, v in os.environ.items() if k not in SESSION_ONLY}
    for block in blocks:
        result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", made_run.readme(block.command)], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=60, check=False)
        context = (f"README line {block.line}:\n{block.command}\n"
                   f"exit {result.returncode}\n{result.stdout}{result.stderr}")
        assert result.returncode == 0, context
        assert result.stdout.strip(), context
        if "admin-password" in block.command:
            check_admin_links(made_run, password=result.stdout.strip())
        if block.expected is None:
            continue
        try:
            values = json_values(result.stdout)
        except ValueError as error:
            pytest.fail(f"output is not JSON ({error})\n{context}")
        assert len(values) == len(block.expected), context
        for example, actual in zip(block.expected, values, strict=False):
            assert not shape_errors(json.loads(example), actual), (shape_errors(json.loads(example), actual), context)


def check_admin_links(made_run, password: str):
    """The tour's "see the same in the admin" step: with the password the README's
    command printed, every admin page the README links to opens, and the interaction
    log list shows the last three asks, as /logs does."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"<(" + re.escape(README_BASE) + r"/admin/[^>]*)>", readme)
    assert any("interactionlog" in link for link in links), links
    with httpx.Client(base_url=made_run.url) as browser:
        login = browser.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        answer = browser.post("/admin/login/?next=/admin/", data={
            "csrfmiddlewaretoken": token, "username": "admin", "password": password, "next": "/admin/"})
        assert answer.status_code == 302 and answer.headers["location"] == "/admin/", "admin login failed"
        for link in links:
            page = browser.get(made_run.readme(link))
            assert page.status_code == 200, link
            if "interactionlog" in link:
                logs = httpx.get(made_run.url + "/logs?limit=3", headers={"X-API-KEY": DEV_API_KEY}).json()["logs"]
                for log in logs:
                    assert html.escape(log["user_input"][:80]) in page.text, log["user_input"]


def test_docs_list_this_instance_first(made_run):
    spec = httpx.get(made_run.url + "/docs/openapi.json").json()
    urls = [server["url"] for server in spec["servers"]]
    assert urls[0] == made_run.url and "https://ensemble.fountain.coach" in urls[1:]
    # The contract itself is served unchanged.
    assert httpx.get(made_run.url + "/openapi.json").json()["servers"][0]["url"] == "https://ensemble.fountain.coach"
    for scheme, header in (("apiKeyAuth", "X-API-KEY"), ("adminApiKeyAuth", "X-ADMIN-API-KEY")):
        assert header in spec["components"]["securitySchemes"][scheme]["description"]


@pytest.mark.django_db
def test_docs_on_localhost_name_it_once(client):
    servers = client.get("/docs/openapi.json", HTTP_HOST="localhost:8000").json()["servers"]
    assert [s["url"] for s in servers] == [
        "http://localhost:8000", "https://ensemble.fountain.coach", "https://staging.ensemble.fountain.coach"]


def test_shape_check_catches_drift():
    assert not shape_errors({"a": [{"b": "x…"}]}, {"a": [{"b": "xyz", "c": 1}], "d": 2})
    assert shape_errors({"a": [{"b": "x…"}]}, {"a": [{"b": "yz"}]})
    assert shape_errors({"a": 1}, {"a": "1"}) and shape_errors({"a": []}, {}) and shape_errors({"a": [1]}, {"a": []})


@pytest.mark.browser
def test_swagger_try_it_out_lists_the_demo_services(made_run):
    with chromium_page() as page:
        page.goto(f"{made_run.url}/docs")
        # The instance the page came from is the server "Try it out" uses.
        assert page.locator(".servers select").input_value() == made_run.url
        page.click("button.authorize")
        dialog = page.locator(".auth-container", has=page.locator("h4 code", has_text=re.compile(r"^apiKeyAuth$")))
        assert "ensemble-dev-api-key" in dialog.inner_text()  # the dialog says which key goes here
        dialog.locator("input").fill(DEV_API_KEY)
        dialog.locator("button.authorize").click()
        page.click("button.btn-done")
        operation = page.locator("#operations-Service_Management-listServices")
        operation.locator(".opblock-summary").click()
        operation.locator("button.try-out__btn").click()
        operation.locator("button.execute").click()
        live = operation.locator(".live-responses-table tbody tr.response")
        live.locator(".response-col_status").wait_for()
        assert live.locator(".response-col_status").inner_text().strip() == "200"
        body = json.loads(live.locator(".response-col_description pre").first.inner_text())
    assert {"character-service", "action-service"} <= {service["id"] for service in body["services"]}
