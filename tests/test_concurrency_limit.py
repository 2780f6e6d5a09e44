"""The adaptive concurrency limit of outbound/http.py, against real local HTTP servers:
a healthy service busier than its floor is served (its limit grows), a hung one keeps
only its floor of requests in flight and the limit shrinks again, while other
services are served meanwhile. One process here stands for one gunicorn worker."""

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler

import pytest

from outbound.http import OutboundError, concurrency_status, guarded_request
from tests.http_fixtures import send_body, start_server


class _Service(BaseHTTPRequestHandler):
    """Answers after `delay` seconds (changeable while it runs); `hang` makes it answer
    nothing until the client gives up. Counts requests in flight at once."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.peak = max(server.peak, server.in_flight)
            server.received += 1
        try:
            if server.hang.is_set():
                server.released.wait(30)
                self.close_connection = True
                return
            time.sleep(server.delay)
            send_body(self, 200, b'{"ok": true}')
        finally:
            with server.lock:
                server.in_flight -= 1


def _service(delay: float):
    return start_server(_Service, delay=delay, lock=threading.Lock(), in_flight=0, peak=0, received=0,
                        hang=threading.Event(), released=threading.Event())


def _url(httpd) -> str:
    return f"http://127.0.0.1:{httpd.server_address[1]}/thing"


def _burn(stop):
    while not stop.is_set():
        sum(i * i for i in range(10_000))


@pytest.fixture
def cpu_burners():
    """A busy loop per core beside the test, as other work on a shared machine."""
    stop = multiprocessing.Event()
    burners = [multiprocessing.Process(target=_burn, args=(stop,), daemon=True) for _ in range(2)]
    for burner in burners:
        burner.start()
    yield
    stop.set()
    for burner in burners:
        burner.join(5)


def test_twenty_concurrent_calls_to_a_healthy_service_are_all_served_beside_a_cpu_burner(settings, cpu_burners):
    settings.ENSEMBLE_OUTBOUND_CONCURRENCY_FLOOR, settings.ENSEMBLE_OUTBOUND_CONCURRENCY_CEILING = 2, 16
    httpd = _service(delay=0.05)
    try:
        def call(_):
            return guarded_request("GET", _url(httpd), key="healthy-busy", max_bytes=1000).status

        with ThreadPoolExecutor(20) as pool:
            for _round in range(3):  # the first round starts at the floor
                statuses = list(pool.map(call, range(20)))
                assert statuses == [200] * 20
        status = concurrency_status("healthy-busy")
        assert status.limit > 2, status  # it kept up, so its limit grew
        assert httpd.peak <= 16 and status.in_flight == 0 and status.waiting == 0
        assert "limit" in str(status) and "ms" in str(status)
    finally:
        httpd.shutdown()


def test_a_service_that_hangs_keeps_only_its_floor_and_others_are_served(settings):
    settings.ENSEMBLE_OUTBOUND_CONCURRENCY_FLOOR, settings.ENSEMBLE_OUTBOUND_CONCURRENCY_CEILING = 2, 16
    settings.ENSEMBLE_OUTBOUND_BREAKER_FAILURES = 1000  # the limit, not the breaker, is under test
    flaky, other = _service(delay=0.02), _service(delay=0.02)
    try:
        # Heard from once first: a service never heard from gets only a quarter second of
        # patience (what protects against one that hangs from its first call), which a
        # first burst of 12 on a machine busy with the rest of the suite can outlast.
        assert guarded_request("GET", _url(flaky), key="hangs", max_bytes=1000).status == 200
        with ThreadPoolExecutor(12) as pool:
            assert set(pool.map(lambda _: guarded_request("GET", _url(flaky), key="hangs", max_bytes=1000).status,
                                range(60))) == {200}
            grown = concurrency_status("hangs").limit
            assert grown > 2

            flaky.hang.set()
            flaky.received = 0

            def hung_call(_):
                started = time.monotonic()
                try:
                    guarded_request("GET", _url(flaky), key="hangs", max_bytes=1000, timeout=3)
                except OutboundError as failure:
                    return failure.code, time.monotonic() - started
                return "sent", time.monotonic() - started

            hung = [pool.submit(hung_call, n) for n in range(6)]
            # Later calls, once the first have gone unanswered past the stall time (one
            # second for a service that answered before): only the floor's worth may be
            # in flight, so they wait a second at most for a slot and are refused.
            time.sleep(1.2)
            later = [pool.submit(hung_call, n) for n in range(4)]
            # Meanwhile another service answers as usual.
            started = time.monotonic()
            assert guarded_request("GET", _url(other), key="other", max_bytes=1000).status == 200
            assert time.monotonic() - started < 0.5
            outcomes = [f.result() for f in hung + later]
        assert {code for code, _ in outcomes} <= {"TIMEOUT", "BUSY"}
        assert all(elapsed < 3 + 0.5 for _, elapsed in outcomes), outcomes
        assert all(code == "BUSY" and elapsed < 1.5 for code, elapsed in outcomes[6:]), outcomes
        # The first six met the limit it had earned; no later one was sent.
        assert flaky.received <= min(6, grown)
        status = concurrency_status("hangs")
        assert status.limit < grown and status.in_flight == 0  # each timeout halved it
    finally:
        flaky.released.set()
        flaky.shutdown()
        other.shutdown()


def test_a_waiter_is_refused_once_its_deadline_has_passed(settings):
    settings.ENSEMBLE_OUTBOUND_CONCURRENCY_FLOOR, settings.ENSEMBLE_OUTBOUND_CONCURRENCY_CEILING = 1, 1
    settings.ENSEMBLE_OUTBOUND_QUEUE_SECONDS = 5.0
    slow = _service(delay=0.8)
    try:
        assert guarded_request("GET", _url(slow), key="deadline-wait", max_bytes=1000).status == 200  # usual: 0.8 s
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(guarded_request, "GET", _url(slow), key="deadline-wait", max_bytes=1000)
            time.sleep(0.1)
            started = time.monotonic()
            with pytest.raises(OutboundError) as refused:
                guarded_request("GET", _url(slow), key="deadline-wait", max_bytes=1000, timeout=0.3)
            assert refused.value.code == "BUSY" and time.monotonic() - started < 0.6
            assert first.result().status == 200
    finally:
        slow.shutdown()


@pytest.mark.django_db
def test_the_service_page_shows_its_current_limit(demo_services, client_api, admin_client):
    assert client_api.post("/interact", {"user_input": "get character 1"}, format="json").status_code == 200
    status = concurrency_status("character-service")
    page = admin_client.get("/admin/registry/service/character-service/change/").content.decode()
    assert "Calls to it (this worker)" in page
    assert f"limit {status.limit} (floor {status.floor}, ceiling {status.ceiling})" in page and "answers in ~" in page
    assert "circuit closed" in page
