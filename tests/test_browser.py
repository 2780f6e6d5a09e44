"""An admin in a real browser (headless Chromium driven by Playwright) manages the
registry, and every change shows through GET /services."""

import httpx
import pytest

from tests.browser import log_in

pytestmark = pytest.mark.browser

def listed(server) -> dict:
    response = httpx.get(f"{server.url}/services", headers={"X-API-KEY": server.api_key})
    assert response.status_code == 200
    return {s["id"]: s for s in response.json()["services"]}


def test_admin_adds_edits_and_deletes_a_service(running_server, page):
    url = running_server.url
    log_in(page, url, "browser", "browser-test-password")

    # Add, with tags; a bad id first shows the same rule as the API.
    page.goto(f"{url}/admin/registry/service/add/")
    page.fill("#id_id", "bad id")
    page.fill("#id_name", "Browser Service")
    page.fill("#id_openapi_url", "http://127.0.0.1:9/browser.yml")
    page.click("input[name=_save]")
    assert "URL-safe" in page.inner_text(".errorlist")
    page.fill("#id_id", "browser-service")
    page.fill("#id_description", "Added in a browser")
    page.fill("#id_tags", "core, browser, core")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    service = listed(running_server)["browser-service"]
    assert service["name"] == "Browser Service" and service["tags"] == ["core", "browser"]

    # The change list filters by tag.
    page.goto(f"{url}/admin/registry/service/?tag=browser")
    assert "browser-service" in page.inner_text("#result_list")

    # Edit.
    page.goto(f"{url}/admin/registry/service/browser-service/change/")
    page.fill("#id_name", "Renamed in a browser")
    page.fill("#id_tags", "stable")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    service = listed(running_server)["browser-service"]
    assert service["name"] == "Renamed in a browser" and service["tags"] == ["stable"]

    # Delete.
    page.goto(f"{url}/admin/registry/service/browser-service/delete/")
    page.click("input[type=submit]")
    page.wait_for_selector(".messagelist")
    assert "browser-service" not in listed(running_server)


def test_admin_pages_need_a_login(running_server, page):
    page.goto(f"{running_server.url}/admin/registry/service/")
    assert "/admin/login/" in page.url
