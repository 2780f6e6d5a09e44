"""Credentials on the service's admin page: an inline listing the spec's security
schemes with their state (set, held, missing) and the origins each secret goes to, a
write-only field to set or replace a secret (never shown back, not even as dots of its
length), a box to confirm the new origin a held secret waits for, and Delete to clear
it. Exported for the service page that control/admin.py composes, so the registry
knows nothing of credentials."""

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from audit.services import SYSTEM, actor_of_request
from core.admin_inlines import ChangePageOnlyInline
from core.errors import ApplicationError

from .models import ServiceCredential
from .selectors import scheme_states
from .services import credential_clear, credential_confirm_origin, credential_set, declared_scheme, validate_secret


class CredentialForm(forms.ModelForm):
    # One row per scheme of the spec: the scheme is fixed (a hidden field, still checked
    # against the spec's schemes), shown as text by CredentialInline.scheme_column.
    scheme = forms.ChoiceField(choices=[], widget=forms.HiddenInput)
    secret = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: leave empty to keep the stored secret.",
    )
    confirm_origin = forms.BooleanField(
        required=False, label="confirm new origin",
        help_text="A held secret: let it go to the origin it waits for (check first that the new host is meant to "
                  "receive it), or Delete it.",
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
        # Only a held secret has a new origin to confirm.
        form.fields["confirm_origin"].disabled = not (form.instance.pk and state and state.held)
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
            elif form.instance.pk and form.cleaned_data.get("confirm_origin"):
                (saved,) = credential_confirm_origin(service=self.instance, scheme=scheme, actor=self.actor)
                self.changed_objects.append((saved, ["origins"]))
        return self.new_objects


class CredentialInline(ChangePageOnlyInline, admin.TabularInline):
    """One row per security scheme of the spec (none to add: the spec says which exist);
    a note instead of an empty table when the spec declares none."""

    model = ServiceCredential
    form = CredentialForm
    formset = CredentialFormSet
    template = "admin/credentials/credential_inline.html"
    fields = ["scheme", "scheme_column", "secret", "state", "origins_column", "confirm_origin"]
    readonly_fields = ["scheme_column", "state", "origins_column"]
    # The row's scheme is its first column, not a caption above it; rows are the spec's schemes,
    # so none is added or taken away in the page (Delete clears a stored secret).
    classes = ["no-captions", "fixed-rows"]
    verbose_name = "credential"
    verbose_name_plural = "Credentials (secrets sent to this service; write-only)"

    def get_queryset(self, request):
        # The permission methods (ChangePageOnlyInline) answer no without a service; rows need the user's own.
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
        """set / held / missing (credentials.selectors.SchemeState), when it was last used, its last failure."""
        scheme_state = getattr(obj, "scheme_state", None)
        if not obj.pk:
            return scheme_state.state if scheme_state else "missing"
        word = scheme_state.state if scheme_state else "set"
        parts = [mark_safe('<strong style="color:#b00">held</strong>: not sent until an admin confirms the new origin')
                 if word == "held" else word]
        parts.append(f"last used {obj.last_used_at:%Y-%m-%d %H:%M}" if obj.last_used_at else "never used")
        if obj.last_failure_at:
            parts.append(format_html('<span style="color:#b00">last failure {}: {}</span>', f"{obj.last_failure_at:%Y-%m-%d %H:%M}",
                                     obj.last_failure))
        return format_html(", ".join(["{}"] * len(parts)), *parts)  # each part escaped unless already safe

    @admin.display(description="goes to")
    def origins_column(self, obj):
        """The origins the secret is bound to, and any new one it waits for (SchemeState.origin_text)."""
        scheme_state = getattr(obj, "scheme_state", None)
        return (scheme_state.origin_text if scheme_state else "") or "-"


@admin.display(description="credentials")
def credentials_needed(obj):
    """Beside the spec's state: which schemes its operations need that have no secret,
    and which secrets are held back until an admin confirms a new origin."""
    if obj is None or not obj.pk:
        return "-"
    states = scheme_states(obj)
    missing, held = [s.name for s in states if s.missing], [s for s in states if s.held]
    notes = []
    if missing:
        notes.append(format_html('<span style="color:#b00">operations need a secret for: {} (none set)</span>', ", ".join(missing)))
    if held:
        notes.append(format_html(
            '<span style="color:#b00" id="held-secrets">held back: {} wait for an admin to confirm {} (below: confirm or Delete)</span>',
            ", ".join(s.name for s in held), ", ".join(dict.fromkeys(o for s in held for o in s.waiting))))
    if notes:
        return format_html("; ".join(["{}"] * len(notes)), *notes)
    return "every scheme the operations need has a secret" if getattr(obj, "spec", None) else "-"
