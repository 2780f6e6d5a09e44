"""Every error body is the contract's ErrorResponse, whatever raised it."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.conftest import service_payload
from tests.contract import assert_error

pytestmark = pytest.mark.django_db


def test_unknown_path_is_404_error_response(client_api):
    body = assert_error(client_api.get("/no/such/thing"), None, 404, "NOT_FOUND")
    assert "/no/such/thing" in body["message"]


def test_trailing_slash_is_not_silently_redirected(client_api):
    assert_error(client_api.get("/services/"), None, 404)


def test_wrong_method_is_405(client_admin):
    body = assert_error(client_admin.get("/services/register"), None, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in body["message"]


def test_non_json_body_is_415(client_admin):
    response = client_admin.post("/services/register", "id=x", content_type="application/x-www-form-urlencoded")
    assert_error(response, None, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_malformed_json_is_400(client_admin):
    response = client_admin.post("/services/register", '{"id": "x",', content_type="application/json")
    assert_error(response, "registerService", 400, "MALFORMED_REQUEST")


def test_nan_is_not_json(client_admin):
    response = client_admin.post("/services/register", '{"id": NaN}', content_type="application/json")
    assert_error(response, "registerService", 400)


@override_settings(ENSEMBLE_MAX_BODY_BYTES=4096)
def test_oversized_body_is_400_and_stores_nothing(client_admin):
    from registry.models import Service

    response = client_admin.post("/services/register", service_payload(description="x" * 5000), format="json")
    assert_error(response, "registerService", 400, "PAYLOAD_TOO_LARGE")
    assert not Service.objects.exists()


def test_throttled_requests_get_429_error_response(api_keys, settings):
    settings.ENSEMBLE_THROTTLE_RATE = "3/minute"
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_keys["api"])
    statuses = [client.get("/services").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/services")
    body = assert_error(response, "listServices", 429, "RATE_LIMITED")
    assert "Retry after" in body["details"] and int(response["Retry-After"]) > 0


def test_unexpected_exception_is_500_error_response(client_api, monkeypatch):
    from registry import api

    def explode(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api.selectors, "service_list_body", explode)
    body = assert_error(client_api.get("/services"), "listServices", 500, "INTERNAL_ERROR")
    assert "secret internals" not in str(body)


def test_crash_outside_drf_is_json_500(client):
    from core.errors import handler500

    response = handler500(None)
    assert response.status_code == 500 and b"INTERNAL_ERROR" in response.content
