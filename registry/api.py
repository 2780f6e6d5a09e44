"""The registry's HTTP operations: thin views over registry.services and selectors."""

import functools

from django.conf import settings
from django.core.validators import RegexValidator
from django.http import HttpResponse, HttpResponseNotModified
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apikeys.authentication import AdminApiKeyAuthentication, ApiKeyAuthentication, value_read_along
from apikeys.lastuse import note_key_use
from apikeys.throttling import ApiKeyRateThrottle, key_rate_wait
from audit.services import actor_of_request
from core.negotiation import remembered_media_type
from core.serializers import (
    RejectUnknownFieldsMixin,
    StrictCharField,
    StrictListField,
    SuccessResponseSerializer,
    error_responses,
)

from . import rules, selectors, services
from .filters import ServiceFilterSet

TAG = "Service Management"


@extend_schema_field({"type": "string", "format": "uri"})
class UriField(StrictCharField):
    """An http(s) URL: checked by registry.rules (Django's URLValidator would refuse
    single-label hosts such as Docker service names), typed `format: uri` in the spec."""


class ServiceRegistrationSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A service's details, as sent to register or update it. Fields not listed here are refused."""

    # The patterns document registry.rules in the schema; the rules themselves run in
    # registry.services (model validation), so API and admin refuse the same things.
    id = StrictCharField(
        max_length=rules.SERVICE_ID_MAX,
        validators=[RegexValidator(rules.SERVICE_ID_PATTERN, rules.SERVICE_ID_MESSAGE)],
        help_text="Unique, URL-safe identifier (letters, digits, '-', '_', '.', '~'; starts with a letter or digit).",
    )
    name = StrictCharField(
        max_length=rules.NAME_MAX,
        validators=[RegexValidator(rules.NAME_PATTERN, "The name must not be empty.")],
        help_text="Display name; must not be empty.",
    )
    description = StrictCharField(
        max_length=rules.DESCRIPTION_MAX, allow_blank=True, trim_whitespace=False, help_text="What the service is for."
    )
    openapi_url = UriField(
        max_length=rules.URL_MAX,
        validators=[RegexValidator(rules.URL_PATTERN, "openapi_url must be an absolute http(s) URL with a host.")],
        help_text="Absolute http(s) URL of the service's OpenAPI document.",
    )
    tags = StrictListField(
        child=StrictCharField(
            max_length=rules.TAG_MAX,
            trim_whitespace=False,
            validators=[RegexValidator(rules.TAG_PATTERN, f"Tags are 1 to {rules.TAG_MAX} characters without commas.")],
        ),
        required=False,
        max_length=rules.TAGS_MAX,
        help_text="Labels for filtering. Repeats are dropped; order is kept. Omitted on update means none.",
    )

    class Meta:
        ref_name = "ServiceRegistration"


class ServiceResponseSerializer(serializers.Serializer):
    """A registered service."""

    id = serializers.CharField(help_text="Unique identifier of the service.")
    name = serializers.CharField(help_text="Display name.")
    description = serializers.CharField(help_text="What the service is for.")
    openapi_url = UriField(help_text="Where the service's OpenAPI document is.")
    tags = serializers.ListField(child=serializers.CharField(), source="tag_list", help_text="Labels, in the order given.")

    class Meta:
        ref_name = "ServiceResponse"


class ServiceListSerializer(serializers.Serializer):
    """The registered services."""

    services = ServiceResponseSerializer(many=True)

    class Meta:
        ref_name = "ServiceList"


class ServiceSearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(max_length=500)


def _services_search_response(request, tags: list[str]) -> Response:
    query = ServiceSearchQuerySerializer(data={"q": request.query_params.get("q")})
    query.is_valid(raise_exception=True)
    found = selectors.services_search(q=query.validated_data["q"], tags=tags)
    response = Response(ServiceListSerializer({"services": found.services}).data)
    response["X-Search-Backlog"] = str(found.backlog)
    response["X-Search-Source"] = found.source
    return response


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110's weak comparison for If-None-Match (a list of tags, or *)."""
    if not if_none_match:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates


def _listing_response(request, listing: selectors.ServiceListBody) -> HttpResponse:
    """The body, or 304 when the client's If-None-Match holds its entity tag."""
    # META, not request.headers: building the headers mapping walks the whole environ.
    if _etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), listing.etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(listing.body, content_type="application/json")
    response["ETag"] = listing.etag
    return response


