"""The interaction logs index: what a log looks like in Typesense, and how it is searched."""

import json
import re
from collections.abc import Iterator

import orjson
from django.conf import settings
from django.db import connections
from django.db.models import ExpressionWrapper, F, Field, TextField
from django.db.models.functions import Cast
from django.utils.dateparse import parse_datetime

from search import outbox
from search.indexes import row_index

from .models import InteractionLog, ServiceCall

FIELDS = [
    {"name": "user_input", "type": "string"},
    {"name": "assistant_response", "type": "string"},
    # What the services answered, as one text (GET /logs' service_responses).
    {"name": "service_text", "type": "string"},
    {"name": "service_names", "type": "string[]", "facet": True},
    {"name": "service_ids", "type": "string[]", "facet": True},
    {"name": "outcome", "type": "string", "facet": True},
    {"name": "backend", "type": "string", "facet": True},
    # The conversation of the log ("" for logs without one), for GET /logs?conversation_id=&q=.
    {"name": "conversation_id", "type": "string", "facet": True},
    {"name": "timestamp", "type": "int64", "sort": True},
    {"name": "version", "type": "int64"},
]

# What the user asked ranks above what the assistant answered, above the services' text.
QUERY_BY = ("user_input", "assistant_response", "service_text")
QUERY_WEIGHTS = (4, 2, 1)
FACETS = ("service_names", "outcome", "backend")

_TEXT_MAX = 20000
_COLUMNS = ("pk", "user_input", "assistant_response", "service_responses", "outcome", "backend", "created_at",
            "conversation_id")


def _document(pk, user_input, assistant_response, service_responses, outcome, backend, created_at, conversation_id,
              service_ids=()) -> dict:
    return {
        "id": str(pk),
        "user_input": user_input[:_TEXT_MAX],
        "assistant_response": assistant_response[:_TEXT_MAX],
        "service_text": "\n".join([str(r.get("response", "")) for r in service_responses])[:_TEXT_MAX],
        "service_names": sorted({r.get("service_name", "") for r in service_responses}),
        "service_ids": sorted(set(service_ids)),
        "outcome": outcome,
        "backend": backend,
        "conversation_id": conversation_id or "",
        "timestamp": int(created_at.timestamp() * 1000),
        "version": 1,  # logs never change
    }


def _service_ids_of(pks) -> dict[int, list[str]]:
    """The services each log called (one query for a batch of logs)."""
    called: dict[int, list[str]] = {}
    for log_id, service_id in ServiceCall.objects.filter(log_id__in=list(pks)).values_list("log_id", "service_id"):
        called.setdefault(log_id, []).append(service_id)
    return called


def to_document(log, service_ids=None) -> dict:
    if service_ids is None:
        service_ids = log.calls.values_list("service_id", flat=True)
    return _document(*(getattr(log, column) for column in _COLUMNS), service_ids=service_ids)


def _documents(logs) -> list[dict]:
    # Rows as tuples, not model instances (the worker's batches, and tests).
    rows = list(logs.values_list(*_COLUMNS))
    called = _service_ids_of(row[0] for row in rows)
    return [_document(*row, service_ids=called.get(row[0], ())) for row in rows]


# The resync reads two columns as the database driver gives them, without the ORM's
# conversion of each row (together half of the read's time):
# - service_responses as its stored text, decoded here with orjson, several times
#   faster than JSONField's json.loads. orjson reads an integer literal past 64 bits as
#   a float where json keeps it exact, so a text with 19 digits in a row goes to json,
#   and so does one orjson refuses (NaN, a lone surrogate); what json refuses stays text,
#   as JSONField.from_db_value leaves it;
# - created_at as the driver's datetime, made aware here as DateTimeField's conversion
#   does (SQLite's driver gives naive datetimes in the connection's time zone).
_STREAMED_COLUMNS = tuple(
    Cast(column, TextField()) if column == "service_responses"
    else ExpressionWrapper(F(column), output_field=Field()) if column == "created_at"
    else column
    for column in _COLUMNS
)
_LONG_DIGITS = re.compile(r"\d{19}")


def _stored_json(text):
    if text is None:
        return None
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _stored_datetime(value, zone):
    if isinstance(value, str):
        value = parse_datetime(value)
    if zone is not None and value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value


def _all_documents(chunk_size: int) -> Iterator[dict]:
    """Every log's document in id order, for the resync: one streaming read of the logs
    and one of the services they called, both in log order and merged here, instead of
    two queries per batch (a page of logs, then their calls by an IN list of 1,000 ids,
    whose parameters alone cost more than the rows). The calls are read after the first
    log row: a log and its calls commit together, so every log read has its calls in the
    later read; calls of logs newer than the logs' read are passed over."""
    logs = InteractionLog.objects.order_by("pk").values_list(*_STREAMED_COLUMNS)
    zone = connections[logs.db].timezone if settings.USE_TZ else None
    calls = None
    call = None
    for pk, user_input, assistant_response, service_responses, outcome, backend, created_at, conversation_id in (
            logs.iterator(chunk_size=chunk_size)):
        if calls is None:
            calls = ServiceCall.objects.order_by("log_id").values_list("log_id", "service_id").iterator(chunk_size=chunk_size)
            call = next(calls, None)
        service_ids = []
        while call is not None and call[0] <= pk:
            if call[0] == pk:
                service_ids.append(call[1])
            call = next(calls, None)
        yield _document(pk, user_input, assistant_response, _stored_json(service_responses), outcome, backend,
                        _stored_datetime(created_at, zone), conversation_id, service_ids=service_ids)


LOGS_INDEX = row_index(
    name="interaction_logs",
    schema_version=3,  # 2: service_text and service_ids, for GET /logs?q=&service_id=; 3: conversation_id
    fields=FIELDS,
    default_sorting_field="timestamp",
    queryset=InteractionLog.objects.all,
    documents=_documents,
    version_field=None,  # logs are written once; an approval's decision amends one now and then
    amended_field="amended_at",
    id_type=int,
    all_documents=_all_documents,
    query_by=QUERY_BY,
    query_weights=QUERY_WEIGHTS,
    facets=FACETS,
)


def log_saved(sender, instance, created, **kwargs):
    if created:
        outbox.enqueue(LOGS_INDEX.name, [instance.pk])
