"""The API's only parser: JSON with a hard size limit and a nesting limit; and the
middleware that reads chunked request bodies.

DRF reads the request stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never
applies to API bodies; this parser refuses a body over ENSEMBLE_MAX_BODY_BYTES before
decoding it, whether or not the client sent Content-Length. JSON nested deeper than
MAX_JSON_DEPTH is a 400, never a RecursionError.

A body sent with `Transfer-Encoding: chunked` has no Content-Length, and Django (like
DRF) then reads it as empty. `ChunkedBodyMiddleware` reads it (within the size limit)
when the server has decoded the chunks and marks the input as terminated (gunicorn does,
`wsgi.input_terminated`); any other server gets a clear 400 LENGTH_REQUIRED.
"""

import io

from django.conf import settings
from django.http import JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from core.errors import error_body, payload_too_large

MAX_JSON_DEPTH = 64


def json_depth_exceeds(value, limit: int) -> bool:
    """True when `value` nests lists/objects deeper than `limit` (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


def _too_deep() -> ParseError:
    return ParseError(f"JSON parse error - the body is nested deeper than {MAX_JSON_DEPTH} levels.")


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.ENSEMBLE_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        too_large = payload_too_large(limit)
        if declared and declared.isdigit() and int(declared) > limit:
            raise too_large
        data = stream.read(limit + 1) if stream is not None else b""
        if len(data) > limit:
            raise too_large
        try:
            parsed = super().parse(io.BytesIO(data), media_type, parser_context)
        except RecursionError:
            raise _too_deep() from None
        if json_depth_exceeds(parsed, MAX_JSON_DEPTH):
            raise _too_deep()
        return parsed


class ChunkedBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        if "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and not meta.get("CONTENT_LENGTH"):
            if not meta.get("wsgi.input_terminated"):
                return JsonResponse(error_body(
                    "LENGTH_REQUIRED", "This server cannot read chunked request bodies.",
                    "Send the body with a Content-Length header.",
                ), status=400)
            # One byte more than the limit at most: the parser then refuses it as too large.
            body = meta["wsgi.input"].read(settings.ENSEMBLE_MAX_BODY_BYTES + 1)
            # From here on the request looks as if it had been sent with Content-Length.
            request._stream = io.BytesIO(body)
            meta["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)
