"""How the admin shows long values (core/admin_display.py): JSON pretty-printed (a string
holding JSON is parsed first, so a service's answer is not shown as an escaped string),
text and URLs shortened with the whole value in a tooltip, break points that keep the text."""

import html
import json
import re

from core.admin_display import breakable, json_block, json_text, short_url, shortened, url_column


def block_text(rendered) -> str:
    return html.unescape(re.fullmatch(r'<pre class="json-block">(.*)</pre>', str(rendered), re.S).group(1))


def test_json_strings_are_parsed_and_pretty_printed_and_other_text_is_kept():
    answer = '{"items": [{"id": 1, "name": "Ada \\"the first\\""}], "next": null}'
    assert json_text(answer) == json.dumps(json.loads(answer), indent=2, ensure_ascii=False)
    assert json_text({"sceneId": 9, "body": {"title": "Dawn"}}) == '{\n  "sceneId": 9,\n  "body": {\n    "title": "Dawn"\n  }\n}'
    assert json_text('{"truncated": [1, 2') == '{"truncated": [1, 2'  # not JSON: as it is
    assert json_text("Ünïcode stays") == "Ünïcode stays"


def test_a_json_block_escapes_what_it_shows_and_reads_back_as_the_value():
    value = {"html": "<script>alert(1)</script>", "quote": 'a "b"'}
    rendered = json_block(json.dumps(value))
    assert "<script>" not in str(rendered)
    assert json.loads(block_text(rendered)) == value
    assert str(json_block("")) == '<span class="quiet">-</span>'


def test_long_text_and_urls_are_shortened_with_the_whole_in_a_tooltip():
    assert str(shortened("short", 10)) == "short"
    cut = str(shortened("a" * 50 + " <b>", 20))
    assert cut.startswith('<span title="' + "a" * 50 + ' &lt;b&gt;">') and cut.endswith("a" * 19 + "…</span>")
    url = "https://specs.example.com/v2/screenplay-layout/openapi-definitions/openapi.json?format=json&version=2"
    assert short_url(url) == "specs.example.com/v2/…/openapi.json?…"
    assert short_url("http://a.example/o.yml") == "http://a.example/o.yml"
    column = str(url_column(url))
    assert f'title="{html.escape(url)}"' in column and "…" in column


def test_break_points_keep_the_text_and_escape_it():
    rendered = str(breakable("/api/{sceneId}?a=1&b=<x>"))
    assert html.unescape(rendered.replace("<wbr>", "")) == "/api/{sceneId}?a=1&b=<x>"
    assert "<x>" not in rendered and "&<wbr>" not in rendered
    assert str(breakable("getDialogueLine")) == "get<wbr>Dialogue<wbr>Line"
