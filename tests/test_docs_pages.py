"""The pages a person opens first: the landing page at /, Swagger UI and Redoc. Each works
offline: in headless Chromium, every request the page makes goes to the instance it
came from (a request to another origin is recorded and aborted, so the test needs no
network and fails on the first one)."""

import re
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

from tests.browser import chromium_page


@pytest.mark.django_db
def test_the_landing_page_links_everything_and_names_the_contract_version(client):
    response = client.get("/", HTTP_HOST="localhost")
    assert response.status_code == 200 and response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    version = yaml.safe_load(settings.ENSEMBLE_SPEC_PATH.read_text())["info"]["version"]
    assert f'<strong id="version">{version}</strong>' in page
    links = set(re.findall(r'href="([^"]+)"', page))
    assert {"/docs", "/redoc", "/admin/", "/healthz", "/readyz", "/openapi.yml", "/openapi.json"} <= links
    # Nothing to load from anywhere: no script, no stylesheet or image file, no absolute URL.
    assert "<script" not in page and "<img" not in page and 'rel="stylesheet"' not in page
    assert not re.search(r'(?:href|src)="(?:https?:)?//', page)
    assert client.head("/", HTTP_HOST="localhost").status_code == 200


def test_the_landing_page_is_not_part_of_the_rest_contract():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    assert "/" not in paths and "/readyz" not in paths and "/healthz" not in paths
    assert "/services" in paths  # the generator did see the API


def _same_origin_requests(page, base_url: str, path: str) -> list[str]:
    """Open `path` and return every request URL that was not same-origin (aborted)."""
    origin = urlsplit(base_url)[:2]
    foreign = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith("blob:"):
            url = url[len("blob:"):]
        if urlsplit(url)[:2] == origin or url.startswith("data:"):
            request_route.continue_()
        else:
            foreign.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    # Requests the router may not see (service workers, the worker's own fetches) are caught here.
    page.on("request", lambda request: None if request.url.startswith(("data:", "blob:" + base_url, base_url))
            else foreign.append(request.url))
    page.goto(f"{base_url}{path}")
    page.wait_for_load_state("networkidle")
    return sorted(set(foreign))


@pytest.mark.browser
@pytest.mark.parametrize("path", ["/", "/docs", "/redoc"])
def test_the_pages_load_nothing_from_another_origin(running_server, path):
    with chromium_page() as page:
        foreign = _same_origin_requests(page, running_server.url, path)
        if path == "/redoc":
            # Redoc rendered the contract from this instance: every operation has its section.
            sections = page.evaluate("Array.from(document.querySelectorAll('[data-section-id^=\"operation/\"]'))"
                                     ".map(e => e.getAttribute('data-section-id'))")
            assert {"operation/listServices", "operation/handleUserInput", "operation/retrieveLogs"} <= set(sections)
        if path == "/docs":
            page.wait_for_selector("#operations-Service_Management-listServices")
    assert foreign == [], f"{path} requested other origins: {foreign}"
