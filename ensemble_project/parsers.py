"""The API's only parser: JSON with a hard size limit.

DRF reads the request stream itself, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never
applies to API bodies; this parser refuses a body over ENSEMBLE_MAX_BODY_BYTES before
decoding it, whether or not the client sent Content-Length.
"""

import io

from django.conf import settings
from rest_framework.parsers import JSONParser

from ensemble_project.errors import payload_too_large


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
        return super().parse(io.BytesIO(data), media_type, parser_context)
