from django.apps import AppConfig


class AssistantsConfig(AppConfig):
    """The assistant backends (an app only for its command, routing_eval: it has no models)."""

    name = "assistants"
    verbose_name = "Assistants"
