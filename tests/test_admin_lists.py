"""Issue 13: the admin's service and log lists run the same number of queries whatever
the number of rows (the sync state is part of the page's query), and the log list never
counts the whole table."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from interactions.models import InteractionLog
from registry import services
from registry.search_index import SERVICES_INDEX
from search.models import SyncEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def _page(client, url) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), [q["sql"] for q in captured.captured_queries]


def _register(first, last):
    for i in range(first, last):
        services.service_register(id=f"svc-{i:03d}", name=f"S{i}", description="", openapi_url="http://s.example/o.json",
                                  tags=["a", f"t{i}"])


def test_the_service_list_runs_constant_queries_and_shows_the_sync_state(admin_client):
    _register(0, 3)
    _, few = _page(admin_client, "/admin/registry/service/")
    _register(3, 40)
    SyncEntry.objects.filter(index=SERVICES_INDEX.name, object_id="svc-001").update(attempts=3, last_error="boom")
    SyncEntry.objects.filter(index=SERVICES_INDEX.name, object_id="svc-002").delete()
    page, many = _page(admin_client, "/admin/registry/service/")
    assert len(many) == len(few), many
    assert "pending, 3 failed attempt(s)" in page and "in sync" in page and ">pending<" in page


def test_the_log_list_runs_constant_queries_and_counts_at_most_a_capped_number(admin_client):
    def add(count):
        InteractionLog.objects.bulk_create([
            InteractionLog(created_at=timezone.now(), user_input=f"input {i}", backend="local", outcome="answered")
            for i in range(count)
        ])

    add(3)
    _, few = _page(admin_client, "/admin/interactions/interactionlog/")
    add(150)
    page, many = _page(admin_client, "/admin/interactions/interactionlog/?backend=local&outcome=answered")
    assert len(many) == len(few), many
    counts = [sql for sql in many if "COUNT(" in sql.upper()]
    assert counts and all("LIMIT" in sql.upper() for sql in counts), counts
    assert "DISTINCT" not in " ".join(many).upper()  # no filter asks the table for its values
    assert "input 149" in page or "input 0" in page
