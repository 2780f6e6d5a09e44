"""Headless Chromium for the browser tests: one way to start it and to log an admin in."""

import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@contextmanager
def chromium_page(**page_options):
    """A new page in a fresh headless Chromium; the test skips when Chromium is missing."""
    if not CHROMIUM:
        pytest.skip("Chromium is not installed (Debian package 'chromium'); `make test` installs it as root.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(**page_options)
        page.set_default_timeout(15000)
        try:
            yield page
        finally:
            browser.close()


def ensure_superuser(server, username: str, password: str) -> None:
    server.manage("shell", "-c", (
        "from django.contrib.auth import get_user_model; U = get_user_model(); "
        f"U.objects.filter(username={username!r}).exists() or "
        f"U.objects.create_superuser({username!r}, {username + '@example.com'!r}, {password!r})"
    ))


def log_in(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
