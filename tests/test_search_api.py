"""Full-text search of the Typesense mirror through the API (issue 20), against a real
Typesense: GET /logs?q=&service_id= and GET /services?q=."""

import pytest

from interactions.models import InteractionLog, ServiceCall
from registry import services
from search.worker import Worker
from tests.conftest import service_payload
from tests.contract import assert_conforms, assert_error

pytestmark = pytest.mark.django_db(transaction=True)


def log(text, *, answer="Done.", service=None, response="ok", outcome="answered"):
    entry = InteractionLog.objects.create(
        user_input=text, assistant_response=answer, backend="local", outcome=outcome,
        service_responses=[{"service_name": service.title(), "response": response}] if service else [],
    )
    if service:
        ServiceCall.objects.create(log=entry, position=0, service_id=service, service_name=service.title(), operation_id="op")
    return entry


def inputs(response) -> list[str]:
    return [entry["user_input"] for entry in assert_conforms(response, "retrieveLogs")["logs"]]


def test_logs_search_ranks_a_misspelled_word_filters_by_service_and_never_shows_deleted_rows(clean_typesense, client_api, typesense):
    for i in range(20):
        log(f"list the characters of scene {i}", service="character-service")
    wanted = log("Where does Juliet wait for Romeo?", answer="On the balcony.", service="character-service")
    log("Summarise the play", answer="Juliet and Romeo meet.", service="sequence-service")
    log("Count the sequences", service="sequence-service", response="the sequence about the masked ball")
    log("Who is Julius?", outcome="assistant_failed")
    assert Worker().drain().delivered == 24

    response = client_api.get("/logs", {"q": "Julliet"})
    assert inputs(response)[0] == wanted.user_input  # the user asked it: ranks above an answer's mention
    assert set(inputs(response)) >= {"Where does Juliet wait for Romeo?", "Summarise the play"}
    assert response["X-Search-Backlog"] == "0"
    # Service responses are searched too; service_id keeps the logs that called the service.
    assert inputs(client_api.get("/logs", {"q": "masked bal"})) == ["Count the sequences"]
    assert inputs(client_api.get("/logs", {"service_id": "sequence-service"})) == ["Count the sequences", "Summarise the play"]
    assert inputs(client_api.get("/logs", {"q": "juliet", "service_id": "sequence-service"})) == ["Summarise the play"]
    assert inputs(client_api.get("/logs", {"service_id": "nobody`s"})) == []
    # Paging walks the same ranked list.
    ranked = inputs(client_api.get("/logs", {"q": "scene", "limit": 30}))
    assert len(ranked) == 20
    assert inputs(client_api.get("/logs", {"q": "scene", "limit": 7, "offset": 7})) == ranked[7:14]
    assert inputs(client_api.get("/logs", {"q": "scene", "limit": 1000, "offset": 19})) == ranked[19:]
    # Past what Typesense can fetch (2**32 hits): an empty page, not an error (schemathesis found it).
    assert inputs(client_api.get("/logs", {"q": "scene", "limit": 570, "offset": 66407285944})) == []

    # Without the new parameters nothing changes: newest first from the database.
    assert inputs(client_api.get("/logs", {"limit": 2})) == ["Who is Julius?", "Count the sequences"]
    assert "X-Search-Backlog" not in client_api.get("/logs")

    # A log deleted from the database never shows, even while the index still holds it;
    # a log not yet synchronised is counted in the backlog header.
    InteractionLog.objects.filter(pk=wanted.pk).delete()
    log("Juliet again, just now")
    response = client_api.get("/logs", {"q": "juliet"})
    assert wanted.user_input not in inputs(response)
    assert response["X-Search-Backlog"] == "1"

    # Bad input is a 400; no key is a 401.
    assert_error(client_api.get("/logs", {"q": "x" * 501}), "retrieveLogs", 400)
    client_api.credentials()
    assert_error(client_api.get("/logs", {"q": "juliet"}), "retrieveLogs", 401)


