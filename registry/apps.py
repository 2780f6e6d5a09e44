from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = "Service registry"

    def ready(self):
        from search import indexes

        from . import signals
        from .models import Service
        from .search_index import SERVICES_INDEX

        indexes.register(SERVICES_INDEX)
        post_save.connect(signals.service_saved, sender=Service, dispatch_uid="registry.service_saved")
        post_delete.connect(signals.service_deleted, sender=Service, dispatch_uid="registry.service_deleted")
