"""The registry's rules, in one place. The model's validators, the API serializer and
the admin form all call these, so a service the admin accepts is one the API accepts."""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

SERVICE_ID_MAX = 100
NAME_MAX = 200
DESCRIPTION_MAX = 5000
URL_MAX = 2000
TAG_MAX = 50
TAGS_MAX = 20

# RFC 3986 unreserved characters, starting with a letter or digit (so never "." or "..").
SERVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._~-]*$"
_SERVICE_ID_RE = re.compile(SERVICE_ID_PATTERN)
# A tag: no commas (the admin edits tags as a comma-separated list), not blank.
TAG_PATTERN = r"^\s*[^\s,][^,]*$"
_TAG_RE = re.compile(TAG_PATTERN)
# What the schema can say of a name and a URL (the full checks are the functions below).
NAME_PATTERN = r"\S"
# RFC 3986 characters only: an IRI ("https://Ï") is not a URI, encode it first.
URL_PATTERN = r"^https?://[A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=%-]+$"
_URL_RE = re.compile(URL_PATTERN, re.IGNORECASE)
SERVICE_ID_MESSAGE = (
    f"An id must be 1 to {SERVICE_ID_MAX} URL-safe characters (letters, digits, '-', '_', '.', '~'), "
    "starting with a letter or digit."
)


def validate_service_id(value: str) -> None:
    if not value or len(value) > SERVICE_ID_MAX or not _SERVICE_ID_RE.fullmatch(value):
        raise ValidationError(SERVICE_ID_MESSAGE, code="invalid_id")


def validate_name(value: str) -> None:
    if not value or not value.strip():
        raise ValidationError("The name must not be empty.", code="blank")


def _validate_http_url(value: str, what: str) -> None:
    try:
        parts = urlsplit(value or "")
    except ValueError:  # e.g. "http://[" : an unbalanced IPv6 bracket
        raise ValidationError(f"{what} is not a valid URL.", code="invalid_url") from None
    if not _URL_RE.fullmatch(value or ""):
        raise ValidationError(
            f"{what} must be an absolute http(s) URL made of URI characters (percent-encode the others).",
            code="invalid_url",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{what} must be an absolute http(s) URL with a host.", code="invalid_url")
    if parts.username or parts.password:
        raise ValidationError(f"{what} must not carry credentials.", code="invalid_url")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ValidationError(f"{what} has an invalid port.", code="invalid_url") from None


def validate_openapi_url(value: str) -> None:
    _validate_http_url(value, "openapi_url")


def validate_base_url_override(value: str) -> None:
    """A base-URL override: empty (none), or an absolute http(s) URL with a host, no
    credentials, query or fragment (operation paths are appended to it)."""
    if not value:
        return
    _validate_http_url(value, "The base URL")
    parts = urlsplit(value)
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValidationError("The base URL must not carry a query or a fragment.", code="invalid_url")


def normalise_tags(tags: list[str]) -> list[str]:
    """Strip each tag, drop repeats (first one wins, order kept), validate."""
    result: list[str] = []
    for raw in tags:
        if not isinstance(raw, str):
            raise ValidationError("Every tag must be a string.", code="invalid_tag")
        tag = raw.strip()
        if not tag or len(tag) > TAG_MAX or not _TAG_RE.fullmatch(tag):
            raise ValidationError(
                f"Tag {raw!r} is not valid: tags are 1 to {TAG_MAX} characters without commas.",
                code="invalid_tag",
            )
        if tag not in result:
            result.append(tag)
    if len(result) > TAGS_MAX:
        raise ValidationError(f"A service has at most {TAGS_MAX} tags.", code="too_many_tags")
    return result
