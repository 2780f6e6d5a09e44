from django.apps import AppConfig


class ControlConfig(AppConfig):
    """The admin's control room, on the top floor: the service page composed from the
    pieces each floor exports (control/admin.py), and the views of operations,
    approvals and the playground (control/views.py)."""

    name = "control"
    verbose_name = "Control room"
