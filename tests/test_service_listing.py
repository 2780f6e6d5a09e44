"""Issue 13: GET /services is rendered from rows and kept per registry revision. The bytes
are exactly what the serializer and DRF's renderer gave; ETag / If-None-Match answer 304;
a write through the API, the admin or a command is seen by the very next read on every
gunicorn worker."""

import re

import httpx
import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from apikeys.ratelimit import rate_limit_forget
from registry import selectors, services
from registry.api import ServiceListSerializer, ServiceViewSet, with_listing_shortcut

pytestmark = pytest.mark.django_db

TRICKY = "Ünïcode ✓ \u2028 line\u2029sep \"quotes\" \\ back\tslash\n\x01 </script> 🎉"


def _serializer_bytes(tags=None) -> bytes:
    return JSONRenderer().render(ServiceListSerializer({"services": selectors.service_list(tags=tags)}).data)


def test_the_body_is_byte_for_byte_what_the_serializer_rendered(client_api):
    assert client_api.get("/services").content == _serializer_bytes() == b'{"services":[]}'
    services.service_register(id="b-svc", name=TRICKY, description=TRICKY, openapi_url="http://b.example/o.json",
                              tags=["zeta", "alpha", TRICKY[:40].replace(",", "")])
    services.service_register(id="a-svc", name="A", description="", openapi_url="http://a.example/o.json", tags=[])
    services.service_register(id="c-svc", name="C", description="c", openapi_url="http://c.example/o.json",
                              tags=["alpha"])
    for tags in (None, ["alpha"], ["alpha", "zeta"], [" alpha ", "alpha"], ["none"], ["a\x00"]):
        query = "&".join(f"tags={t}" for t in tags or [])
        response = client_api.get("/services?" + query if tags else "/services")
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        assert response.content == _serializer_bytes(tags), tags


