from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from core.serializers import error_responses

from .selectors import system_prompt_for


class SystemPromptSerializer(serializers.Serializer):
    """A generated system prompt."""

    system_prompt = serializers.CharField(help_text="The system prompt for the assistant.")

    class Meta:
        ref_name = "SystemPrompt"


class SystemPromptViewSet(viewsets.ViewSet):
    """GET /system-prompt (mapped in ensemble_project/urls.py)."""

    @extend_schema(
        operation_id="generateSystemPrompt",
        summary="Build a system prompt from services' OpenAPI documents",
        description=(
            "Renders one prompt describing the operations of the given services, in the order "
            "given (repeated ids count once). Specs come from the stored snapshot; a service "
            "without one is fetched first (one fetch shared by all requests, awaited a few "
            "seconds at most). Unknown ids, or a spec that cannot be fetched or parsed or is "
            "not available yet, are a 400 naming the services."
        ),
        tags=["System Prompt Management"],
        parameters=[
            OpenApiParameter(
                "service_ids",
                type={"type": "array", "items": {"type": "string"}},
                location=OpenApiParameter.QUERY,
                required=True,
                description="Service ids to include (repeat the parameter: ?service_ids=a&service_ids=b).",
            )
        ],
        responses={
            200: OpenApiResponse(SystemPromptSerializer, description="The prompt."),
            **error_responses(400, 401, 500, e400="Missing or unknown service ids, or a spec that cannot be used."),
        },
    )
    def generate(self, request):
        prompt = system_prompt_for(request.query_params.getlist("service_ids"))
        return Response({"system_prompt": prompt})
