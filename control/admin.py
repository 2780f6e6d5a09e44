"""The service page, composed: the registry's ServiceAdmin with the pieces each floor
exports (prompts: the spec's state and actions; credentials: the secrets; the control
room: the operations panel). Each list is added to, never overwritten, and nothing
depends on the order apps load."""

from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from assistants import admin as assistants_admin
from credentials import admin as credentials_admin
from prompts import admin as prompts_admin
from prompts.models import OperationPolicy
from prompts.policies import writes_default
from prompts.selectors import spec_history
from registry import admin as registry_admin
from registry.models import Service

from .permissions import VIEW_OPERATIONS
from .selectors import operations_table


class _PanelFormSet(BaseInlineFormSet):
    """Shows, never saves (ServiceAdmin saves through registry.services, not formsets);
    the admin's change message still reads what a save would have set."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []

    def is_valid(self):
        return True  # nothing is taken from the post (a form posted without this panel is fine)

    @property
    def errors(self):
        return []

    def non_form_errors(self):
        return self.error_class()


class OperationsPanel(admin.TabularInline):
    """The service's operations with their policy and health, and the spec's history.
    Read-only here: policies are changed on the operations page it links to."""

    model = OperationPolicy
    template = "admin/control/operations_inline.html"
    formset = _PanelFormSet
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["operation_id", "policy"]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(VIEW_OPERATIONS)  # the control room's permission, not the policy model's

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None and obj.pk:
            formset.control_service = obj
            formset.control_rows = operations_table(obj)
            formset.control_writes_default = writes_default(obj)
            formset.control_history = spec_history(obj, limit=10)
        return formset


_base = registry_admin.ServiceAdmin


class ServiceAdmin(_base):
    list_display = [*_base.list_display, *prompts_admin.SERVICE_COLUMNS]
    list_select_related = [*(_base.list_select_related or []), *prompts_admin.SERVICE_SELECT_RELATED]
    readonly_fields = [*_base.readonly_fields, *prompts_admin.SERVICE_READONLY_FIELDS, credentials_admin.credentials_needed]
    actions = [*_base.actions, *prompts_admin.SERVICE_ACTIONS]
    inlines = [*_base.inlines, credentials_admin.CredentialInline, assistants_admin.VocabularyInline, OperationsPanel]


admin.site.register(Service, ServiceAdmin)
