"""The four registry operations, each success and each documented error, with bodies
validated against the contract."""

import pytest

from registry.models import Service, ServiceTag
from search.models import SyncEntry
from tests.conftest import service_payload
from tests.contract import assert_conforms, assert_error

pytestmark = pytest.mark.django_db


def register(client, **overrides):
    return client.post("/services/register", service_payload(**overrides), format="json")


def test_register_returns_201_and_the_service(client_admin):
    body = assert_conforms(register(client_admin), "registerService", 201)
    assert body == service_payload()
    assert Service.objects.get(pk="character-service").tag_list == ["core", "stable"]


def test_register_records_a_sync_entry_in_the_same_transaction(client_admin):
    register(client_admin)
    assert SyncEntry.objects.filter(index="services", object_id="character-service").exists()


def test_list_returns_services_ordered_by_id(client_admin, client_api):
    register(client_admin, id="b-service")
    register(client_admin, id="a-service", tags=[])
    body = assert_conforms(client_api.get("/services"), "listServices", 200)
    assert [s["id"] for s in body["services"]] == ["a-service", "b-service"]
    assert body["services"][0]["tags"] == []


def test_list_filter_with_several_tags_means_all_of_them(client_admin, client_api):
    register(client_admin, id="both", tags=["core", "stable"])
    register(client_admin, id="core-only", tags=["core"])
    register(client_admin, id="none", tags=[])
    ids = lambda r: [s["id"] for s in r.json()["services"]]  # noqa: E731 - a one-line local helper
    assert ids(client_api.get("/services?tags=core")) == ["both", "core-only"]
    assert ids(client_api.get("/services?tags=core&tags=stable")) == ["both"]
    assert ids(client_api.get("/services?tags=missing")) == []


def test_tags_keep_order_and_drop_repeats(client_admin):
    body = register(client_admin, tags=[" beta", "core", "beta"]).json()
    assert body["tags"] == ["beta", "core"]


def test_update_replaces_fields(client_admin):
    register(client_admin)
    response = client_admin.put(
        "/services/update/character-service", service_payload(name="Characters", tags=["core"]), format="json"
    )
    body = assert_conforms(response, "updateService", 200)
    assert body["name"] == "Characters" and body["tags"] == ["core"]
    service = Service.objects.get(pk="character-service")
    assert service.revision == 2 and service.tag_list == ["core"]


def test_update_without_tags_clears_them(client_admin):
    register(client_admin)
    payload = service_payload()
    del payload["tags"]
    body = client_admin.put("/services/update/character-service", payload, format="json").json()
    assert body["tags"] == []


def test_update_unknown_service_is_404(client_admin):
    response = client_admin.put("/services/update/nope", service_payload(id="nope"), format="json")
    assert_error(response, "updateService", 404, "SERVICE_NOT_FOUND")


def test_update_with_a_different_body_id_is_400_and_changes_nothing(client_admin):
    register(client_admin)
    response = client_admin.put("/services/update/character-service", service_payload(id="other", name="X"), format="json")
    assert_error(response, "updateService", 400, "SERVICE_ID_MISMATCH")
    assert Service.objects.get(pk="character-service").name == "Character Service"


def test_delete_returns_success_response(client_admin):
    register(client_admin)
    body = assert_conforms(client_admin.delete("/services/delete/character-service"), "deleteService", 200)
    assert "character-service" in body["message"]
    assert not Service.objects.exists() and not ServiceTag.objects.exists()
    assert SyncEntry.objects.filter(object_id="character-service").count() == 2  # register + delete


def test_delete_unknown_service_is_404(client_admin):
    assert_error(client_admin.delete("/services/delete/nope"), "deleteService", 404, "SERVICE_NOT_FOUND")


def test_duplicate_id_is_400(client_admin):
    register(client_admin)
    body = assert_error(register(client_admin, name="Again"), "registerService", 400, "SERVICE_ALREADY_EXISTS")
    assert "character-service" in body["message"]
    assert Service.objects.get().name == "Character Service"


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"id": "has space"}, "id"),
        ({"id": "slash/inside"}, "id"),
        ({"id": ".."}, "id"),
        ({"id": ""}, "id"),
        ({"id": "x" * 101}, "id"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 42}, "name"),
        ({"openapi_url": "ftp://example.com/spec.yml"}, "openapi_url"),
        ({"openapi_url": "not a url"}, "openapi_url"),
        ({"openapi_url": "http://user:pw@example.com/spec"}, "openapi_url"),
        ({"openapi_url": "https://\u00cf.example/spec"}, "openapi_url"),
        ({"openapi_url": "https://example.com/a b"}, "openapi_url"),
        ({"openapi_url": "http://[/spec"}, "openapi_url"),
        ({"tags": ["ok", 7]}, "tags"),
        ({"tags": "core"}, "tags"),
        ({"tags": ["a,b"]}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"description": None}, "description"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_invalid_registration_is_a_clear_400_and_stores_nothing(client_admin, overrides, field):
    body = assert_error(register(client_admin, **overrides), "registerService", 400, "VALIDATION_ERROR")
    assert field in body["message"] + body["details"], body
    assert not Service.objects.exists()
    assert not SyncEntry.objects.exists()


@pytest.mark.parametrize("missing", ["id", "name", "description", "openapi_url"])
def test_missing_required_field_is_400(client_admin, missing):
    payload = service_payload()
    del payload[missing]
    body = assert_error(client_admin.post("/services/register", payload, format="json"), "registerService", 400)
    assert missing in body["details"]


def test_body_that_is_not_an_object_is_400(client_admin):
    assert_error(client_admin.post("/services/register", [1, 2], format="json"), "registerService", 400)


def test_ids_are_case_sensitive_and_url_safe_characters_work(client_admin, client_api):
    assert register(client_admin, id="Svc_1.v2~x").status_code == 201
    assert client_admin.delete("/services/delete/Svc_1.v2~x").status_code == 200


def test_nul_characters_are_refused_or_match_nothing(client_admin, client_api):
    register(client_admin)
    assert_error(register(client_admin, id="x", name="a\x00b"), "registerService", 400)
    assert client_api.get("/services", {"tags": "co\x00re"}).json() == {"services": []}
    body = assert_error(client_api.get("/system-prompt", {"service_ids": "a\x00"}), "generateSystemPrompt", 400)
    assert body["errorCode"] == "UNKNOWN_SERVICE_IDS"
