"""Fast tests of one floor's logic: no Typesense, no HTTP server, no database unless a
test asks for it. The suite-wide Typesense server is not started for them: this
fixture takes its name and, for each test, points the client at a port that refuses
at once, so a unit test that reaches for Typesense fails instead of waiting."""

import pytest


@pytest.fixture(autouse=True)
def typesense(settings):
    settings.TYPESENSE_URLS = ["http://127.0.0.1:9"]  # the discard port: refused at once
    settings.TYPESENSE_CONNECTION_TIMEOUT = 0.2
    yield None
