from django.contrib import admin, messages
from django.utils import timezone

from .models import ApiKey
from .services import api_key_create, api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "is_admin", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["is_admin", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_selected"]

    def get_fields(self, request, obj=None):
        # Name and kind are chosen once; the key itself is generated, never typed.
        return ["name", "is_admin"] if obj is None else ["name", "is_admin", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is None else [*self.readonly_fields, "is_admin"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        key, raw_key = api_key_create(name=obj.name, is_admin=obj.is_admin)
        obj.pk, obj.prefix, obj.digest, obj.created_at = key.pk, key.prefix, key.digest, key.created_at
        messages.warning(
            request,
            f"The new key is {raw_key} — copy it now: it is stored hashed and will not be shown again.",
        )

    def has_delete_permission(self, request, obj=None):
        # Revoke instead of delete, so the record of a key stays.
        return False

    @admin.action(description="Revoke selected keys")
    def revoke_selected(self, request, queryset):
        count = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key)
            count += 1
        self.message_user(request, f"Revoked {count} key(s) at {timezone.now():%Y-%m-%d %H:%M:%S} UTC.")
