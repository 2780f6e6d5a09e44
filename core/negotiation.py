"""DRF's content negotiation, remembered per Accept header.

Every API request asked DRF to parse its Accept header and match it against the
renderers (a tenth of a cached read's time). The answer depends only on the view's
renderers, the header and the format override, so it is kept per process for the few
distinct headers clients send; refusals (406) are not kept and are decided afresh."""

import threading

from rest_framework.negotiation import DefaultContentNegotiation

# Accept headers are the client's: remember at most this many, then stop adding.
_MAX_REMEMBERED = 512
_chosen: dict[tuple, tuple[int, str]] = {}
_lock = threading.Lock()


def remembered_media_type(renderer_classes, accept: str | None) -> str | None:
    """The media type DRF chose for a view with these renderers and this Accept header on
    a request without format suffix or query string, when it has been decided before
    (None: not yet, or refused)."""
    hit = _chosen.get((tuple(renderer_classes), accept, None, None))
    return hit[1] if hit is not None else None


class RememberingContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        override = self.settings.URL_FORMAT_OVERRIDE
        meta = request._request.META
        # Without a query string there is no format override to read (nor a QueryDict to build for it).
        key = (tuple(type(renderer) for renderer in renderers), meta.get("HTTP_ACCEPT"), format_suffix,
               request.query_params.get(override) if override and meta.get("QUERY_STRING") else None)
        hit = _chosen.get(key)
        if hit is not None:
            return renderers[hit[0]], hit[1]
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        with _lock:
            if len(_chosen) < _MAX_REMEMBERED:
                _chosen[key] = (next(i for i, r in enumerate(renderers) if r is renderer), media_type)
        return renderer, media_type
