"""Issue 13 (item "/interact with 1,000 services"): `POST /interact` p50 with 1,000
registered services (10 operations each) against the same with 10, offline assistant,
an instant local service. Target: under 20 ms more.

    python bench/bench_interact_scale.py [--services 1000] [--interactions 50]
"""

import argparse
import os

from _harness import Environment, percentile, summary, timed

SPEC = """openapi: 3.0.3
info: {title: NAME, version: '1'}
servers: [{url: 'BASE'}]
paths:
""" + "".join(f"""  /things{i}/{{thingId}}:
    get:
      operationId: getThing{i}OfNAME
      summary: Retrieve thing {i} of NAME
      parameters: [{{name: thingId, in: path, required: true, schema: {{type: integer}}}}]
      responses: {{'200': {{description: ok}}}}
""" for i in range(10))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--interactions", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="print where the time goes at the larger size")
    args = parser.parse_args()
    env = Environment()
    try:
        from rest_framework.test import APIClient

        from apikeys.services import api_key_create
        from prompts.services import spec_refresh
        from registry import services
        from search.worker import Worker
        from tests.http_fixtures import FileServer

        files = FileServer()
        base = files.url("")
        files.add("/things0/1", '{"id": 1}', "application/json")

        def register(count, start):
            for n in range(start, count):
                name = f"Svc{n:04d}"
                url = files.add(f"/{name}.yml", SPEC.replace("NAME", name).replace("BASE", base))
                service = services.service_register(id=f"svc-{n:04d}", name=name, description=name, openapi_url=url)
                assert spec_refresh(service=service).usable

        _, key = api_key_create(name="bench", is_admin=False)
        client = APIClient()
        client.credentials(HTTP_X_API_KEY=key)

        def interact():
            response = client.post("/interact", {"user_input": "get thing 0 of Svc0001 thingId=1"}, format="json")
            assert response.status_code == 200, response.content

        results = {}
        registered = 0
        for count in (10, args.services):
            register(count, registered)
            registered = count
            Worker().drain()
            timed(interact, 5)
            results[count] = timed(interact, args.interactions)
            print(f"  {count:>5} services: {summary(results[count])}", flush=True)
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.runcall(timed, interact, 5)
            pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(int(os.environ.get("ROWS", 35)))
        small, large = (percentile(results[c], 0.5) for c in (10, args.services))
        print(f"/interact p50 with {args.services} services minus with 10: {(large - small) * 1000:.1f} ms (target < 20 ms)")
        files.close()
    finally:
        env.close()


if __name__ == "__main__":
    main()
