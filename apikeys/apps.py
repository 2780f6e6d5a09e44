from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self):
        # Registers the security schemes with drf-spectacular.
        from django.core.signals import request_finished

        from apikeys import schema  # noqa: F401 - importing it registers the OpenAPI extension
        from apikeys.lastuse import write_pending_key_use

        request_finished.connect(write_pending_key_use, dispatch_uid="apikeys.last_use")
