"""The admin fits a 1280-1400 px screen (both sidebars open), in headless Chromium against
gunicorn, with realistic data: a service with a long OpenAPI URL and twenty tags whose spec
has long paths, long summaries and two security schemes, a log entry with four calls (long
URLs, JSON answers of several KB) and approvals. On every page each table's container is
as wide as its content (scrollWidth against clientWidth), so nothing needs a horizontal
scroll bar, and the page itself is no wider than the window.

Screenshots go to test-artifacts/admin-layout/ (not committed), or to ENSEMBLE_ADMIN_SHOTS."""

import json
import os
from pathlib import Path

import httpx
import pytest

from tests.admin_layout_fixtures import TAGS, LayoutService
from tests.browser import chromium_page, ensure_superuser, log_in
from tests.control_fixtures import SceneService

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("ENSEMBLE_ADMIN_SHOTS") or ROOT / "test-artifacts" / "admin-layout")
WIDTHS = (1280, 1400)

# Every table and JSON block in the page's content, with the element that holds it; and
# the page itself. `over` lists what is wider than its container.
MEASURE = """() => {
  const over = [], seen = [];
  for (const element of document.querySelectorAll('#content table, #content pre')) {
    const box = element.parentElement;
    const name = (element.id || element.className || element.tagName) + ' in ' + (box.id || box.className || box.tagName);
    seen.push(name);
    if (box.scrollWidth > box.clientWidth + 1 || element.scrollWidth > element.clientWidth + 1)
      over.push({name, content: element.scrollWidth, container: box.clientWidth, containerContent: box.scrollWidth});
  }
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth + 1) over.push({name: 'the page', content: page.scrollWidth, container: page.clientWidth});
  return {over, seen};
}"""


@pytest.fixture(scope="module")
def layout(running_server):
    spec_server, plain = LayoutService(), SceneService()
    port = spec_server.httpd.server_address[1]
    service_id, plain_id = f"screenplay-layout-and-rendering-{port}", f"plain-scenes-{port}"
    headers = {"X-API-KEY": running_server.api_key, "X-ADMIN-API-KEY": running_server.admin_key}
    for sid, name, url, tags in ((service_id, "Screenplay Layout and Rendering Service", spec_server.spec_url, TAGS),
                                 (plain_id, "Plain Scene Service", plain.spec_url, ["demo"])):
        response = httpx.post(f"{running_server.url}/services/register", headers=headers, json={
            "id": sid, "name": name, "openapi_url": url, "tags": tags,
            "description": "Lays out and renders the screenplays of the writers' room, scene by scene. " * 4,
        })
        assert response.status_code == 201, response.text
        prompt = httpx.get(f"{running_server.url}/system-prompt", params={"service_ids": sid}, headers=headers, timeout=30)
        assert prompt.status_code == 200, prompt.text  # fetches the spec
    running_server.manage("service_credential", "set", service_id, "apiKeyAuth", "--value-env", "LAYOUT_KEY",
                          env={"LAYOUT_KEY": "layout-test-secret-0123456789"})
    output = running_server.manage("shell", "-c", (
        f"import json; from tests.admin_layout_fixtures import seed; print(json.dumps(seed({service_id!r})))")).stdout
    ids = json.loads(output.strip().splitlines()[-1])
    running_server.manage("typesense_sync", "--once")  # for the list's search
    ensure_superuser(running_server, "layout", "layout-test-password")
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield {**ids, "service": service_id, "plain": plain_id}
    running_server.manage("shell", "-c", f"from tests.admin_layout_fixtures import unseed; unseed({ids!r})")
    for sid in (service_id, plain_id):
        httpx.delete(f"{running_server.url}/services/delete/{sid}", headers=headers)
    spec_server.close()
    plain.close()


@pytest.fixture(scope="module", params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def screen(request, running_server, layout):
    width = request.param
    with chromium_page(viewport={"width": width, "height": 900}) as page:
        log_in(page, running_server.url, "layout", "layout-test-password")
        page.width = width
        yield page


def open_page(page, server, path, shot):
    page.goto(f"{server.url}{path}")
    page.screenshot(path=str(SHOTS / f"{shot}-{page.width}.png"), full_page=True)
    measured = page.evaluate(MEASURE)
    assert measured["seen"], f"no table on {path}"
    assert measured["over"] == [], f"{path} at {page.width} px: wider than its panel: {measured['over']}"
    return measured


def right_edge(page, selector) -> float:
    box = page.locator(selector).first.bounding_box()
    return box["x"] + box["width"]


def test_the_service_list_fits_with_its_sync_and_spec_columns_on_screen(running_server, layout, screen):
    open_page(screen, running_server, "/admin/registry/service/", "service-list")
    results = right_edge(screen, "#changelist-form .results")
    for column in ("th.column-sync_state", "th.column-spec_column"):
        assert right_edge(screen, column) <= results + 1 <= screen.width, column
    row = screen.locator("#result_list tr", has_text=layout["service"])
    assert "+17 more" in row.inner_text()  # three of twenty tags, all of them in the tooltip
    assert ", ".join(TAGS) == row.locator(".tag[title]").get_attribute("title")
    url = row.locator(".url")
    assert url.get_attribute("title").startswith("http://127.0.0.1:") and "…" in url.inner_text()
    # A search through Typesense adds a column of highlighted matches: it fits too.
    open_page(screen, running_server, "/admin/registry/service/?q=screenplay+rendering", "service-search")
    assert screen.locator("#result_list td.field-match mark").count() >= 1


def test_a_service_page_with_operations_and_credentials_fits(running_server, layout, screen):
    open_page(screen, running_server, f"/admin/registry/service/{layout['service']}/change/", "service-page")
    assert screen.locator("#operations-panel tr.operation").count() == 8
    credentials = screen.locator("#credentials-group")
    assert "apiKeyAuth" in credentials.inner_text() and "X-Screenplay-Service-Key header" in credentials.inner_text()
    assert " of " + layout["service"] not in credentials.inner_text()  # no caption above each row
    # The rows are the spec's schemes, one each: Django's inline script builds its add link
    # hidden, and it stays hidden.
    assert credentials.locator(".add-row >> visible=true").count() == 0
    open_page(screen, running_server, f"/admin/control/services/{layout['service']}/operations/", "operations-page")
    # A spec without security schemes: a note, no empty table to add rows to.
    open_page(screen, running_server, f"/admin/registry/service/{layout['plain']}/change/", "service-page-no-schemes")
    assert "declares no security scheme" in screen.inner_text("#credentials-group")
    assert screen.locator("#credentials-group table").count() == 0


def test_a_log_entry_with_several_calls_fits(running_server, layout, screen):
    open_page(screen, running_server, f"/admin/interactions/interactionlog/{layout['log']}/change/", "log-entry")
    calls = screen.locator("#calls-group tr.has_original")
    assert calls.count() == 4
    answer = calls.first.locator(".field-response_column pre.json-block")
    assert answer.inner_text().startswith('{\n  "items": [')  # pretty-printed, not an escaped string
    open_page(screen, running_server, "/admin/interactions/interactionlog/", "log-list")


def test_the_approvals_fit(running_server, layout, screen):
    open_page(screen, running_server, "/admin/control/approvals/", "approvals")
    row = screen.locator(f"#pending-approvals tr[data-reference='{layout['pending_reference']}']")
    assert "replace Margaret's second line" in row.locator(".request").inner_text()
    assert json.loads(row.locator(".arguments pre").inner_text())["lineId"] == "line-2-1"
    open_page(screen, running_server, "/admin/interactions/pendingapproval/", "approval-list")
    open_page(screen, running_server, "/admin/", "index")
