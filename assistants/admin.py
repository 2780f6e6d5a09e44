"""What this app adds to the service page (composed by control/admin.py): the words users
say for the service's things. Saved through assistants.services (checked, audited)."""

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from audit.services import SYSTEM, actor_of_request
from core.admin_inlines import ChangePageOnlyInline

from .grounding.vocabulary import alias_problems
from .models import ServiceVocabulary
from .services import vocabulary_set


class VocabularyForm(forms.ModelForm):
    class Meta:
        model = ServiceVocabulary
        fields = ["aliases"]
        widgets = {"aliases": forms.Textarea(attrs={"rows": 4, "cols": 60,
                                                    "placeholder": "performer: actor, cast member"})}

    def clean_aliases(self):
        problems = alias_problems(self.cleaned_data["aliases"])
        if problems:
            raise forms.ValidationError(problems)
        return self.cleaned_data["aliases"]


class VocabularyFormSet(BaseInlineFormSet):
    actor = SYSTEM

    def save(self, commit=True):
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.has_changed():
                continue
            aliases = "" if self._should_delete_form(form) else form.cleaned_data.get("aliases", "")
            saved = vocabulary_set(service=self.instance, aliases=aliases, actor=self.actor)
            if saved is not None:
                (self.changed_objects.append((saved, ["aliases"])) if form.instance.pk else self.new_objects.append(saved))
        return self.new_objects


class VocabularyInline(ChangePageOnlyInline, admin.StackedInline):
    """The service's aliases: how the offline assistant reads requests about it. Only on a
    service's change page: a service being added has no spec read yet."""

    model = ServiceVocabulary
    form = VocabularyForm
    formset = VocabularyFormSet
    extra = 1
    max_num = 1
    can_delete = False
    verbose_name = "vocabulary"
    verbose_name_plural = "Vocabulary (the words users say for this service's things, read by the offline assistant)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type("VocabularyFormSetForRequest", (formset,), {"actor": actor_of_request(request)})
