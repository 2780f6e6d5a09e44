"""The admin's control room: a service's operations (policies and health), pending
approvals, the playground. Thin views over prompts.services (policy writes),
interactions.approvals (decisions), interactions.services (runs) and control.selectors
(reads); routed under /admin/control/ by the URL configuration, each behind the admin's
login."""

from django.contrib import admin, messages
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from audit.services import actor_of_request
from core.errors import ApplicationError
from interactions import approvals as approval_services
from interactions.selectors import approvals_decided, approvals_pending
from interactions.services import interaction_dry_run, interaction_handle
from prompts.models import OperationPolicy
from prompts.policies import WRITES_DEFAULT, writes_default
from prompts.selectors import service_with_spec, spec_history
from prompts.services import operation_policy_set
from registry.models import Service

from . import selectors

POLICIES = OperationPolicy.Policy.choices


def _context(request, title, **extra):
    return {**admin.site.each_context(request), "title": title, "policies": POLICIES, **extra}


def _service(service_id: str) -> Service:
    service = service_with_spec(service_id)
    if service is None:
        raise Http404("No such service.")
    return service


def service_operations(request, service_id):
    """The operations of a service with their policies (editable) and health."""
    service = _service(service_id)
    rows = selectors.operations_table(service)
    if request.method == "POST":
        actor = actor_of_request(request)
        changed = []
        known = set(OperationPolicy.Policy.values)
        if any(v not in known for k, v in request.POST.items() if k == "writes_default" or k.startswith("policy:")):
            messages.error(request, "Unknown policy; nothing changed.")
            return redirect(request.path)
        wanted_default = request.POST.get("writes_default")
        if wanted_default and not service.read_only and wanted_default != writes_default(service):
            if operation_policy_set(service=service, operation_id=WRITES_DEFAULT, policy=wanted_default, actor=actor):
                changed.append("default for writes")
        for row in rows:  # only what the admin changed becomes the operation's own policy
            wanted = request.POST.get(f"policy:{row.operation_id}")
            if wanted and wanted != row.policy:
                if operation_policy_set(service=service, operation_id=row.operation_id, policy=wanted, actor=actor):
                    changed.append(row.operation_id)
        messages.success(request, f"Policies changed: {', '.join(changed)}." if changed else "No policy changed.")
        return redirect(request.path)
    history = spec_history(service)
    return TemplateResponse(request, "admin/control/service_operations.html", _context(
        request, f"Operations of {service.name}", service=service, rows=rows, history=history,
        writes_default=writes_default(service), editable=True,
    ))


def pending_approvals(request):
    """Pending calls, approve or reject with a reason; the latest decisions below."""
    if request.method == "POST":
        actor = actor_of_request(request)
        try:
            approval_id = int(request.POST.get("approval", ""))
        except ValueError:
            messages.error(request, "No approval given.")
            return redirect(request.path)
        try:
            if "approve" in request.POST:
                approval, call = approval_services.approval_approve(approval_id=approval_id, actor=actor)
                if call is None:
                    messages.warning(request, f"{approval.reference} approved, but the operation is no longer offered: nothing was sent.")
                else:
                    messages.success(request, f"{approval.reference} approved and sent: {call.summary()[:300]}")
            else:
                approval = approval_services.approval_reject(approval_id=approval_id, actor=actor, reason=request.POST.get("reason", ""))
                messages.success(request, f"{approval.reference} rejected; nothing was sent.")
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect(request.path)
    approval_services.approvals_expire()
    pending, decided = approvals_pending(), approvals_decided()
    return TemplateResponse(request, "admin/control/approvals.html", _context(
        request, "Pending approvals", pending=pending, decided=decided,
    ))


def playground(request, service_id=None):
    """Type a request; a dry run shows what the assistant would call (nothing is sent),
    a real run sends it and shows the result and its log entry."""
    service = _service(service_id) if service_id else None
    scope = [service.pk] if service else None
    context = _context(request, f"Playground: {service.name}" if service else "Playground: all services", service=service)
    user_input = request.POST.get("user_input", "") if request.method == "POST" else ""
    context["user_input"] = user_input
    if request.method == "POST":
        try:
            if "run" in request.POST:
                log, result = interaction_handle(user_input=user_input, requested_by=actor_of_request(request), service_ids=scope)
                context.update(run=True, log=log, calls=list(log.calls.all()), held=list(log.approvals.all()),
                               log_url=reverse("admin:interactions_interactionlog_change", args=[log.pk]))
            else:
                result, chosen = interaction_dry_run(user_input=user_input, service_ids=scope)
                context.update(dry_run=True, chosen=chosen)
            context["answer"] = result.text
        except ApplicationError as error:
            context["error"] = f"{error.message} {error.details}".strip()
    return TemplateResponse(request, "admin/control/playground.html", context)
