"""Plain views outside the contract: the spec files and the health check."""

import json
from functools import lru_cache

import yaml
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET


@lru_cache(maxsize=1)
def _spec_text() -> str:
    return settings.ENSEMBLE_SPEC_PATH.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _spec_json() -> str:
    return json.dumps(yaml.safe_load(_spec_text()), indent=2)


@require_GET
def openapi_yaml(request):
    return HttpResponse(_spec_text(), content_type="application/yaml; charset=utf-8")


@require_GET
def openapi_json(request):
    return HttpResponse(_spec_json(), content_type="application/json")


@require_GET
def healthz(request):
    """Database, Typesense and the sync backlog; 503 when the database is down."""
    from search.backend import get_backend
    from search.outbox import backlog_summary

    report = {"database": "ok", "typesense": "ok", "backlog": None}
    status = 200
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        summary = backlog_summary()
        report["backlog"] = {"pending": summary["total"], "last_error": summary["last_error"][:300]}
    except Exception as error:  # the point of a health check is to report, not to crash
        report["database"] = f"error: {type(error).__name__}"
        status = 503
    if not get_backend().healthy():
        report["typesense"] = "unreachable"
    return JsonResponse(report, status=status)
