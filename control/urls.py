"""The control room's pages, under /admin/control/, each behind the admin's login."""

from django.contrib import admin
from django.urls import path

from . import views

wrap = admin.site.admin_view

urlpatterns = [
    path("services/<str:service_id>/operations/", wrap(views.service_operations), name="control_service_operations"),
    path("services/<str:service_id>/playground/", wrap(views.playground), name="control_service_playground"),
    path("playground/", wrap(views.playground), name="control_playground"),
    path("approvals/", wrap(views.pending_approvals), name="control_approvals"),
]
