"""Inlines of a service's change page that have nothing to show while it is being added
(no spec has been read yet): the credentials' schemes, the vocabulary."""


class ChangePageOnlyInline:
    """Mixed into an admin inline before its Django base class: shown, added to, changed
    and deleted from only on an existing object's page, and only as the user may."""

    def has_view_permission(self, request, obj=None):
        return obj is not None and super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return obj is not None and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return obj is not None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return obj is not None and self.can_delete and super().has_delete_permission(request, obj)
