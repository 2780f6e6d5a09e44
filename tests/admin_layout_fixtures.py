"""Realistic admin data for the layout tests: a service with a long OpenAPI URL and many
tags, whose spec has long operation paths, long summaries, many required inputs and two
security schemes; an interaction log with several calls (long URLs, JSON bodies) and
approvals, pending and decided. `seed` runs inside the server's process
(`manage.py shell -c`), so the rows are written by the models the server reads."""

import json
from http.server import BaseHTTPRequestHandler

from tests.http_fixtures import LocalServer, send_body

LONG_PATH = "/api/v2/screenplays/{screenplayId}/acts/{actId}/scenes/{sceneId}/characters/{characterId}/dialogue-lines"
SUMMARY = ("Lists every dialogue line a character speaks in one scene of one act of a screenplay, with its parenthetical, "
           "its position in the scene, the revision colour it was last changed in and the annotations of every reviewer")

SPEC = {
    "openapi": "3.1.0",
    "info": {"title": "Screenplay Layout and Rendering Service", "version": "2.4.0"},
    "servers": [{"url": "/api-root"}],
    "components": {"securitySchemes": {
        "apiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-Screenplay-Service-Key"},
        "bearerAuth": {"type": "http", "scheme": "bearer"},
    }},
    "security": [{"apiKeyAuth": []}],
    "paths": {},
}
_IDS = [
    {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
    for name in ("screenplayId", "actId", "sceneId", "characterId")
]
_FILTERS = [
    {"name": name, "in": "query", "required": True, "schema": {"type": "string"}}
    for name in ("revisionColour", "reviewerAccount", "includeParentheticals")
]
for number, (suffix, method, verb) in enumerate([
    ("", "get", "listDialogueLinesOfCharacterInScene"),
    ("", "post", "createDialogueLineForCharacterInScene"),
    ("/{lineId}", "get", "getDialogueLineWithAnnotationsAndRevisions"),
    ("/{lineId}", "put", "replaceDialogueLineKeepingAnnotationHistory"),
    ("/{lineId}", "delete", "deleteDialogueLineAndItsAnnotations"),
    ("/{lineId}/annotations/{annotationId}/replies", "get", "listRepliesToAnnotationOfDialogueLine"),
    ("/{lineId}/annotations/{annotationId}/replies", "post", "replyToAnnotationOfDialogueLineAsReviewer"),
    ("/{lineId}/renderings/fountain-pdf-and-final-draft-xml", "get", "renderDialogueLineInEveryExportFormat"),
]):
    extra = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
             for n in ("lineId", "annotationId") if "{" + n + "}" in suffix]
    operation = {
        "operationId": verb,
        "summary": f"{SUMMARY} ({number})",
        "parameters": _IDS + extra + (_FILTERS if method == "get" else []),
        "responses": {"200": {"description": "The dialogue lines."}},
    }
    if method in ("post", "put"):
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["text", "parenthetical", "revisionColour", "position"],
            "properties": {k: {"type": "string"} for k in ("text", "parenthetical", "revisionColour", "position")},
        }}}}
    SPEC["paths"].setdefault(LONG_PATH + suffix, {})[method] = operation


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.startswith("/specs/"):
            return send_body(self, 200, json.dumps(SPEC).encode())
        send_body(self, 404, b'{"error": "not here"}')


class LayoutService(LocalServer):
    """Serves the spec above under a long URL."""

    def __init__(self):
        super().__init__(_Handler)

    @property
    def spec_url(self) -> str:
        port = self.httpd.server_address[1]
        return (f"http://127.0.0.1:{port}/specs/v2/screenplay-layout-and-rendering-service/openapi-definitions/"
                "openapi.json?format=json&version=2024-06-01-preview&include=extensions,examples,deprecated-operations")


TAGS = ["screenplay", "layout", "rendering", "fountain-format", "final-draft-export", "pdf-export", "production-ready",
        "writers-room", "revisions", "annotations", "reviewers", "dialogue", "characters", "scenes", "acts",
        "team-storytelling", "stable", "v2", "europe-west", "owned-by-the-platform-team"]


def _answer(number: int) -> str:
    lines = [{"lineId": f"line-{number}-{i}", "characterId": "character-0042-margaret-hale",
              "text": "I do not think you understand what this town has cost me, or what it will cost you " * 2,
              "parenthetical": "(quietly, not looking at him)", "revisionColour": "goldenrod",
              "annotations": [{"reviewer": "script-editor@example.com", "note": "Too long for the page; cut the second half?"}]}
             for i in range(4)]
    return json.dumps({"items": lines, "next": f"/api/v2/screenplays/sp-0001/acts/2/scenes/17/lines?cursor={'Q' * 60}"})


