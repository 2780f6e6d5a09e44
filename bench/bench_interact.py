"""Issue 5: /interact overhead and /logs paging.

1. `POST /interact` (OpenAI backend through the real SDK, operations ranked by a
   Typesense search) against an instant local
   fake model and the instant demo Character service: the model asks for one tool
   call, then answers. Baseline: the same three HTTP round trips (model, service,
   model) made directly with httpx. Our overhead = ours - baseline. Target < 10 ms.
2. `GET /logs` at offset 0 and at offset 900,000 of 1,000,000 rows.

    python bench/bench_interact.py [--interactions 200] [--rows 1000000]
"""

import argparse
import json
import threading
from datetime import timedelta

from _harness import Environment, percentile, summary, timed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    env = Environment()  # with Typesense: /interact ranks operations through it
    try:
        import httpx
        from django.conf import settings
        from rest_framework.test import APIClient

        from apikeys.services import api_key_create
        from demo.server import make_server
        from prompts.services import spec_refresh
        from registry import services
        from tests.fake_openai import FakeOpenAI, tool_call

        demo = make_server(0)
        threading.Thread(target=demo.serve_forever, daemon=True).start()
        demo_url = f"http://127.0.0.1:{demo.server_address[1]}"
        service = services.service_register(id="character-service", name="Character Service", description="demo",
                                            openapi_url=f"{demo_url}/character/openapi.yml", tags=[])
        assert spec_refresh(service=service).usable
        from search.worker import Worker

        Worker().drain()  # the operations index is in sync, so ranking goes through Typesense
        model = FakeOpenAI()
        settings.ENSEMBLE_ASSISTANT_BACKEND = "openai"
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY, settings.OPENAI_MAX_RETRIES = model.base_url, "k", 0
        steps = [{"content": None, "tool_calls": [tool_call("character-service__getCharacter", {"characterId": 1})]},
                 {"content": "John Doe."}]

        _, key = api_key_create(name="bench", is_admin=False)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)

        def interact():
            model.script(*steps)
            response = client.post("/interact", {"user_input": "Who is character 1?"}, format="json")
            assert response.status_code == 200, response.content

        raw = httpx.Client()
        first_request = {"model": "m", "messages": [{"role": "user", "content": "Who is character 1?"}]}

        def round_trips():
            model.script(*steps)
            raw.post(f"{model.base_url}/chat/completions", json=first_request).raise_for_status()
            raw.get(f"{demo_url}/character/characters/1").raise_for_status()
            raw.post(f"{model.base_url}/chat/completions", json=first_request).raise_for_status()

        import openai

        sdk = openai.OpenAI(api_key="k", base_url=model.base_url, max_retries=0)
        tools = [{"type": "function", "function": {"name": "character-service__getCharacter", "description": "Get one",
                                                   "parameters": {"type": "object", "properties": {"characterId": {"type": "integer"}}}}}]

        def sdk_round_trips():
            # The same three round trips, the model's through the OpenAI SDK (its own cost).
            model.script(*steps)
            sdk.chat.completions.create(model="m", messages=first_request["messages"], tools=tools)
            raw.get(f"{demo_url}/character/characters/1").raise_for_status()
            sdk.chat.completions.create(model="m", messages=first_request["messages"], tools=tools)

        for warm in (interact, round_trips, sdk_round_trips):
            timed(warm, 20)
        ours, base, with_sdk = [], [], []
        for _ in range(args.interactions):  # interleaved, so noise hits all alike
            ours += timed(interact, 1)
            base += timed(round_trips, 1)
            with_sdk += timed(sdk_round_trips, 1)
        p50 = lambda samples: percentile(samples, 0.5)  # noqa: E731 - a one-line local helper
        print(f"POST /interact, {args.interactions} interactions (model: tool call, then answer; one service call)")
        print(f"  /interact:                              {summary(ours)}")
        print(f"  three round trips alone (httpx):        {summary(base)}")
        print(f"  three round trips, model via the SDK:   {summary(with_sdk)}")
        print(f"  overhead over raw round trips (p50): {(p50(ours) - p50(base)) * 1000:.2f} ms  (target < 10 ms); ratio {p50(ours) / p50(base):.2f}")
        print(f"  of which the OpenAI SDK (p50):       {(p50(with_sdk) - p50(base)) * 1000:.2f} ms")
        print(f"  ours beyond the SDK (p50):           {(p50(ours) - p50(with_sdk)) * 1000:.2f} ms")
        model.close()
        demo.shutdown()

        from django.db import connection
        from django.utils import timezone

        from interactions.models import InteractionLog

        now = timezone.now()
        batch = 20000
        responses = json.dumps([{"service_name": "Character Service", "response": "ok"}])
        with connection.cursor() as cursor:  # raw inserts: a million ORM objects would dominate the run
            for start in range(0, args.rows, batch):
                cursor.executemany(
                    "INSERT INTO interactions_interactionlog (created_at, user_input, assistant_response, service_responses, "
                    "backend, model, outcome, error, duration_ms, request_id) VALUES (%s, %s, %s, %s, 'local', '', 'answered', '', 1, '')",
                    [(now - timedelta(seconds=start + i), f"input {start + i}", "answer", responses) for i in range(batch)],
                )
        rows = InteractionLog.objects.count()
        deep = min(900_000, rows - 50)
        first = timed(lambda: client.get("/logs?offset=0&limit=50"), 50)
        last = timed(lambda: client.get(f"/logs?offset={deep}&limit=50"), 20)
        print(f"GET /logs on {rows:,} rows, limit 50")
        print(f"  offset 0:       {summary(first)}")
        print(f"  offset {deep:,}: {summary(last)}")
        print(f"  ratio deep/first (p50): {percentile(last, 0.5) / percentile(first, 0.5):.1f}")
    finally:
        env.close()


if __name__ == "__main__":
    main()
