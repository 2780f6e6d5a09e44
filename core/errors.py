"""One error shape for every answer the API gives: the contract's ErrorResponse.

`ApplicationError` is what the domain layers raise; `exception_handler` (DRF) and the
`handler*` views (plain Django: unknown paths, crashes outside DRF) turn every failure
into `{"errorCode", "message", "details"}` with the right status.
"""

import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

logger = logging.getLogger("ensemble.errors")


class ApplicationError(Exception):
    """A failure the client can act on, raised by the domain layers."""

    status_code = 400

    def __init__(self, error_code: str, message: str, *, details: str = "", status: int | None = None, extra: dict | None = None):
        super().__init__(message)
        self.error_code = error_code
        self.message = message
        self.details = details
        self.extra = extra or {}
        if status is not None:
            self.status_code = status


class NotFoundError(ApplicationError):
    status_code = 404


def error_body(error_code: str, message: str, details: str = "") -> dict:
    return {"errorCode": error_code, "message": message, "details": details}


def flatten_validation_errors(detail, prefix: str = "") -> list[str]:
    """Turn DRF/Django nested error structures into `field: message` lines."""
    if isinstance(detail, dict):
        lines = []
        for key, value in detail.items():
            name = key if key not in ("non_field_errors", "__all__") else ""
            lines += flatten_validation_errors(value, f"{prefix}.{name}".strip(".") if name else prefix)
        return lines
    if isinstance(detail, (list, tuple)):
        lines = []
        for index, item in enumerate(detail):
            # Lists of messages belong to the field; lists of dicts are per-item errors.
            sub_prefix = f"{prefix}[{index}]" if isinstance(item, (dict, list)) else prefix
            lines += flatten_validation_errors(item, sub_prefix)
        return lines
    text = str(detail)
    return [f"{prefix}: {text}" if prefix else text]


def _validation_response(detail) -> Response:
    lines = flatten_validation_errors(detail)
    message = lines[0] if lines else "The request is not valid."
    return Response(error_body("VALIDATION_ERROR", message, "; ".join(lines)), status=400)


_DRF_CODES = [
    (drf.ParseError, "MALFORMED_REQUEST"),
    (drf.NotAuthenticated, "UNAUTHORIZED"),
    (drf.AuthenticationFailed, "UNAUTHORIZED"),
    (drf.PermissionDenied, "FORBIDDEN"),
    (drf.NotFound, "NOT_FOUND"),
    (drf.MethodNotAllowed, "METHOD_NOT_ALLOWED"),
    (drf.NotAcceptable, "NOT_ACCEPTABLE"),
    (drf.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"),
    (drf.Throttled, "RATE_LIMITED"),
]


def payload_too_large(limit: int) -> ApplicationError:
    return ApplicationError(
        "PAYLOAD_TOO_LARGE",
        f"The request body is larger than {limit} bytes.",
        details="Send a smaller body; the limit is set by ENSEMBLE_MAX_BODY_BYTES.",
    )


def database_unavailable_body() -> dict:
    return error_body(
        "DATABASE_UNAVAILABLE", "The database is not reachable right now.", "Nothing was changed; retry shortly.",
    )


# Connection-level failures (server restarting, network gone, SQLite locked too long):
# the client can retry; the app reconnects by itself (CONN_HEALTH_CHECKS).
_DATABASE_DOWN = (OperationalError, InterfaceError)


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every exception raised in a view ends here."""
    if isinstance(exc, _DATABASE_DOWN):
        logger.warning("database unavailable: %s", str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        return Response(database_unavailable_body(), status=503, headers={"Retry-After": "5"})
    if isinstance(exc, RequestDataTooBig):  # Django's own body limit (DATA_UPLOAD_MAX_MEMORY_SIZE)
        exc = payload_too_large(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    if isinstance(exc, ApplicationError):
        body = error_body(exc.error_code, exc.message, exc.details)
        body.update(exc.extra)
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return _validation_response(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, drf.ValidationError):
        return _validation_response(exc.detail)
    if isinstance(exc, Http404):
        return Response(error_body("NOT_FOUND", "Not found."), status=404)
    if isinstance(exc, DjangoPermissionDenied):
        return Response(error_body("FORBIDDEN", "Permission denied."), status=403)
    if isinstance(exc, drf.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "ERROR")
        headers = {}
        details = ""
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait) + 1)
            details = f"Retry after {int(exc.wait) + 1} seconds."
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        message = exc.detail if isinstance(exc.detail, str) else "; ".join(flatten_validation_errors(exc.detail))
        return Response(error_body(code, str(message), details), status=exc.status_code, headers=headers)
    view = context.get("view")
    logger.exception("Unhandled error in %s", type(view).__name__ if view else "a view")
    return Response(
        error_body("INTERNAL_ERROR", "The server failed to handle the request.", "The error was logged."),
        status=500,
    )


# Plain Django handlers (urls.py): paths no view matched, and crashes outside DRF.
def handler400(request, exception=None):
    return JsonResponse(error_body("BAD_REQUEST", "The request could not be understood."), status=400)


def handler403(request, exception=None):
    return JsonResponse(error_body("FORBIDDEN", "Permission denied."), status=403)


def handler404(request, exception=None):
    return JsonResponse(
        error_body("NOT_FOUND", f"No endpoint at {request.path}.", "See /openapi.yml for the operations."),
        status=404,
    )


def handler500(request):
    if isinstance(sys.exc_info()[1], _DATABASE_DOWN):
        return JsonResponse(database_unavailable_body(), status=503, headers={"Retry-After": "5"})
    return JsonResponse(
        error_body("INTERNAL_ERROR", "The server failed to handle the request.", "The error was logged."),
        status=500,
    )
