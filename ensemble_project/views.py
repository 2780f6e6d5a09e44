"""Views outside the contract: the landing page, the spec files, the health probes and the metrics."""

import json
from functools import lru_cache

import yaml
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.views import APIView

from apikeys.authentication import AdminApiKeyAuthentication
from core.metrics import exposition

from .health import readiness


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


@never_cache
@require_safe
def healthz(request):
    """Liveness: this process answers. Nothing else is checked (see health.py)."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """Readiness: the database, Typesense and the search sync; 503 only without a database."""
    report = readiness()
    return JsonResponse(report.as_dict(), status=report.http_status)


@lru_cache(maxsize=1)
def _landing_page() -> str:
    info = json.loads(_spec_json())["info"]
    return render_to_string("landing.html", {"title": info["title"], "version": info["version"]})


@require_safe
def landing(request):
    """GET /: where everything is. Plain HTML, rendered once per process; not part of
    the REST contract (a plain Django view, so the generated schema never sees it)."""
    return HttpResponse(_landing_page(), content_type="text/html; charset=utf-8")


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