def _listing_authentication() -> ApiKeyAuthentication:
    """The normal key; the registry's revision is read in the key lookup's statement
    (one query, not two)."""
    return ApiKeyAuthentication(along=[selectors.registry_revision_read()])


class ServiceViewSet(viewsets.ViewSet):
    """The four registry operations. Listing needs a normal key; the three writes need the
    admin key (X-ADMIN-API-KEY). The contract's paths are not REST-shaped
    (/services/register, /services/update/{id}, /services/delete/{id}), so they are mapped
    to these actions explicitly in ensemble_project/urls.py rather than by a router."""

    WRITE_ACTIONS = frozenset({"register", "update", "destroy"})

    def get_authenticators(self):
        # The action is known from the URL's mapping before DRF builds the Request.
        action = getattr(self, "action_map", {}).get(self.request.method.lower()) if self.request else None
        if action in self.WRITE_ACTIONS:
            return [AdminApiKeyAuthentication()]
        if action == "list":
            return [_listing_authentication()]
        return super().get_authenticators()

    @extend_schema(
        operation_id="listServices",
        summary="List registered services",
        description="Every service in the registry, ordered by id. With `tags`, only the services that carry all of the given tags.",
        tags=[TAG],
        filters=False,
        parameters=[
            OpenApiParameter(
                "tags",
                type={"type": "array", "items": {"type": "string"}},
                location=OpenApiParameter.QUERY,
                required=False,
                description="Keep services that carry every one of these tags (repeat the parameter: ?tags=a&tags=b).",
            ),
            OpenApiParameter(
                "q",
                type={"type": "string"},
                location=OpenApiParameter.QUERY,
                required=False,
                description=(
                    "Full-text search over name, tags and description through the Typesense mirror "
                    "(typos forgiven), at most 500 characters, best match first. When Typesense does not answer, a plain "
                    "substring match in the database answers instead (ordered by id) and the "
                    "X-Search-Source response header says `database`; X-Search-Backlog counts "
                    "registry changes not yet in the index. Without q nothing changes."
                ),
            ),
        ],
        responses={
            200: OpenApiResponse(ServiceListSerializer, description="The services."),
            **error_responses(400, 401, 500),
        },
    )
    def list(self, request):
        # No query string (most reads): no filter to build; a FilterSet and its form cost
        # more than the rest of a cached read.
        tags = ServiceFilterSet.from_request(request).form.cleaned_data["tags"] if request.query_params else []
        if request.query_params.get("q", "").strip():
            return _services_search_response(request, tags)
        # Rendered from rows and kept per registry revision (selectors.service_list_body);
        # the bytes are those ServiceListSerializer + JSONRenderer gave (a test compares).
        revision = value_read_along(request, selectors.registry_revision_read())
        return _listing_response(request._request, selectors.service_list_body(revision=revision, tags=tags))


    @extend_schema(
        operation_id="registerService",
        summary="Register a service",
        description=(
            "Adds a service to the registry. The change is saved together with a search-sync "
            "entry, and a background worker mirrors it to Typesense, retrying while Typesense "
            "is unavailable. Unknown fields, an id already in use, a non-URL-safe id, an empty "
            "name or a non-http(s) URL are refused with 400."
        ),
        tags=[TAG],
        request=ServiceRegistrationSerializer,
        responses={
            201: OpenApiResponse(ServiceResponseSerializer, description="The registered service."),
            **error_responses(400, 401, 500, e401="No valid admin API key in X-ADMIN-API-KEY."),
        },
    )
    def register(self, request):
        payload = ServiceRegistrationSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        service = services.service_register(**payload.validated_data, actor=actor_of_request(request))
        return Response(ServiceResponseSerializer(service).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="updateService",
        summary="Replace a service's details",
        description=(
            "Replaces the service's name, description, URL and tags (a missing `tags` means no "
            "tags). Ids never change: a body `id` different from the path's is a 400. Mirrored "
            "to Typesense like registration."
        ),
        tags=[TAG],
        parameters=[OpenApiParameter("service_id", str, OpenApiParameter.PATH, description="Id of the service to update.")],
        request=ServiceRegistrationSerializer,
        responses={
            200: OpenApiResponse(ServiceResponseSerializer, description="The updated service."),
            **error_responses(400, 401, 404, 500, e401="No valid admin API key in X-ADMIN-API-KEY."),
        },
    )
    def update(self, request, service_id):
        payload = ServiceRegistrationSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        service = services.service_update(service_id=service_id, **payload.validated_data, actor=actor_of_request(request))
        return Response(ServiceResponseSerializer(service).data)

    @extend_schema(
        operation_id="deleteService",
        summary="Delete a service",
        description="Removes the service from the registry; its Typesense document is removed by the sync worker.",
        tags=[TAG],
        parameters=[OpenApiParameter("service_id", str, OpenApiParameter.PATH, description="Id of the service to delete.")],
        responses={
            200: OpenApiResponse(SuccessResponseSerializer, description="The service is gone."),
            **error_responses(401, 404, 500, e401="No valid admin API key in X-ADMIN-API-KEY."),
        },
    )
    def destroy(self, request, service_id):
        services.service_delete(service_id=service_id, actor=actor_of_request(request))
        return Response({"message": f"Service {service_id!r} deleted."})


