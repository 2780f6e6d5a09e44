"""The composition root: every route of the service."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from interactions.api import InteractionViewSet
from mcp_gateway.views import McpView
from prompts.api import SystemPromptViewSet
from registry.api import ServiceViewSet, with_listing_shortcut

from . import views

urlpatterns = [
    path("", views.landing, name="landing"),  # links to everything below; not part of the contract
    # The contract's operations (openapi3_1.yml), each an action of its app's viewset.
    # The contract's paths are verbs, not REST resources (/services/register,
    # /services/update/{id}), which a router cannot derive; explicit mappings keep every
    # path and method readable here, next to its operationId.
    # The common GET /services is answered before DRF's machinery (registry/api.py).
    path("services", with_listing_shortcut(ServiceViewSet.as_view({"get": "list"})), name="listServices"),
    path("services/register", ServiceViewSet.as_view({"post": "register"}), name="registerService"),
    path("services/update/<str:service_id>", ServiceViewSet.as_view({"put": "update"}), name="updateService"),
    path("services/delete/<str:service_id>", ServiceViewSet.as_view({"delete": "destroy"}), name="deleteService"),
    path("system-prompt", SystemPromptViewSet.as_view({"get": "generate"}), name="generateSystemPrompt"),
    path("interact", InteractionViewSet.as_view({"post": "interact"}), name="handleUserInput"),
    path("logs", InteractionViewSet.as_view({"get": "logs"}), name="retrieveLogs"),
    # The same services as tools, for MCP clients (Streamable HTTP; not part of the REST contract).
    path("mcp", McpView.as_view(), name="mcp"),
    # The contract itself and its readers.
    path("openapi.yml", views.openapi_yaml, name="openapi-yaml"),
    path("openapi.json", views.openapi_json, name="openapi-json"),
    # The docs read the contract with this instance's origin as first server ("Try it out").
    path("docs/openapi.json", views.docs_schema, name="docs-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="docs-schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="docs-schema"), name="redoc"),
    # Operations.
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
    path("admin/control/", include("control.urls")),  # the admin's control room
    path("admin/", admin.site.urls),
]

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