def test_etag_answers_304_until_the_registry_moves(client_api):
    services.service_register(id="svc", name="S", description="", openapi_url="http://s.example/o.json", tags=["x"])
    first = client_api.get("/services")
    etag = first["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{24}"', etag)
    not_modified = client_api.get("/services", HTTP_IF_NONE_MATCH=f'"other", W/{etag}')
    assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified["ETag"] == etag
    assert client_api.get("/services?tags=y", HTTP_IF_NONE_MATCH=etag).status_code == 200  # another body
    services.service_update(service_id="svc", name="S2", description="", openapi_url="http://s.example/o.json")
    changed = client_api.get("/services", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag and b'"S2"' in changed.content


def _ids(server) -> list[str]:
    # A new connection for every request, so the two workers both answer.
    response = httpx.get(f"{server.url}/services", headers={"X-API-KEY": server.api_key, "Connection": "close"})
    assert response.status_code == 200
    return [s["id"] for s in response.json()["services"]]


def _all_reads_show(server, present: str | None = None, absent: str | None = None):
    for _ in range(8):
        ids = _ids(server)
        assert present is None or present in ids
        assert absent is None or absent not in ids


@pytest.mark.django_db(transaction=False)
def test_a_write_through_each_path_is_seen_by_the_next_read_on_every_worker(running_server):
    server = running_server
    admin = {"X-ADMIN-API-KEY": server.admin_key, "Connection": "close"}
    _all_reads_show(server, absent="listing-api")  # both workers now hold the current body

    # The API.
    payload = {"id": "listing-api", "name": "Listing", "description": "", "openapi_url": "http://l.example/o.json"}
    assert httpx.post(f"{server.url}/services/register", json=payload, headers=admin).status_code == 201
    _all_reads_show(server, present="listing-api")
    assert httpx.delete(f"{server.url}/services/delete/listing-api", headers=admin).status_code == 200
    _all_reads_show(server, absent="listing-api")

    # A command (seed_demo registers the demo services).
    server.manage("seed_demo", "--base-url", "http://127.0.0.1:9")
    _all_reads_show(server, present="character-service")

    # The admin, through its login and CSRF-protected form.
    server.manage("shell", "-c", (
        "from django.contrib.auth.models import User as U; "
        "U.objects.filter(username='lister').exists() or U.objects.create_superuser('lister', 'l@example.com', 'lister-pass-123')"
    ))
    with httpx.Client(base_url=server.url, headers={"Connection": "close"}) as browser:
        login = browser.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        response = browser.post("/admin/login/?next=/admin/", data={
            "csrfmiddlewaretoken": token, "username": "lister", "password": "lister-pass-123"})
        assert response.status_code == 302
        form = browser.get("/admin/registry/service/add/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        response = browser.post("/admin/registry/service/add/", data={
            "csrfmiddlewaretoken": token, "id": "listing-admin", "name": "From the admin", "description": "",
            "openapi_url": "http://a.example/o.json", "tags": "admin-made"})
        assert response.status_code == 302, response.text[:2000]
    _all_reads_show(server, present="listing-admin")
    tagged = httpx.get(f"{server.url}/services?tags=admin-made", headers={"X-API-KEY": server.api_key}).json()
    assert [s["id"] for s in tagged["services"]] == ["listing-admin"]
    for service_id in ("listing-admin", "character-service", "action-service"):  # the server is shared
        assert httpx.delete(f"{server.url}/services/delete/{service_id}", headers=admin).status_code == 200
    _all_reads_show(server, absent="listing-admin")


def _explode(*args, **kwargs):
    raise AssertionError("DRF's view was reached")


def test_a_plain_read_is_one_statement_and_skips_drf(settings, client_api, monkeypatch):
    """The common read (a key, no query string, an Accept header seen before) is answered
    before DRF's machinery, from one statement: the key, the address's failed
    authentications and the registry's revision."""
    settings.ENSEMBLE_THROTTLE_RATE, settings.ENSEMBLE_AUTH_FAILURE_RATE = "1200/minute", "20/minute"
    services.service_register(id="svc", name="S", description="", openapi_url="http://s.example/o.json", tags=["x"])
    for _ in range(2):  # DRF negotiates this Accept header once; a throttle slice and the key's last use are written
        assert client_api.get("/services").status_code == 200
    monkeypatch.setattr(ServiceViewSet, "list", _explode)
    with CaptureQueriesContext(connection) as captured:
        response = client_api.get("/services")
    assert response.status_code == 200 and response.content == _serializer_bytes()
    assert response["Allow"] == "GET, HEAD, OPTIONS" and response["Content-Type"] == "application/json"
    [query] = [q["sql"] for q in captured.captured_queries]
    assert "apikeys_apikey" in query and "apikeys_ratelimitcounter" in query and "registry_registryrevision" in query
    # A write moves the revision: the very next read (the shortcut again) shows it.
    services.service_register(id="svc-2", name="T", description="", openapi_url="http://t.example/o.json", tags=[])
    assert [s["id"] for s in client_api.get("/services").json()["services"]] == ["svc", "svc-2"]


def _answer(view, method="get", path="/services", **headers):
    request = getattr(RequestFactory(), method)(path, **headers)
    response = view(request)
    if hasattr(response, "render"):
        response.render()
    return response.status_code, response.content, dict(response.items())


@pytest.mark.parametrize("method,path,headers,shortcut", [
    ("get", "/services", {}, True),
    ("head", "/services", {}, True),
    ("get", "/services", {"HTTP_ACCEPT": "application/json"}, True),
    ("get", "/services", {"HTTP_ACCEPT": "text/html, */*;q=0.1"}, True),
    ("get", "/services", {"HTTP_IF_NONE_MATCH": "*"}, True),
    ("get", "/services", {"HTTP_ACCEPT": "text/html"}, False),  # 406
    ("get", "/services?tags=x", {}, False),
    ("get", "/services", {"no key": True}, False),  # 401
    ("get", "/services", {"HTTP_X_API_KEY": "ens_not_a_real_key_0123456789"}, False),  # 401
    ("post", "/services", {}, False),  # 405
    ("options", "/services", {}, False),
])
def test_the_shortcut_answers_exactly_as_drf_does(api_keys, monkeypatch, method, path, headers, shortcut):
    services.service_register(id="svc", name="S", description="", openapi_url="http://s.example/o.json", tags=["x"])
    headers = dict(headers)
    if not headers.pop("no key", False):
        headers.setdefault("HTTP_X_API_KEY", api_keys["api"])
    through_drf = ServiceViewSet.as_view({"get": "list"})
    with_shortcut = with_listing_shortcut(ServiceViewSet.as_view({"get": "list"}))
    expected = _answer(through_drf, method, path, **headers)  # (DRF negotiates this Accept header)
    if shortcut:
        monkeypatch.setattr(ServiceViewSet, "list", _explode)
    assert _answer(with_shortcut, method, path, **headers) == expected


def test_the_shortcut_leaves_refusals_to_drf(settings, api_keys):
    """A throttled key, and an address past its failed authentications, get DRF's 429 (the
    shortcut reads, DRF counts: each failure once)."""
    with_shortcut = with_listing_shortcut(ServiceViewSet.as_view({"get": "list"}))
    settings.ENSEMBLE_AUTH_FAILURE_RATE = "3/minute"
    for _ in range(3):
        assert _answer(with_shortcut, HTTP_X_API_KEY="ens_not_a_real_key_0123456789")[0] == 401
    status_code, body, headers = _answer(with_shortcut, HTTP_X_API_KEY=api_keys["api"])
    assert status_code == 429 and b"failed authentications" in body and "Retry-After" in headers
    settings.ENSEMBLE_AUTH_FAILURE_RATE, settings.ENSEMBLE_THROTTLE_RATE = None, "2/minute"
    rate_limit_forget()
    assert [_answer(with_shortcut, HTTP_X_API_KEY=api_keys["api"])[0] for _ in range(3)] == [200, 200, 429]
