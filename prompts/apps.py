from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class PromptsConfig(AppConfig):
    name = "prompts"
    verbose_name = "System prompts"

    def ready(self):
        from registry.models import Service
        from search import indexes

        from . import search_index, tasks
        from .models import SpecSnapshot

        indexes.register(search_index.OPERATIONS_INDEX)
        # Fetch a service's spec in the background once its registration or update commits.
        post_save.connect(tasks.service_saved, sender=Service, dispatch_uid="prompts.fetch_spec_on_save")
        # The operations index follows services (name, read-only switch) and their specs.
        post_save.connect(search_index.service_saved, sender=Service, dispatch_uid="prompts.operations_on_service_save")
        post_delete.connect(search_index.snapshot_deleted, sender=SpecSnapshot, dispatch_uid="prompts.operations_on_spec_delete")
