"""Serializers shared by every app: strict JSON types and the contract's error shapes."""

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string that must arrive as a JSON string: DRF's CharField would turn 42 or
    true into "42" / "True", which hides client bugs."""

    default_error_messages = {"not_a_string": "Must be a string, not {kind}."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string", kind=_json_kind(data))
        return super().to_internal_value(data)


def _json_kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class StrictListField(serializers.ListField):
    default_error_messages = {"not_a_list": "Expected an array, not {kind}."}

    def to_internal_value(self, data):
        if not isinstance(data, list):
            self.fail("not_a_list", kind=_json_kind(data))
        return super().to_internal_value(data)


class RejectUnknownFieldsMixin:
    """Refuse fields the schema does not define, so a typo ("tag" for "tags") is a 400
    instead of silently ignored data."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field: this operation does not accept it."] for name in unknown}
                )
        return super().to_internal_value(data)


class ErrorResponseSerializer(serializers.Serializer):
    """The body of every error the API returns."""

    errorCode = serializers.CharField(help_text="A stable, machine-readable code, e.g. VALIDATION_ERROR.")
    message = serializers.CharField(help_text="What went wrong, for a person.")
    details = serializers.CharField(help_text="More context when there is some, or an empty string.")

    class Meta:
        ref_name = "ErrorResponse"


class SuccessResponseSerializer(serializers.Serializer):
    """Confirmation of an operation that returns no resource."""

    message = serializers.CharField(help_text="What was done.")

    class Meta:
        ref_name = "SuccessResponse"


class TypesenseErrorResponseSerializer(serializers.Serializer):
    """The body of a 502: the Typesense mirror is failing."""

    errorCode = serializers.CharField(help_text="TYPESENSE_SYNC_FAILED.")
    retryAttempt = serializers.IntegerField(
        help_text="How many times the pending synchronisation has been tried so far."
    )
    message = serializers.CharField(help_text="What went wrong, for a person.")
    details = serializers.CharField(help_text="The error Typesense (or the connection to it) gave.")

    class Meta:
        ref_name = "TypesenseErrorResponse"


_ERROR_TEXT = {
    400: "The request is not valid; the message says which part and why.",
    401: "No valid API key for this operation.",
    404: "No such service.",
    500: "An unexpected failure on our side; it is logged.",
    429: "Too many requests for this API key (or too many failed keys from this address); see Retry-After.",
    503: "The database is not reachable right now; nothing was changed. Retry after Retry-After seconds.",
}

# Operational answers every operation can give, beyond the reference contract's statuses.
OPERATIONAL_STATUSES = (429, 503)


def error_responses(*statuses: int, **descriptions: str) -> dict:
    """ErrorResponse entries for extend_schema(responses=...), plus the operational ones."""
    return {
        status: OpenApiResponse(ErrorResponseSerializer, description=descriptions.get(f"e{status}", _ERROR_TEXT[status]))
        for status in (*statuses, *OPERATIONAL_STATUSES)
    }
