"""Search benchmark (issue 20): 100,000 interactions in the database and in Typesense;
`GET /logs?q=` through gunicorn (p50 target: under 50 ms), printed beside the database
`icontains` search of the same term (what the admin falls back to), measured in the same
run. Also checks that a misspelled word finds the intended interaction first."""

import argparse
import os
import random
import subprocess
import sys
import time

import httpx
from _harness import ROOT, Environment, free_port, percentile, summary

WORDS = (
    "sword letter poison balcony feast masque nurse friar banished county city street garden tomb "
    "morning night moon star quarrel wedding servant prince duel cousin father mother house torch "
    "dance ring ship storm island king queen ghost castle crown forest letter horse battle army"
).split()
NAMES = ["Romeo", "Tybalt", "Mercutio", "Benvolio", "Paris", "Capulet", "Montague", "Julia", "Juliana", "Rosaline"]
SERVICES = [("character-service", "Character Service"), ("sequence-service", "Sequence Service"), ("script-service", "Script Service")]
TARGET = "Where does Juliet wait for Romeo after the feast?"


def fill(count: int):
    from django.db import transaction
    from django.utils import timezone

    from interactions.models import InteractionLog, ServiceCall

    rng = random.Random(20)
    now = timezone.now()
    batch = 5000
    for start in range(0, count, batch):
        logs = []
        for i in range(start, min(start + batch, count)):
            sname = SERVICES[i % 3][1]
            text = TARGET if i == count // 2 else f"{rng.choice(NAMES)} and the {' '.join(rng.sample(WORDS, 6))}"
            logs.append(InteractionLog(
                created_at=now, user_input=text, assistant_response=f"{rng.choice(NAMES)} speaks of the {rng.choice(WORDS)}.",
                service_responses=[{"service_name": sname, "response": f"{{\"scene\": {i % 40}}}"}],
                backend="local", outcome="answered", request_id=f"bench-{i}",
            ))
        with transaction.atomic():
            created = InteractionLog.objects.bulk_create(logs)
            ServiceCall.objects.bulk_create([
                ServiceCall(log_id=log.pk, position=0, service_id=SERVICES[n % 3][0], service_name=SERVICES[n % 3][1], operation_id="op")
                for n, log in enumerate(created, start=start)
            ])


def icontains(term: str):
    from django.db.models import Q

    from interactions.models import InteractionLog

    words = Q(user_input__icontains=term) | Q(assistant_response__icontains=term)
    # Newest first, as GET /logs and the admin list order.
    rows = InteractionLog.objects.filter(words).order_by("-created_at", "-id")
    return list(rows.only("created_at", "user_input", "assistant_response", "service_responses")[:50])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    env = Environment()
    gunicorn = None
    try:
        from apikeys.services import api_key_create
        from interactions.search_index import LOGS_INDEX
        from search.maintenance import resync_index

        started = time.perf_counter()
        fill(args.logs)
        print(f"inserted {args.logs:,} interactions in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        report = resync_index(LOGS_INDEX, batch_size=1000)
        assert report.documents == args.logs and report.failed == 0, report
        print(f"resynced them into Typesense in {time.perf_counter() - started:.1f} s")
        _, api_key = api_key_create(name="bench", is_admin=False)

        port = free_port()
        server_env = {**os.environ, "ENSEMBLE_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4",
                      "ENSEMBLE_THROTTLE_RATE": "1000000/minute", "PROMETHEUS_MULTIPROC_DIR": str(env.dir / "metrics"),
                      "ENSEMBLE_VAR_DIR": str(env.dir)}
        gunicorn = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "ensemble_project/gunicorn.conf.py"], cwd=ROOT,
                                    env=server_env, stdout=subprocess.DEVNULL, stderr=open(env.dir / "gunicorn.log", "ab"))
        url = f"http://127.0.0.1:{port}"
        client = httpx.Client(base_url=url, headers={"X-API-KEY": api_key}, timeout=30)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.3)

        first = client.get("/logs", params={"q": "Julliet waits"})
        assert first.status_code == 200, first.text[:300]
        top = first.json()["logs"][0]["user_input"]
        print(f"GET /logs?q=Julliet waits -> first result: {top!r} ({'the intended one' if top == TARGET else 'WRONG'})")
        assert top == TARGET

        def through_gunicorn(params, repeat):
            samples = []
            for _ in range(repeat):
                t = time.perf_counter()
                response = client.get("/logs", params=params)
                samples.append(time.perf_counter() - t)
                assert response.status_code == 200, response.text[:300]
            return samples

        for term in ("Julliet", "balcony", "Mercutio sword"):
            through_gunicorn({"q": term}, 10)  # warm-up
            ours = through_gunicorn({"q": term}, args.requests)
            found = len(icontains(term))
            searched = len(client.get("/logs", params={"q": term}).json()["logs"])
            baseline = []
            for _ in range(max(args.requests // 4, 20)):
                t = time.perf_counter()
                icontains(term)
                baseline.append(time.perf_counter() - t)
            print(f"  q={term!r}: first page holds {searched} logs by search, {found} by icontains")
            print(f"    GET /logs?q= through gunicorn (Typesense): {summary(ours)}")
            print(f"    database icontains, in process (baseline):  {summary(baseline)}")
            print(f"    p50 ratio (icontains / search): {percentile(baseline, 0.5) / percentile(ours, 0.5):.1f}x"
                  f" - target: search p50 < 50 ms: {'met' if percentile(ours, 0.5) < 0.050 else 'MISSED'}")
        plain = through_gunicorn({"limit": 50}, args.requests)
        print(f"  GET /logs (no q, database page) through gunicorn, for reference: {summary(plain)}")
    finally:
        if gunicorn:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        env.close()


if __name__ == "__main__":
    main()
