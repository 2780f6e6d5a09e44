"""drf-spectacular post-processing: what the generator cannot say from the views."""

from drf_spectacular.openapi import AutoSchema


def document_security(result, generator, request, public):
    # The contract's document-level default: apiKeyAuth for every operation that does
    # not name its own. (SPECTACULAR_SETTINGS["SECURITY"] would copy it into each operation.)
    result["security"] = [{"apiKeyAuth": []}]
    return result


class EnsembleAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus `request_body_required` on a view: the body is
    required even when none of its fields is (POST /interact in the contract)."""

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body is not None and getattr(self.view, "request_body_required", False):
            body["required"] = True
        return body

    def _is_list_view(self, serializer=None):
        # drf-spectacular treats a viewset's `list` action as returning a bare array; the
        # contract's lists are objects that hold the array ({"services": [...]}).
        return False
