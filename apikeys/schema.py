"""drf-spectacular: the two security schemes of the contract."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-KEY",
            "description": (
                "Any active API key, sent in the X-API-KEY header. Every read operation and /interact "
                "need it; admin keys work here too. With `make run` the development key is "
                "ensemble-dev-api-key (printed at start). In this dialog, fill apiKeyAuth to try reads "
                "and /interact."
            ),
        }


class AdminApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.AdminApiKeyAuthentication"
    name = "adminApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-ADMIN-API-KEY",
            "description": (
                "An active admin API key, sent in the X-ADMIN-API-KEY header. Registering, updating and "
                "deleting services need it (a normal key is refused here). With `make run` the "
                "development admin key is ensemble-dev-admin-key (printed at start). In this dialog, "
                "fill adminApiKeyAuth to try the registry changes."
            ),
        }
