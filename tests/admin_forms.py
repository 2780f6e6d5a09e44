"""The admin as a browser uses it, without one: what a browser would post for a form
(every field of the page's form with the value it shows: checked boxes only, selected
options), read with the standard library's HTML parser, so a test changes only what a
user would change; and a logged-in session with its CSRF token against a running server."""

import re
from html.parser import HTMLParser

import httpx


class _FormReader(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.data = form_id, False, {}
        self._select, self._textarea = None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data[name] = attrs.get("value", "on")
            elif "disabled" not in attrs:
                self.data[name] = attrs.get("value", "")
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select] = attrs.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.removeprefix("\n") if not self.data[self._textarea] else data


def form_data(html: str, form_id: str) -> dict:
    reader = _FormReader(form_id)
    reader.feed(html)
    return reader.data


class AdminSession:
    """A browser's session in the admin of the running server: logged in, with its CSRF token."""

    def __init__(self, server, username: str, password: str):
        self.http = httpx.Client(base_url=server.url, timeout=30)
        page = self.http.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        response = self.http.post("/admin/login/", data={"username": username, "password": password,
                                                         "csrfmiddlewaretoken": token, "next": "/admin/"})
        assert response.status_code == 302, f"{username} could not log in"

    def post(self, path: str, data: dict) -> httpx.Response:
        return self.http.post(path, data=data, headers={"X-CSRFToken": self.http.cookies["csrftoken"], "Referer": str(self.http.base_url)})

    def close(self):
        self.http.close()
