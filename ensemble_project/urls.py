"""The composition root: every route of the service."""

from django.contrib import admin
from django.urls import path
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

from interactions.api import InteractView, LogsView
from prompts.api import SystemPromptView
from registry.api import ServiceDeleteView, ServiceListView, ServiceRegisterView, ServiceUpdateView

from . import views

urlpatterns = [
    # The contract's operations (openapi3_1.yml).
    path("services", ServiceListView.as_view(), name="listServices"),
    path("services/register", ServiceRegisterView.as_view(), name="registerService"),
    path("services/update/<str:service_id>", ServiceUpdateView.as_view(), name="updateService"),
    path("services/delete/<str:service_id>", ServiceDeleteView.as_view(), name="deleteService"),
    path("system-prompt", SystemPromptView.as_view(), name="generateSystemPrompt"),
    path("interact", InteractView.as_view(), name="handleUserInput"),
    path("logs", LogsView.as_view(), name="retrieveLogs"),
    # The contract itself and its readers.
    path("openapi.yml", views.openapi_yaml, name="openapi-yaml"),
    path("openapi.json", views.openapi_json, name="openapi-json"),
    # The docs read the contract with this instance's origin as first server ("Try it out").
    path("docs/openapi.json", views.docs_schema, name="docs-schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="docs-schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="docs-schema"), name="redoc"),
    # Operations.
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.MetricsView.as_view(), name="metrics"),
    path("admin/", admin.site.urls),
]

handler400 = "ensemble_project.errors.handler400"
handler403 = "ensemble_project.errors.handler403"
handler404 = "ensemble_project.errors.handler404"
handler500 = "ensemble_project.errors.handler500"
