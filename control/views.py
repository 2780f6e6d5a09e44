"""The admin's control room: a service's operations (policies and health), pending
approvals, the playground. Thin views over prompts.services (policy writes),
interactions.approvals (decisions), interactions.services (runs) and control.selectors
(reads); routed under /admin/control/ by the URL configuration, each behind the admin's
login and the control room's permissions (control/permissions.py: a page needs its view
permission, what it changes or sends its own as well; anything else is 403)."""

from django.contrib import admin, messages
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from audit.services import actor_of_request
from core.errors import ApplicationError
from interactions import approvals as approval_services
from interactions.services import interaction_dry_run, interaction_handle
from prompts.models import OperationPolicy
from prompts.policies import WRITES_DEFAULT, writes_default
from prompts.selectors import service_with_spec, spec_history
from prompts.services import operation_policy_set
from registry.models import Service

from . import selectors
from .labels import POLICY_CHOICES, policy_label
from .permissions import CHANGE_POLICIES, DECIDE_APPROVALS, RUN_PLAYGROUND, VIEW_APPROVALS, VIEW_OPERATIONS, require


def _context(request, title, **extra):
    return {**admin.site.each_context(request), "title": title, "policies": POLICY_CHOICES, **extra}


def _log_admin_action(request, obj, message: str, *, flag=CHANGE) -> None:
    """The action in the admin's "Recent actions" and the object's history, as the
    admin's own pages record theirs (the audit trail has its own events)."""
    LogEntry.objects.log_actions(request.user.pk, [obj], flag, message, single_object=True)


def _service(service_id: str) -> Service:
    service = service_with_spec(service_id)
    if service is None:
        raise Http404("No such service.")
    return service


def service_operations(request, service_id):
    """The operations of a service with their policies (editable) and health."""
    require(request.user, VIEW_OPERATIONS)
    service = _service(service_id)
    rows = selectors.operations_table(service)
    if request.method == "POST":
        require(request.user, CHANGE_POLICIES)
        actor = actor_of_request(request)
        changed = []
        known = set(OperationPolicy.Policy.values)
        if any(v not in known for k, v in request.POST.items() if k == "writes_default" or k.startswith("policy:")):
            messages.error(request, "Unknown policy; nothing changed.")
            return redirect(request.path)
        wanted_default = request.POST.get("writes_default")
        if wanted_default and not service.read_only and wanted_default != writes_default(service):
            if operation_policy_set(service=service, operation_id=WRITES_DEFAULT, policy=wanted_default, actor=actor):
                changed.append(f"default for writes: {policy_label(wanted_default)}")
        for row in rows:  # only what the admin changed becomes the operation's own policy
            wanted = request.POST.get(f"policy:{row.operation_id}")
            if wanted and wanted != row.policy:
                if operation_policy_set(service=service, operation_id=row.operation_id, policy=wanted, actor=actor):
                    changed.append(f"{row.operation_id}: {policy_label(wanted)}")
        if changed:
            _log_admin_action(request, service, f"Changed policies: {'; '.join(changed)}.")
        messages.success(request, f"Policies changed: {'; '.join(changed)}." if changed else "No policy changed.")
        return redirect(request.path)
    history = spec_history(service)
    return TemplateResponse(request, "admin/control/service_operations.html", _context(
        request, f"Operations of {service.name}", service=service, rows=rows, history=history,
        writes_default=writes_default(service), editable=request.user.has_perm(CHANGE_POLICIES),
    ))


def pending_approvals(request):
    """Pending calls, approve or reject with a reason; the latest decisions below."""
    require(request.user, VIEW_APPROVALS)
    if request.method == "POST":
        require(request.user, DECIDE_APPROVALS)
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
                    _log_admin_action(request, approval, "Approved; the operation is no longer offered, so nothing was sent.")
                    messages.warning(request, f"{approval.reference} approved, but the operation is no longer offered: nothing was sent.")
                else:
                    answered = f"HTTP {call.status}" if call.status else f"no answer ({call.error[:150]})"
                    _log_admin_action(request, approval, f"Approved and sent: {approval.operation_id} answered {answered}.")
                    messages.success(request, f"{approval.reference} approved and sent: {call.summary()[:300]}")
            else:
                approval = approval_services.approval_reject(approval_id=approval_id, actor=actor, reason=request.POST.get("reason", ""))
                _log_admin_action(request, approval, f"Rejected: {approval.reason[:500]}")
                messages.success(request, f"{approval.reference} rejected; nothing was sent.")
        except ApplicationError as error:
            messages.error(request, error.message)
        return redirect(request.path)
    approval_services.approvals_expire()
    pending, decided = selectors.approvals_page()
    return TemplateResponse(request, "admin/control/approvals.html", _context(
        request, "Pending approvals", pending=pending, decided=decided, can_decide=request.user.has_perm(DECIDE_APPROVALS),
    ))


def playground(request, service_id=None):
    """Type a request; a dry run shows what the assistant would call (nothing is sent),
    a real run sends it and shows the result and its log entry."""
    require(request.user, VIEW_OPERATIONS)
    service = _service(service_id) if service_id else None
    scope = [service.pk] if service else None
    context = _context(request, f"Playground: {service.name}" if service else "Playground: all services", service=service,
                       can_run=request.user.has_perm(RUN_PLAYGROUND))
    user_input = request.POST.get("user_input", "") if request.method == "POST" else ""
    context["user_input"] = user_input
    if request.method == "POST":
        try:
            if "run" in request.POST:
                require(request.user, RUN_PLAYGROUND)
                log, result = interaction_handle(user_input=user_input, requested_by=actor_of_request(request), service_ids=scope)
                _log_admin_action(request, log, f"Ran in the playground ({service.name if service else 'all services'}).", flag=ADDITION)
                context.update(run=True, log=log, calls=list(log.calls.all()), held=list(log.approvals.all()),
                               log_url=reverse("admin:interactions_interactionlog_change", args=[log.pk]))
            else:
                result, chosen = interaction_dry_run(user_input=user_input, service_ids=scope)
                context.update(dry_run=True, chosen=chosen)
            context["answer"] = result.text
        except ApplicationError as error:
            context["error"] = f"{error.message} {error.details}".strip()
    return TemplateResponse(request, "admin/control/playground.html", context)
