from django.apps import AppConfig
from django.db.models.signals import post_save


class CredentialsConfig(AppConfig):
    name = "credentials"
    verbose_name = "Service credentials"

    def ready(self):
        from prompts.models import SpecSnapshot
        from registry.models import Service

        from . import signals

        # Where a service's calls go can move with its spec (a fetch) or its registry
        # entry (URL, base-URL override): the secrets' holds are recorded in that write's transaction.
        post_save.connect(signals.service_saved, sender=Service, dispatch_uid="credentials.origins_on_service_save")
        post_save.connect(signals.snapshot_saved, sender=SpecSnapshot, dispatch_uid="credentials.origins_on_spec_save")
