"""How the admin shows long values so that lists and inlines fit a 1280-1400 px screen:
JSON pretty-printed in a scrollable block of bounded height, long text and URLs shortened
with the whole value in a tooltip. The styles are in control/static/control/admin.css
(loaded on every admin page by templates/admin/base_site.html)."""

import json
import re
from urllib.parse import urlsplit

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe


def json_text(value) -> str:
    """Pretty-printed JSON of a value; a string holding JSON (a service's answer) is
    parsed first, so it reads as JSON rather than as an escaped string. Text that is not
    JSON (a truncated answer, plain words) is returned as it is."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def json_block(value, *, css_class: str = "") -> SafeString:
    """A <pre> with the pretty-printed value: wraps long lines, scrolls beyond its maximum
    height, never widens its column."""
    if value in (None, "", {}, []):
        return format_html('<span class="quiet">{}</span>', "-" if value in (None, "") else json.dumps(value))
    return format_html('<pre class="{}">{}</pre>', f"json-block {css_class}".strip(), json_text(value))


def shortened(text: str, length: int = 80) -> SafeString:
    """The first `length` characters, the whole text in a tooltip when it was cut."""
    text = text or ""
    if len(text) <= length:
        return format_html("{}", text)
    return format_html('<span title="{}">{}…</span>', text, text[: length - 1].rstrip())


def short_url(url: str, *, length: int = 48) -> str:
    """A URL readable in a narrow column: host and port, the first and last parts of the
    path, '?…' for a query; the whole URL goes in the tooltip (see `url_column`)."""
    if len(url) <= length:
        return url
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    path = parts.path
    if len(segments) > 2:
        path = f"/{segments[0]}/…/{segments[-1]}"
    return f"{parts.netloc}{path}{'?…' if parts.query else ''}"


_BREAKS = re.compile(r"(?<=[/?&_.])|(?<=[a-z])(?=[A-Z])")


def breakable(text: str) -> SafeString:
    """Text that may wrap after '/', '?', '&', '_', '.' and inside camelCase words (a URL,
    a path or an operationId in a narrow column) rather than anywhere; it reads and copies
    as the same text."""
    return mark_safe("<wbr>".join(escape(part) for part in _BREAKS.split(text)))


def url_column(url: str, *, length: int = 48) -> SafeString:
    if not url:
        return format_html('<span class="quiet">-</span>')
    return format_html('<span class="url" title="{}">{}</span>', url, breakable(short_url(url, length=length)))
