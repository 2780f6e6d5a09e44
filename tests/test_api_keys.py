"""API keys: hashed at rest, checked per header, revocable at once."""

import io

import pytest
from django.core.management import call_command

from apikeys.models import ApiKey, digest_of
from apikeys.services import api_key_create, api_key_revoke, api_keys_bootstrap_from_settings
from tests.conftest import service_payload
from tests.contract import assert_error

pytestmark = pytest.mark.django_db


def test_keys_are_stored_hashed(api_keys):
    raw = api_keys["api"]
    stored = ApiKey.objects.get(is_admin=False)
    assert stored.digest == digest_of(raw)
    values = [str(v) for v in ApiKey.objects.values_list("name", "prefix", "digest")]
    assert not any(raw in v for v in values)
    assert len(stored.prefix) < len(raw)


@pytest.mark.parametrize(
    "path, method, operation_id",
    [
        ("/services", "get", "listServices"),
        ("/system-prompt?service_ids=a", "get", "generateSystemPrompt"),
        ("/interact", "post", "handleUserInput"),
        ("/logs", "get", "retrieveLogs"),
    ],
)
def test_normal_operations_need_a_valid_key(client, api_keys, path, method, operation_id):
    missing = getattr(client, method)(path, content_type="application/json")
    assert_error(missing, operation_id, 401, "UNAUTHORIZED")
    wrong = getattr(client, method)(path, content_type="application/json", HTTP_X_API_KEY="ens_wrong_key_that_is_long_enough")
    assert_error(wrong, operation_id, 401, "UNAUTHORIZED")


def test_admin_key_works_as_normal_key(client, api_keys):
    assert client.get("/services", HTTP_X_API_KEY=api_keys["admin"]).status_code == 200


@pytest.mark.parametrize(
    "method, path, operation_id",
    [
        ("post", "/services/register", "registerService"),
        ("put", "/services/update/character-service", "updateService"),
        ("delete", "/services/delete/character-service", "deleteService"),
    ],
)
def test_admin_operations_refuse_missing_wrong_and_normal_keys(client, api_keys, method, path, operation_id):
    call = lambda **headers: getattr(client, method)(path, service_payload(), content_type="application/json", **headers)  # noqa: E731 - a one-line local helper
    assert_error(call(), operation_id, 401, "UNAUTHORIZED")
    # A normal key in either header is not enough.
    assert_error(call(HTTP_X_API_KEY=api_keys["api"]), operation_id, 401)
    assert_error(call(HTTP_X_ADMIN_API_KEY=api_keys["api"]), operation_id, 401)
    assert_error(call(HTTP_X_ADMIN_API_KEY="ens_not_a_real_admin_key_123"), operation_id, 401)


def test_revoked_key_stops_working_at_once(client, api_keys):
    assert client.get("/services", HTTP_X_API_KEY=api_keys["api"]).status_code == 200
    api_key_revoke(key=ApiKey.objects.get(is_admin=False))
    assert_error(client.get("/services", HTTP_X_API_KEY=api_keys["api"]), "listServices", 401)


def test_last_used_is_recorded(client, api_keys):
    client.get("/services", HTTP_X_API_KEY=api_keys["api"])
    assert ApiKey.objects.get(is_admin=False).last_used_at is not None


def test_management_command_creates_lists_and_revokes(client):
    out = io.StringIO()
    call_command("apikey", "create", "--name", "cli", "--admin", stdout=out, stderr=io.StringIO())
    raw = out.getvalue().strip()
    assert client.post("/services/register", service_payload(), content_type="application/json",
                       HTTP_X_ADMIN_API_KEY=raw).status_code == 201
    listing = io.StringIO()
    call_command("apikey", "list", stdout=listing)
    line = listing.getvalue().strip()
    key = ApiKey.objects.get(name="cli")
    assert line.startswith(f"{key.pk}\t{raw[:12]}\tadmin\tactive\t") and line.endswith("\tcli") and raw not in line
    call_command("apikey", "revoke", raw[:12], stdout=io.StringIO())
    assert client.get("/services", HTTP_X_API_KEY=raw).status_code == 401


def test_bootstrap_from_environment_is_idempotent(settings, client):
    settings.ENSEMBLE_API_KEY = "dev-api-key-0123456789"
    settings.ENSEMBLE_ADMIN_API_KEY = "dev-admin-key-0123456789"
    assert len(api_keys_bootstrap_from_settings()) == 2
    assert api_keys_bootstrap_from_settings() == []
    assert ApiKey.objects.count() == 2
    assert client.get("/services", HTTP_X_API_KEY="dev-api-key-0123456789").status_code == 200


def test_short_keys_are_refused():
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError):
        api_key_create(name="weak", is_admin=False, raw_key="short")


def _apikey(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("apikey", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_the_two_development_keys_can_each_be_rotated_and_revoked(settings, client):
    """They share the prefix `ensemble-dev`: that prefix lists both with their ids, and an
    id or a name picks one."""
    from django.core.management.base import CommandError

    settings.ENSEMBLE_API_KEY, settings.ENSEMBLE_ADMIN_API_KEY = "ensemble-dev-api-key", "ensemble-dev-admin-key"
    api_keys_bootstrap_from_settings()
    normal, admin = ApiKey.objects.get(is_admin=False), ApiKey.objects.get(is_admin=True)
    with pytest.raises(CommandError) as ambiguous:
        _apikey("rotate", "ensemble-dev")
    message = str(ambiguous.value)
    assert message.startswith("2 keys match 'ensemble-dev'; name one by its id")
    assert f"{normal.pk}\tensemble-dev\tapi\tactive\tnever used\tbootstrap: ENSEMBLE_API_KEY" in message
    assert f"{admin.pk}\tensemble-dev\tadmin\tactive\tnever used\tbootstrap: ENSEMBLE_ADMIN_API_KEY" in message
    assert ApiKey.objects.count() == 2  # nothing was rotated

    new_admin, said = _apikey("rotate", str(admin.pk), "--grace-hours", "0")
    assert "stops working at" in said
    assert client.get("/services", HTTP_X_API_KEY="ensemble-dev-admin-key").status_code == 401  # no grace
    assert client.post("/services/register", service_payload(), content_type="application/json",
                       HTTP_X_ADMIN_API_KEY=new_admin).status_code == 201
    assert ApiKey.objects.get(prefix=new_admin[:12]).name == "bootstrap: ENSEMBLE_ADMIN_API_KEY"

    # By name: the normal key's name is unique; the admin key's now names two keys.
    _apikey("revoke", "bootstrap: ENSEMBLE_API_KEY")
    assert client.get("/services", HTTP_X_API_KEY="ensemble-dev-api-key").status_code == 401
    with pytest.raises(CommandError, match="2 keys match 'bootstrap: ENSEMBLE_ADMIN_API_KEY'"):
        _apikey("revoke", "bootstrap: ENSEMBLE_ADMIN_API_KEY")


def test_key_selection_errors_are_clear():
    from django.core.management.base import CommandError

    key, raw = api_key_create(name="ci", is_admin=False)
    with pytest.raises(CommandError, match="No key has the id, prefix or name 'ens_nothing'"):
        _apikey("revoke", "ens_nothing")
    _apikey("revoke", raw[:12])  # a unique prefix still names its key
    with pytest.raises(CommandError, match="is revoked; create a new key instead"):
        _apikey("rotate", str(key.pk))
