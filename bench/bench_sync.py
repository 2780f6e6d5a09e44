"""Issue 3: Typesense synchronisation speed.

1. Resync throughput: `typesense_resync` of 100,000 interaction logs (read from the
   database, converted, imported in batches) against the Typesense client's own bulk
   import of the same 100,000 documents prepared in memory. Target: >= 0.9 (issue 27).
2. `POST /services/register` latency with Typesense down against up (in-process test
   client, so only our code is measured). Target: <= 1.2: a request never waits on Typesense.

    python bench/bench_sync.py [--logs 100000] [--requests 300]
"""

import argparse
import time

from _harness import Environment, percentile, summary, timed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    env = Environment()
    try:
        from django.utils import timezone

        from interactions.models import InteractionLog
        from interactions.search_index import LOGS_INDEX, to_document
        from search.backend import get_backend
        from search.maintenance import resync_index

        now = timezone.now()
        InteractionLog.objects.bulk_create(
            [InteractionLog(created_at=now, user_input=f"bulk input number {i} about characters and actions",
                            assistant_response=f"answer {i}", service_responses=[{"service_name": "Character Service", "response": "ok"}],
                            backend="local", outcome="answered") for i in range(args.logs)],
            batch_size=5000,
        )
        backend = get_backend()

        # Each side runs twice, alternating, into a fresh collection; the best run counts
        # (the machine is shared and noisy; the order must not favour either side).
        documents = [to_document(log) for log in InteractionLog.objects.order_by("pk").iterator(chunk_size=5000)]
        baseline_runs, our_runs = [], []
        for round_ in range(2):
            name = f"bench_baseline_{round_}"
            backend.create_collection(LOGS_INDEX.collection_schema(name))
            started = time.perf_counter()
            results = backend.client.collections[name].documents.import_(documents, {"action": "upsert"}, batch_size=1000)
            baseline_runs.append(time.perf_counter() - started)
            assert all(r.get("success") for r in results)
            backend.drop_collection(name)

            started = time.perf_counter()
            report = resync_index(LOGS_INDEX, batch_size=1000)
            our_runs.append(time.perf_counter() - started)
            assert report.documents == args.logs and report.failed == 0
            backend.client.aliases[backend.alias_name(LOGS_INDEX.name)].delete()
            backend.drop_collection(report.collection)
        baseline, ours = min(baseline_runs), min(our_runs)

        print(f"resync of {args.logs} interaction logs (best of 2 alternating runs each)")
        print(f"  client bulk import of prepared documents (baseline): {baseline:.2f} s = {args.logs / baseline:,.0f} docs/s")
        print(f"  typesense_resync from the database (ours):           {ours:.2f} s = {args.logs / ours:,.0f} docs/s")
        print(f"  throughput ratio ours/baseline: {baseline / ours:.2f}  (target >= 0.9)")

        # Register latency, Typesense up vs down.
        from rest_framework.test import APIClient

        from apikeys.services import api_key_create

        _, admin = api_key_create(name="bench", is_admin=True)
        client = APIClient()
        client.credentials(HTTP_X_ADMIN_API_KEY=admin)
        counter = iter(range(10**9))

        def register():
            i = next(counter)
            response = client.post("/services/register", {"id": f"bench-{i}", "name": "Bench", "description": "",
                                                            "openapi_url": "http://127.0.0.1:9/x.yml", "tags": ["a", "b"]}, format="json")
            assert response.status_code == 201, response.content

        timed(register, 30)  # warm-up
        up = timed(register, args.requests)
        env.stop_typesense()
        down = timed(register, args.requests)
        env.start_typesense()
        up_again = timed(register, args.requests)
        up_all = up + up_again
        print(f"POST /services/register, {args.requests} requests per run")
        print(f"  Typesense up:   {summary(up_all)}")
        print(f"  Typesense down: {summary(down)}")
        print(f"  latency ratio down/up (p50): {percentile(down, 0.5) / percentile(up_all, 0.5):.2f}  (target <= 1.2)")
    finally:
        env.close()


if __name__ == "__main__":
    main()
