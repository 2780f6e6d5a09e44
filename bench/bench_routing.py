"""Issue 11: the tools a model is offered when the registry is large.

The nine FountainAI specs plus Twilio's API v2010 and Conversations v1 (about 340
operations) are registered and served locally; `POST /interact` runs with the OpenAI
backend against a local OpenAI-compatible server that records what it was offered.
For each in-scope request of the dev set: is the expected operation among the
first-round tools, and how many tokens (4 characters each) do the tool definitions
take? Baselines in the same run: every operation offered, and the operations ranking
alone (Typesense) picking the same number of tools.

    python bench/bench_routing.py [--dev ../shared/routing/dev.jsonl]
"""

import argparse
import json

from _harness import ROOT, Environment

THIRD_PARTY = ROOT.parent / "shared" / "reference" / "third-party"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dev", default=str(ROOT.parent / "shared" / "routing" / "dev.jsonl"))
    args = parser.parse_args()
    env = Environment()
    try:
        from django.conf import settings

        from assistants.evaluation import read_cases
        from assistants.openai_backend import (
            offered_tools,
            search_tool_spec,
            tool_spec,
        )
        from interactions.services import interaction_handle
        from operations.ranking import rank_tools
        from operations.scope import assistant_scope
        from prompts.rendering import estimate_tokens
        from prompts.services import spec_refresh
        from registry import services
        from search.worker import Worker
        from tests.fake_openai import FakeOpenAI
        from tests.http_fixtures import FileServer
        from tests.routing_services import start_fountainai_services

        servers = start_fountainai_services()
        for service_id, title, server in servers:
            service = services.service_register(id=service_id, name=title, description=title,
                                                openapi_url=f"http://127.0.0.1:{server.httpd.server_address[1]}/openapi.yml")
            assert spec_refresh(service=service).usable
        files = FileServer()
        for name, title in (("twilio_api_v2010", "Twilio API"), ("twilio_conversations_v1", "Twilio Conversations")):
            url = files.add(f"/{name}.yaml", (THIRD_PARTY / f"{name}.yaml").read_bytes())
            service = services.service_register(id=name.replace("_", "-"), name=title, description=title, openapi_url=url)
            assert spec_refresh(service=service).usable, name
        Worker().drain()  # the operations index is in sync: ranking goes through Typesense

        model = FakeOpenAI()
        settings.ENSEMBLE_ASSISTANT_BACKEND = "openai"
        settings.OPENAI_BASE_URL, settings.OPENAI_API_KEY, settings.OPENAI_MAX_RETRIES = model.base_url, "k", 0
        tools = assistant_scope().tools
        cases = [c for c in read_cases(args.dev) if c["operation"]]
        every = [tool_spec(t) for t in tools]
        hits, ranking_hits, tokens, counts, misses = 0, 0, [], [], []
        limit = settings.ENSEMBLE_ASSISTANT_MAX_TOOLS
        for case in cases:
            model.script({"content": "Noted."})
            interaction_handle(user_input=case["input"])
            offered = model.httpd.requests[-1]["tools"]
            names = {t["function"]["name"].split("__", 1)[-1] for t in offered}
            tokens.append(estimate_tokens(json.dumps(offered)))
            counts.append(len(offered) - 1)
            if case["operation"] in names:
                hits += 1
            else:
                misses.append(case["input"])
            ranked = [t.operation["operation_id"] for _, t in rank_tools(tools, case["input"])[:limit]]
            ranking_hits += case["operation"] in ranked
        assert offered_tools(tools, "x")[1], "more tools than the limit: search_operations is offered"
        n = len(cases)
        print(f"{len(tools)} operations in scope, {n} in-scope dev requests, ENSEMBLE_ASSISTANT_MAX_TOOLS={limit}")
        print(f"  expected operation among first-round tools: {hits}/{n} = {hits / n:.1%} (target >= 95%)")
        print(f"  baseline, the operations ranking alone (top {limit}): {ranking_hits}/{n} = {ranking_hits / n:.1%}")
        print(f"  tool definitions per request: max {max(tokens)} tokens, mean {sum(tokens) / n:.0f} (target < 4,000)")
        print(f"  operations offered per request: min {min(counts)}, mean {sum(counts) / n:.1f}, plus search_operations")
        print(f"  baseline, every operation offered: {estimate_tokens(json.dumps(every))} tokens "
              f"(search_operations alone: {estimate_tokens(json.dumps(search_tool_spec()))})")
        for text in misses:
            print(f"  missed: {text}")
        model.close()
        files.close()
        for _, _, server in servers:
            server.close()
    finally:
        env.close()


if __name__ == "__main__":
    main()