def seed(service_id: str) -> dict:
    """An interaction of four calls (one failed), one approved and one pending approval;
    returns their ids for the test to open."""
    import secrets
    from datetime import timedelta

    from django.utils import timezone

    from interactions.models import InteractionLog, PendingApproval, ServiceCall
    from registry.models import Service

    service = Service.objects.get(pk=service_id)
    approved_ref, pending_ref = (f"APR-{secrets.token_hex(4).upper()}" for _ in range(2))
    base = SPEC["servers"][0]["url"]
    now = timezone.now()
    log = InteractionLog.objects.create(
        user_input=("show me every line Margaret speaks in scene 17 of act 2, with the reviewers' notes, then reply to the "
                    "script editor's note on the second line that the cut is fine, and render the third line as PDF"),
        assistant_response="I called four operations of the Screenplay Layout and Rendering Service. " * 6,
        backend="local", outcome="answered", duration_ms=1834, request_id="req-7f3a9c2e41b04d6e",
    )
    calls = []
    for position, (operation_id, method, suffix, ok) in enumerate([
        ("listDialogueLinesOfCharacterInScene", "GET", "", True),
        ("getDialogueLineWithAnnotationsAndRevisions", "GET", "/line-2-1", True),
        ("replyToAnnotationOfDialogueLineAsReviewer", "POST", "/line-2-1/annotations/annotation-0007/replies", False),
        ("renderDialogueLineInEveryExportFormat", "GET", "/line-2-2/renderings/fountain-pdf-and-final-draft-xml", True),
    ]):
        path = LONG_PATH.format(screenplayId="sp-0001-the-harbour-town", actId="act-2", sceneId="scene-17",
                                characterId="character-0042-margaret-hale")
        url = (f"http://127.0.0.1:9{base}{path}{suffix}?revisionColour=goldenrod&reviewerAccount=script-editor%40example.com"
               "&includeParentheticals=true")
        arguments = {"screenplayId": "sp-0001-the-harbour-town", "actId": "act-2", "sceneId": "scene-17",
                     "characterId": "character-0042-margaret-hale", "revisionColour": "goldenrod",
                     "body": {"text": "The cut is fine: keep the first half and the pause.", "position": "2"}}
        calls.append(ServiceCall(
            log=log, position=position, service_id=service.pk, service_name=service.name, operation_id=operation_id,
            method=method, url=url, request=arguments, status=200 if ok else 422, ok=ok, duration_ms=120 + 40 * position,
            response=_answer(position) if ok else json.dumps({"error": "validation failed", "details": {"position": "must be 1-40"}}),
            error="" if ok else "HTTP 422: the service refused the arguments (position must be 1-40)", created_at=now,
        ))
    ServiceCall.objects.bulk_create(calls)
    responses = [{"service_name": service.name, "response": call.response} for call in calls]
    approval_arguments = {"screenplayId": "sp-0001-the-harbour-town", "actId": "act-2", "sceneId": "scene-17",
                          "characterId": "character-0042-margaret-hale", "lineId": "line-2-1",
                          "body": {"text": "I do not think you understand what this town has cost me. " * 3,
                                   "parenthetical": "(quietly)", "revisionColour": "goldenrod", "position": "2"}}
    approved = PendingApproval.objects.create(
        reference=approved_ref, log=log, position=len(calls), service_id=service.pk, service_name=service.name,
        operation_id="replaceDialogueLineKeepingAnnotationHistory", method="PUT", arguments=approval_arguments,
        requested_by="key:ensemble-dev", expires_at=now + timedelta(hours=24), state=PendingApproval.State.APPROVED,
        decided_by="user:control", decided_at=now, call=calls[1],
    )
    responses.append({"service_name": service.name, "response": calls[1].response})
    pending_log = InteractionLog.objects.create(
        user_input="replace Margaret's second line in scene 17 of act 2 with the shorter version the script editor proposed",
        assistant_response=f"replaceDialogueLineKeepingAnnotationHistory waits for an administrator's approval ({pending_ref}).",
        backend="local", outcome="answered", duration_ms=95,
        service_responses=[{"service_name": service.name, "response": "waits for approval"}],
    )
    pending = PendingApproval.objects.create(
        reference=pending_ref, log=pending_log, position=0, service_id=service.pk, service_name=service.name,
        operation_id="replaceDialogueLineKeepingAnnotationHistory", method="PUT", arguments=approval_arguments,
        requested_by="key:ensemble-dev", expires_at=now + timedelta(hours=24),
    )
    InteractionLog.objects.filter(pk=log.pk).update(service_responses=responses)
    return {"log": log.pk, "pending_log": pending_log.pk, "approved": approved.pk, "pending": pending.pk,
            "pending_reference": pending_ref}


def unseed(ids: dict) -> None:
    """Removes what `seed` wrote (the logs, with their calls and approvals)."""
    from interactions.models import InteractionLog

    InteractionLog.objects.filter(pk__in=[ids["log"], ids["pending_log"]]).delete()
