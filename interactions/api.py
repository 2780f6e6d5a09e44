from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from audit.services import actor_of_request
from core.errors import ApplicationError
from core.serializers import TypesenseErrorResponseSerializer, error_responses
from search.backend import SearchError

from .filters import LogFilterSet
from .selectors import logs_page, logs_search, logs_sync_failure
from .serializers import UserInputSerializer
from .services import interaction_submit


class ServiceResponseItemSerializer(serializers.Serializer):
    """One service call and what came of it."""

    service_name = serializers.CharField(help_text="The service that was called.")
    response = serializers.CharField(help_text="What it answered, or why the call failed.")

    class Meta:
        ref_name = "ServiceCallResponse"


class InteractionSerializer(serializers.Serializer):
    """The assistant's answer and the service calls behind it."""

    assistant_response = serializers.CharField(help_text="The assistant's answer to the user.")
    service_responses = ServiceResponseItemSerializer(many=True, help_text="Each service call, in order.")
    conversation_id = serializers.CharField(
        help_text="The conversation this turn belongs to; send it back with the next input to continue it."
    )

    class Meta:
        ref_name = "InteractionResponse"


class LogEntrySerializer(serializers.Serializer):
    """One past interaction."""

    timestamp = serializers.DateTimeField(source="created_at", help_text="When the interaction happened.")
    user_input = serializers.CharField(help_text="What the user asked.")
    assistant_response = serializers.CharField(help_text="What the assistant answered.")
    service_responses = ServiceResponseItemSerializer(many=True, help_text="Each service call, in order.")

    class Meta:
        ref_name = "LogEntry"


class LogListSerializer(serializers.Serializer):
    """A page of past interactions, newest first."""

    logs = LogEntrySerializer(many=True)

    class Meta:
        ref_name = "LogList"


class LogsQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=50, help_text="How many entries to return.")
    offset = serializers.IntegerField(min_value=0, default=0, help_text="How many of the newest entries to skip.")
    # The lengths are checked in validate_q/validate_service_id rather than declared as
    # maxLength: a query string of 500 characters, percent-encoded, can exceed what the
    # HTTP server accepts in a request line (a 414 before the application is reached).
    q = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False,
        help_text=(
            "Full-text search over user input, assistant response and service responses, through "
            "the Typesense mirror (typos forgiven), at most 500 characters. Results are ordered "
            "best match first, then newest; the X-Search-Backlog response header counts log "
            "changes not yet in the index. Answers 502 when Typesense does not answer. Without q "
            "and service_id nothing changes."
        ),
    )
    service_id = serializers.CharField(
        required=False, allow_blank=True,
        help_text="Only interactions that called this service (searched through the Typesense mirror, like q).",
    )

    def validate_q(self, value):
        return _at_most(value, 500)

    def validate_service_id(self, value):
        return _at_most(value, 100)


def _at_most(value: str, length: int) -> str:
    if len(value) > length:
        raise serializers.ValidationError(f"At most {length} characters.")
    return value


class InteractionViewSet(viewsets.ViewSet):
    """POST /interact and GET /logs (mapped in ensemble_project/urls.py)."""

    request_body_required = True  # as the contract says, though user_input is optional in it

    @extend_schema(
        operation_id="handleUserInput",
        summary="Answer the user with the help of the services",
        description=(
            "Sends the input to the assistant with a system prompt built from every registered "
            "service, runs the service calls the assistant asks for (with limits on rounds, calls, "
            "time and size), and returns its answer with each service's response. Every "
            "interaction is logged, failed ones included, and mirrored to Typesense."
        ),
        tags=["Interaction Handling"],
        request=UserInputSerializer,
        parameters=[OpenApiParameter(
            "X-Conversation-Id", str, OpenApiParameter.HEADER, response=[200],
            description="The conversation this turn belongs to (the same as the body's conversation_id).",
        )],
        responses={
            200: OpenApiResponse(InteractionSerializer, description="The assistant's answer and the service responses."),
            **error_responses(400, 401, 500, e500="An unexpected failure, or the assistant could not be used; it is logged."),
        },
    )
    def interact(self, request):
        # The body is read inside the service, so a body that cannot be parsed is logged too.
        # A conversation belongs to the key row (not its label: prefixes and names repeat).
        owner = f"key-id:{request.auth.pk}" if getattr(request.auth, "pk", None) is not None else actor_of_request(request)
        log = interaction_submit(read_body=lambda: request.data, requested_by=actor_of_request(request), owner=owner)
        body = {"assistant_response": log.assistant_response, "service_responses": log.service_responses,
                "conversation_id": log.conversation_id}
        return Response(body, headers={"X-Conversation-Id": log.conversation_id})

    @extend_schema(
        operation_id="retrieveLogs",
        summary="List past interactions",
        description=(
            "Interactions, newest first, read from the database (the source of truth). Answers "
            "502 when the logs' Typesense mirror is broken: an interaction has waited longer than "
            "the configured lag (ENSEMBLE_LOGS_MAX_SYNC_LAG_SECONDS, 300 s by default) to be "
            "synchronised and Typesense does not answer."
        ),
        tags=["Logs Management"],
        parameters=[LogsQuerySerializer, OpenApiParameter(
            "conversation_id", str, OpenApiParameter.QUERY,
            description="Only the interactions of this conversation (its turns and its refusals), newest first.",
        )],
        responses={
            200: OpenApiResponse(LogListSerializer, description="A page of interactions."),
            **error_responses(400, 401, 500, e400="limit or offset out of range."),
            502: OpenApiResponse(
                TypesenseErrorResponseSerializer,
                description="Synchronisation with Typesense has been failing for longer than the allowed lag.",
            ),
        },
    )
    def logs(self, request):
        # A plain dict: with a QueryDict DRF would read "?limit=" as "use the default".
        query = LogsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        failure = logs_sync_failure()
        if failure is not None:
            attempts, error = failure
            raise ApplicationError(
                "TYPESENSE_SYNC_FAILED",
                "Interaction logs have not reached Typesense for longer than the allowed lag.",
                details=error[:500],
                status=502,
                extra={"retryAttempt": attempts},
            )
        params = query.validated_data
        # No conversation_id (most reads): no FilterSet to build.
        filters = LogFilterSet.from_request(request) if "conversation_id" in request.query_params else None
        conversation_id = filters.form.cleaned_data["conversation_id"] if filters else ""
        if params.get("q", "").strip() or params.get("service_id"):
            return _logs_search_response(params, conversation_id)
        page = logs_page(limit=params["limit"], offset=params["offset"], logs=filters.qs if filters else None)
        return Response(LogListSerializer({"logs": page}).data)


def _logs_search_response(params, conversation_id: str = "") -> Response:
    try:
        page = logs_search(
            q=params.get("q", ""), service_id=params.get("service_id", ""), conversation_id=conversation_id,
            limit=params["limit"], offset=params["offset"],
        )
    except SearchError as error:
        raise ApplicationError(
            "TYPESENSE_SYNC_FAILED",
            "Searching the logs needs Typesense, which does not answer; GET /logs without q and service_id still works.",
            details=str(error)[:500],
            status=502,
            extra={"retryAttempt": 0},
        ) from error
    response = Response(LogListSerializer({"logs": page.logs}).data)
    response["X-Search-Backlog"] = str(page.backlog)
    return response
