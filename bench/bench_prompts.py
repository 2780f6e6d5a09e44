"""Issue 4: system prompts.

1. Cached `GET /system-prompt` latency for all nine FountainAI services, in-process
   (snapshots stored; no network). Target: p50 under 5 ms (issue 4), under 1 ms (issue 27:
   the prompt is kept per process while prompts.selectors.catalogue_version() is unchanged).
2. Parse time of twilio_api_v2010.yaml (load + operations) against `yaml.safe_load`
   of the same file (the pure-Python loader most code uses).
3. Prompt tokens per operation against the raw spec's tokens per operation (both
   estimated at 4 characters per token, the same estimator for both).

Needs ../shared/reference (the specs). `python bench/bench_prompts.py`
"""


from _harness import ROOT, Environment, summary, timed

SHARED = ROOT.parent / "shared" / "reference"


def main():
    env = Environment(typesense=False)
    try:
        import yaml
        from django.utils import timezone
        from rest_framework.test import APIClient

        from apikeys.services import api_key_create
        from prompts.models import SpecSnapshot
        from prompts.parsing import load_document, parse_operations
        from prompts.rendering import estimate_tokens
        from registry import services

        files = sorted((SHARED / "fountainai-services").glob("*.yml"))
        raw_chars, ops_total = 0, 0
        for path in files:
            service = services.service_register(id=path.stem.lower(), name=path.stem, description="bench",
                                                openapi_url=f"http://127.0.0.1:9/{path.name}", tags=[])
            body = path.read_bytes()
            parsed = parse_operations(load_document(body), spec_url=service.openapi_url)
            snapshot = SpecSnapshot(service=service, source_url=service.openapi_url, document=body.decode(),
                                    title=parsed["title"], base_url=parsed["base_url"], fetched_at=timezone.now())
            snapshot.operations = parsed["operations"]
            snapshot.save()
            raw_chars += len(body)
            ops_total += len(parsed["operations"])
        _, key = api_key_create(name="bench", is_admin=False)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)
        query = "&".join(f"service_ids={p.stem.lower()}" for p in files)

        def prompt():
            response = client.get(f"/system-prompt?{query}")
            assert response.status_code == 200

        timed(prompt, 20)
        samples = timed(prompt, 300)
        prompt_text = client.get(f"/system-prompt?{query}").json()["system_prompt"]
        print(f"GET /system-prompt, nine FountainAI services ({ops_total} operations), cached, in-process")
        print(f"  {summary(samples)}  (target p50 < 1 ms)")

        twilio = (SHARED / "third-party" / "twilio_api_v2010.yaml").read_bytes()
        base = timed(lambda: yaml.safe_load(twilio), 3)
        ours = timed(lambda: parse_operations(load_document(twilio)), 3)
        print(f"twilio_api_v2010.yaml ({len(twilio) / 1e6:.1f} MB)")
        print(f"  yaml.safe_load (baseline):   {min(base):.2f} s")
        print(f"  load + operations (ours):    {min(ours):.2f} s")
        print(f"  speed-up: {min(base) / min(ours):.1f}x")

        raw_per_op = estimate_tokens("x" * raw_chars) / ops_total
        prompt_per_op = estimate_tokens(prompt_text) / ops_total
        print("tokens per operation (estimate: 4 characters per token)")
        print(f"  raw specs: {raw_per_op:.0f}   prompt: {prompt_per_op:.0f}   ratio prompt/raw: {prompt_per_op / raw_per_op:.2f}")
    finally:
        env.close()


if __name__ == "__main__":
    main()
