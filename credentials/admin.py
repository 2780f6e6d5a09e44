"""Credentials on the service's admin page: an inline listing the spec's security
schemes with their state, a write-only field to set or replace a secret (never shown
back, not even as dots of its length) and Delete to clear it. Exported for the
service page that control/admin.py composes, so the registry knows nothing of
credentials."""

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html

from audit.services import SYSTEM, actor_of_request
from core.errors import ApplicationError

from .models import ServiceCredential
from .selectors import missing_schemes, scheme_states
from .services import credential_clear, credential_set, declared_scheme, validate_secret


class CredentialForm(forms.ModelForm):
    # One row per scheme of the spec: the scheme is fixed (a hidden field, still checked
    # against the spec's schemes), shown as text by CredentialInline.scheme_column.
    scheme = forms.ChoiceField(choices=[], widget=forms.HiddenInput)
    secret = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: leave empty to keep the stored secret.",
    )

    class Meta:
        model = ServiceCredential
        fields = ["scheme"]


class CredentialFormSet(BaseInlineFormSet):
    actor = SYSTEM

    def __init__(self, *args, instance=None, **kwargs):
        self.states = scheme_states(instance) if instance is not None and instance.pk else []
        missing = [s.name for s in self.states if s.credential is None and s.declared]
        kwargs.setdefault("initial", [{"scheme": name} for name in missing])
        super().__init__(*args, instance=instance, **kwargs)

    @property
    def no_schemes_reason(self) -> str:
        """Why there is nothing to set, for the inline's template ("" when there is)."""
        if self.states:
            return ""
        if getattr(self.instance, "spec", None) is None:
            return "Its spec has not been fetched yet: the schemes it declares show here once it is."
        return "Its spec declares no security scheme: this service takes no credentials."

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        # The row's scheme and what it is, for the read-only columns (a new row has only
        # its initial scheme; an instance without a primary key is never saved as is).
        if not form.instance.pk:
            form.instance.scheme = form.initial.get("scheme", "")
        state = next((s for s in self.states if s.name == form.instance.scheme), None)
        form.instance.scheme_state = state
        return form

    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["scheme"].choices = [(s.name, f"{s.name}: {s.description}") for s in self.states]
        if form.instance.pk:
            form.fields["scheme"].disabled = True

    def _scheme_of(self, form) -> str:
        return form.instance.scheme if form.instance.pk else form.cleaned_data.get("scheme")

    def clean(self):
        super().clean()
        for form in self.forms:
            secret = getattr(form, "cleaned_data", {}).get("secret")
            if not secret or self._should_delete_form(form):
                continue
            scheme = self._scheme_of(form)
            if not form.instance.pk and any(s.name == scheme and s.credential for s in self.states):
                form.add_error("scheme", "This scheme already has a secret: replace it in its own row.")
                continue
            try:  # the same rules as the command's (the message never repeats the value)
                validate_secret(declared_scheme(self.instance, scheme), secret)
            except ApplicationError as error:
                form.add_error("secret", error.message)

    def save(self, commit=True):
        """Through credentials.services (encryption, audit); Delete clears the secret."""
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.has_changed():
                continue
            scheme = self._scheme_of(form)
            if form.instance.pk and self._should_delete_form(form):
                credential_clear(service=self.instance, scheme=scheme, actor=self.actor)
                self.deleted_objects.append(form.instance)
            elif form.cleaned_data.get("secret"):
                saved = credential_set(service=self.instance, scheme=scheme, value=form.cleaned_data["secret"], actor=self.actor)
                if form.instance.pk:
                    self.changed_objects.append((saved, ["secret"]))
                else:
                    self.new_objects.append(saved)
        return self.new_objects


class CredentialInline(admin.TabularInline):
    """One row per security scheme of the spec (none to add: the spec says which exist);
    a note instead of an empty table when the spec declares none."""

    model = ServiceCredential
    form = CredentialForm
    formset = CredentialFormSet
    template = "admin/credentials/credential_inline.html"
    fields = ["scheme", "scheme_column", "secret", "state"]
    readonly_fields = ["scheme_column", "state"]
    # The row's scheme is its first column, not a caption above it; rows are the spec's schemes,
    # so none is added or taken away in the page (Delete clears a stored secret).
    classes = ["no-captions", "fixed-rows"]
    verbose_name = "credential"
    verbose_name_plural = "Credentials (secrets sent to this service; write-only)"

    # Only on an existing service's page: a new one has no spec (and so no schemes) yet.
    def has_view_permission(self, request, obj=None):
        return obj is not None and super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return obj is not None and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is not None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and super().has_delete_permission(request, obj)

    def get_queryset(self, request):
        # The permission methods above answer no without a service; rows need the user's own.
        user = request.user
        if user.has_perm("credentials.view_servicecredential") or user.has_perm("credentials.change_servicecredential"):
            return ServiceCredential.objects.all()
        return ServiceCredential.objects.none()

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type("CredentialFormSetForRequest", (formset,), {"actor": actor_of_request(request)})

    def get_extra(self, request, obj=None, **kwargs):
        if obj is None or not obj.pk:
            return 0
        return sum(1 for s in scheme_states(obj) if s.credential is None and s.declared)

    def get_max_num(self, request, obj=None, **kwargs):
        # The rows are the spec's schemes (and stored secrets of schemes it dropped): no more.
        if obj is None or not obj.pk:
            return 0
        return len(scheme_states(obj))

    @admin.display(description="scheme")
    def scheme_column(self, obj):
        state = getattr(obj, "scheme_state", None)
        return format_html('<strong>{}</strong><br><span class="quiet">{}</span>', obj.scheme,
                           state.description if state else "")

    @admin.display(description="state")
    def state(self, obj):
        if not obj.pk:
            state = getattr(obj, "scheme_state", None)
            return state.state if state else "missing"
        parts = ["set"]
        parts.append(f"last used {obj.last_used_at:%Y-%m-%d %H:%M}" if obj.last_used_at else "never used")
        if obj.last_failure_at:
            return format_html('{}; <span style="color:#b00">last failure {}: {}</span>', ", ".join(parts),
                               f"{obj.last_failure_at:%Y-%m-%d %H:%M}", obj.last_failure)
        return ", ".join(parts)


@admin.display(description="credentials")
def credentials_needed(obj):
    """Beside the spec's state: which schemes its operations need that have no secret."""
    if obj is None or not obj.pk:
        return "-"
    missing = missing_schemes(obj)
    if missing:
        return format_html('<span style="color:#b00">operations need a secret for: {} (none set)</span>', ", ".join(missing))
    return "every scheme the operations need has a secret" if getattr(obj, "spec", None) else "-"
