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
            "description": "An active API key. Admin keys are accepted here too.",
        }


class AdminApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.AdminApiKeyAuthentication"
    name = "adminApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-ADMIN-API-KEY",
            "description": "An active admin API key; required to change the registry.",
        }
