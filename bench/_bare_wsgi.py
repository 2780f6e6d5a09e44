"""The floor for bench_services.py: a WSGI app that returns the bytes of one file (the
body the service gave), run by gunicorn with the service's own configuration."""

import os

with open(os.environ["BENCH_BARE_BODY"], "rb") as _file:
    BODY = _file.read()
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
