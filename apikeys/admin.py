from datetime import timedelta

from django.contrib import admin, messages

from audit.services import actor_of_request

from .models import ApiKey
from .services import api_key_create, api_key_revoke, api_key_rotate, api_key_update

# How long a rotated key keeps working beside its replacement, when rotated in the admin.
ADMIN_ROTATION_GRACE = timedelta(hours=24)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "is_admin", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["is_admin", ("revoked_at", admin.EmptyFieldListFilter), ("expires_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_selected", "rotate_selected"]

    def get_fields(self, request, obj=None):
        # Name and kind are chosen once; the key itself is generated, never typed.
        if obj is None:
            return ["name", "is_admin", "expires_at"]
        return ["name", "is_admin", "expires_at", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # A revoked key stays revoked; its expiry no longer matters.
        return [*self.readonly_fields, "is_admin", *(["expires_at"] if obj.revoked_at else [])]

    def save_model(self, request, obj, form, change):
        if change:
            # obj carries the form's values; the stored row says what they were.
            stored = ApiKey.objects.get(pk=obj.pk)
            api_key_update(key=stored, name=obj.name, expires_at=obj.expires_at, actor=actor_of_request(request))
            return
        key, raw_key = api_key_create(
            name=obj.name, is_admin=obj.is_admin, expires_at=obj.expires_at, actor=actor_of_request(request)
        )
        # As for services: the admin goes on with `obj`, so it shows what was stored.
        obj.pk = key.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            f"The new key is {raw_key} — copy it now: it is stored hashed and will not be shown again.",
        )

    def has_delete_permission(self, request, obj=None):
        # Revoke instead of delete, so the record of a key stays.
        return False

    @admin.action(description="Revoke selected keys (they stop working at once)")
    def revoke_selected(self, request, queryset):
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            api_key_revoke(key=key, actor=actor_of_request(request))
        self.message_user(request, f"Revoked {len(keys)} key(s).")

    @admin.action(description="Rotate selected keys (the old ones work 24 more hours)")
    def rotate_selected(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            new_key, raw_key = api_key_rotate(key=key, grace=ADMIN_ROTATION_GRACE, actor=actor_of_request(request))
            messages.warning(
                request,
                f"{key.name}: the new key is {raw_key} — copy it now, it will not be shown again. "
                f"{key.prefix}… stops working at {key.expires_at:%Y-%m-%d %H:%M} UTC.",
            )