# --- GET /services without DRF's machinery, for the common request -----------------------


def with_listing_shortcut(drf_view):
    """`drf_view` (ServiceViewSet's list) behind a shortcut for the common request: GET or
    HEAD without a query string, an active key in X-API-KEY from an address that may
    still try, within the key's rate, with an Accept header DRF has already answered
    with JSON. DRF's per-request machinery (its Request, the viewset, negotiation,
    permission and throttle objects) was a fifth of such a read's time; the shortcut
    does the same steps with the same functions, in DRF's order. Any other request, and
    any of these that fails a step or raises, goes to `drf_view`, which decides as
    always (401, 429, 406, 503, ...). The wrapper carries the DRF view's attributes, so
    the schema generator still sees the viewset."""

    @functools.wraps(drf_view)
    def view(request, *args, **kwargs):
        response = _answer_common_listing(request, drf_view) if _shortcut_mirrors(drf_view) else None
        return response if response is not None else drf_view(request, *args, **kwargs)

    return view


def _answer_common_listing(request, drf_view) -> HttpResponse | None:
    meta = request.META
    if request.method not in ("GET", "HEAD") or meta.get("QUERY_STRING"):
        return None
    authentication = _listing_authentication()  # ServiceViewSet.list's
    raw_key = authentication.raw_key(request)
    if raw_key is None or remembered_media_type(drf_view.cls.renderer_classes, meta.get("HTTP_ACCEPT")) is None:
        return None  # 401 without a key; an Accept header not negotiated yet
    try:
        checked = authentication.check(request, raw_key)  # reads only
        if checked.key is None or checked.failures_wait is not None:
            return None  # DRF answers 401 or 429, and counts the failure
        if key_rate_wait(checked.key, settings.ENSEMBLE_THROTTLE_RATE) is not None:
            return None  # DRF's throttle answers 429 (the spent allowance refuses it too, writing nothing)
        listing = selectors.service_list_body(revision=checked.values_along[selectors.registry_revision_read()], tags=[])
    except Exception:  # DRF decides and answers (e.g. 503 when the database is down)
        return None
    note_key_use(checked.key)
    response = _listing_response(request, listing)
    for header, value in _drf_response_headers(drf_view).items():
        response[header] = value
    return response


@functools.cache
def _drf_response_headers(drf_view) -> dict:
    """The headers DRF adds to the view's answers (Allow), from a view set up as its
    as_view() sets one up for a request."""
    view = drf_view.cls(**drf_view.initkwargs)
    for method, action in {"head": drf_view.actions["get"], **drf_view.actions}.items():
        setattr(view, method, getattr(view, action))
    return dict(view.default_response_headers)


@functools.cache
def _shortcut_mirrors(drf_view) -> bool:
    """The shortcut does what DRF does only while the view's policies are those it
    mirrors: one renderer (no Vary), IsAuthenticated, the per-key throttle."""
    cls = drf_view.cls
    # (as_view's view adds "head" to the actions on its first request)
    return (set(drf_view.actions.values()) == {"list"} and len(cls.renderer_classes) == 1
            and list(cls.permission_classes) == [IsAuthenticated] and list(cls.throttle_classes) == [ApiKeyRateThrottle])
