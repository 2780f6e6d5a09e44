"""Views outside the contract: the spec files, the health check and the metrics."""

import json
from functools import lru_cache

import yaml
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from apikeys.authentication import AdminApiKeyAuthentication
from core.metrics import exposition
from search.backend import get_backend
from search.outbox import backlog_summary


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


def docs_servers(origin: str, contract_servers: list[dict]) -> list[dict]:
    """The servers the docs offer: this instance first (so "Try it out" reaches the
    instance the reader is on), then the contract's, without repeating this one."""
    own = {"url": origin, "description": "This instance"}
    return [own, *(s for s in contract_servers if s.get("url", "").rstrip("/") != origin)]


@require_GET
def docs_schema(request):
    """The contract as Swagger UI and Redoc read it: with the request's own origin as
    the first server. /openapi.yml and /openapi.json stay the contract, byte for byte."""
    spec = json.loads(_spec_json())  # a fresh copy, parsed fast
    origin = request.build_absolute_uri("/").rstrip("/")
    spec["servers"] = docs_servers(origin, spec.get("servers", []))
    return JsonResponse(spec, json_dumps_params={"indent": 2})


@require_GET
def healthz(request):
    """Database, Typesense and the sync backlog; 503 when the database is down."""
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


class _StaffOrAdminKey(BasePermission):
    """The admin's rule: a staff user logged in to the admin, or an admin API key."""

    def has_permission(self, request, view):
        if getattr(request.user, "is_staff", False) and request.user.is_active:
            return True
        return getattr(request.auth, "is_admin", False)


class _PrometheusText(BaseRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else json.dumps(data).encode()


@extend_schema(exclude=True)
class MetricsView(APIView):
    """Prometheus metrics, for a staff session or an X-ADMIN-API-KEY."""

    # The key class first: its WWW-Authenticate makes a missing credential a 401.
    authentication_classes = [AdminApiKeyAuthentication, SessionAuthentication]
    permission_classes = [_StaffOrAdminKey]
    # JSON for errors; text/plain so Prometheus' Accept header is satisfied.
    renderer_classes = [JSONRenderer, _PrometheusText]
    throttle_classes = []

    def get(self, request):
        return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
