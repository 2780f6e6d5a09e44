from django.apps import AppConfig
from django.db.models.signals import post_save


class PromptsConfig(AppConfig):
    name = "prompts"
    verbose_name = "System prompts"

    def ready(self):
        from registry.models import Service

        from .tasks import service_saved

        # Fetch a service's spec in the background once its registration or update commits.
        post_save.connect(service_saved, sender=Service, dispatch_uid="prompts.fetch_spec_on_save")
