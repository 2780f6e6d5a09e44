"""The admin's search through Typesense in a real browser (headless Chromium): typos
forgiven, facets narrow the list, and with Typesense stopped the page still answers from
the database and says so (issue 20)."""

import pytest

from tests.browser import log_in

pytestmark = pytest.mark.browser

LOGS = """
from interactions.models import InteractionLog, ServiceCall
def add(text, outcome, service):
    log = InteractionLog.objects.create(user_input=text, assistant_response="Noted.", backend="local", outcome=outcome,
        service_responses=[{"service_name": service, "response": "ok"}])
    ServiceCall.objects.create(log=log, position=0, service_id=service.lower().replace(" ", "-"), service_name=service, operation_id="op")
add("Mercutio duels Tybalt in the square", "answered", "Character Service")
add("Recite the Queen Mab speech of Mercutio", "assistant_failed", "Sequence Service")
add("Tybalt alone", "answered", "Character Service")
"""


def test_admin_log_search_with_a_typo_and_a_facet_then_without_typesense(running_server, page, typesense):
    url = running_server.url
    running_server.manage("shell", "-c", LOGS)
    running_server.manage("typesense_sync", "--once")
    log_in(page, url, "browser", "browser-test-password")

    # A typo in the search box still finds both Mercutio logs, highlighted, and no other.
    page.goto(f"{url}/admin/interactions/interactionlog/")
    page.fill("#searchbar", "Mercucio")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#search-notice")
    assert "Searched through Typesense" in page.inner_text("#search-notice")
    rows = page.inner_text("#result_list")
    assert "Mercutio duels Tybalt" in rows and "Queen Mab" in rows and "Tybalt alone" not in rows
    assert page.locator("#result_list mark").count() == 2
    facets = page.inner_text("#search-facets")
    assert "assistant_failed (1)" in facets and "Sequence Service (1)" in facets and "last 24 hours (2)" in facets

    # A facet narrows the list to the failed one; its counts follow.
    page.click("#search-facets a.facet-choice[data-value=assistant_failed]")
    page.wait_for_selector("#search-notice")
    rows = page.inner_text("#result_list")
    assert "Queen Mab" in rows and "Mercutio duels Tybalt" not in rows
    assert "answered" not in page.inner_text("#search-facets")
    # Each row links to its record.
    page.click("#result_list tbody tr th a")
    page.wait_for_selector("#interactionlog_form")
    assert "Queen Mab" in page.content()

    # A log the worker has not delivered yet: the page says the index is behind.
    running_server.manage("shell", "-c", "from interactions.models import InteractionLog; "
                          "InteractionLog.objects.create(user_input='Mercutio again', backend='local', outcome='answered')")
    page.goto(f"{url}/admin/interactions/interactionlog/?q=mercutio")
    assert "behind by 1 change" in page.inner_text("#search-notice")

    typesense.stop()
    try:
        page.goto(f"{url}/admin/interactions/interactionlog/?q=Mercutio&outcome__exact=answered")
        notice = page.inner_text("#search-notice")
        assert "Typesense does not answer" in notice and "database search" in notice
        rows = page.inner_text("#result_list")
        assert "Mercutio duels Tybalt" in rows and "Mercutio again" in rows and "Queen Mab" not in rows
        # The service list falls back the same way.
        page.goto(f"{url}/admin/registry/service/?q=service")
        assert "Typesense does not answer" in page.inner_text("#search-notice")
    finally:
        typesense.start()
    running_server.manage("typesense_sync", "--once")