def test_searches_when_typesense_is_down(clean_typesense, client_api, typesense):
    services.service_register(**service_payload(id="sequence-service", name="Sequence Service", description="Orders scenes in sequence."))
    log("Juliet on the balcony")
    Worker().drain()
    typesense.stop()
    try:
        # The logs search needs Typesense: the contract's 502; the plain list still answers.
        body = assert_error(client_api.get("/logs", {"q": "juliet"}), "retrieveLogs", 502, "TYPESENSE_SYNC_FAILED")
        assert body["retryAttempt"] == 0
        assert inputs(client_api.get("/logs")) == ["Juliet on the balcony"]
        # The registry is small: its search falls back to the database and says so.
        response = client_api.get("/services", {"q": "sequence"})
        assert [s["id"] for s in assert_conforms(response, "listServices")["services"]] == ["sequence-service"]
        assert response["X-Search-Source"] == "database"
    finally:
        typesense.start()


def test_services_search_forgives_typos_ranks_names_first_and_keeps_tag_filters(clean_typesense, client_api):
    services.service_register(**service_payload(id="character-service", name="Character Service", description="People of the plays, in any sequence.", tags=["core"]))
    services.service_register(**service_payload(id="sequence-service", name="Sequence Service", description="Orders scenes.", tags=["core", "stable"]))
    services.service_register(**service_payload(id="gone-service", name="Sequence Archive", description="Old sequences.", tags=[]))
    Worker().drain()
    services.service_delete(service_id="gone-service")  # still in the index until the worker runs

    response = client_api.get("/services", {"q": "sequnce"})
    listed = [s["id"] for s in assert_conforms(response, "listServices")["services"]]
    assert listed == ["sequence-service", "character-service"]
    assert response["X-Search-Source"] == "typesense" and response["X-Search-Backlog"] == "1"
    tagged = client_api.get("/services", {"q": "sequence", "tags": ["stable"]})
    assert [s["id"] for s in tagged.json()["services"]] == ["sequence-service"]
    # Without q, the list is the usual one, ordered by id.
    assert [s["id"] for s in client_api.get("/services").json()["services"]] == ["character-service", "sequence-service"]
    assert "X-Search-Source" not in client_api.get("/services", {"q": "  "})


def test_highlights_escape_the_text_before_marking_matches():
    from search.query import MARK_END, MARK_START, highlight_html

    snippet = f"<script>alert(1)</script> {MARK_START}Juliet{MARK_END} & Romeo"
    assert highlight_html(snippet) == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Juliet</mark> &amp; Romeo"


def test_the_logs_index_schema_v2_rolls_out_through_typesense_migrate(clean_typesense, client_api, monkeypatch):
    import io
    from dataclasses import replace

    from django.core.management import call_command

    from interactions.search_index import LOGS_INDEX
    from search import indexes
    from search.maintenance import ensure_index

    # A server still on schema v1 (no service_text, no service_ids), filled by the old code.
    old_fields = [f for f in LOGS_INDEX.fields if f["name"] not in ("service_text", "service_ids", "conversation_id")]
    log("Juliet in the old index", service="sequence-service")
    with monkeypatch.context() as patch:
        old = replace(LOGS_INDEX, schema_version=1, fields=old_fields)
        patch.setitem(indexes._REGISTRY, LOGS_INDEX.name, old)
        ensure_index(old, fill=False)
        Worker().drain()
    alias = clean_typesense.alias_name(LOGS_INDEX.name)
    assert clean_typesense.alias_target(alias).startswith(clean_typesense.collection_name(LOGS_INDEX.name, 1))

    out = io.StringIO()
    call_command("typesense_migrate", "--index", LOGS_INDEX.name, stdout=out)
    # Rebuilt on the current schema (2 added service_text and service_ids, 3 conversation_id).
    assert clean_typesense.alias_target(alias).startswith(
        clean_typesense.collection_name(LOGS_INDEX.name, LOGS_INDEX.schema_version))
    assert inputs(client_api.get("/logs", {"q": "julliet", "service_id": "sequence-service"})) == ["Juliet in the old index"]
