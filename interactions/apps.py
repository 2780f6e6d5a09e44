from django.apps import AppConfig
from django.db.models.signals import post_save


class InteractionsConfig(AppConfig):
    name = "interactions"
    verbose_name = "Interactions"

    def ready(self):
        from search import indexes

        from . import search_index
        from .models import InteractionLog

        indexes.register(search_index.LOGS_INDEX)
        post_save.connect(search_index.log_saved, sender=InteractionLog, dispatch_uid="interactions.log_saved")
