from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    name = "apikeys"
    verbose_name = "API keys"

    def ready(self):
        # Registers the security schemes with drf-spectacular.
        from apikeys import schema  # noqa: F401
