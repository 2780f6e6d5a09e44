"""Redaction of secrets in every form a service may echo them back (outbound.redaction),
and the set of values each kind of credential puts on the wire (outbound.auth). Fast:
no database, no server."""

import base64
import html
import json
from urllib.parse import quote, quote_plus, urlencode

import pytest

from outbound.auth import Credential, apply_credentials, redact_text
from outbound.redaction import REDACTED, redact

# A secret with every character that the usual encodings change: slash, plus, space,
# quote, backslash, ampersand, percent, non-ASCII.
SECRET = 'k3y/with+sp ce"q\\uote&amp%é-9Zx'


def transformations(value: str) -> dict[str, str]:
    json_escaped = json.dumps(value)[1:-1]
    return {
        "raw": value,
        "upper case": value.upper(),
        "lower case": value.lower(),
        "JSON": json_escaped,
        "JSON, non-ASCII kept": json.dumps(value, ensure_ascii=False)[1:-1],
        "JSON with \\/": json_escaped.replace("/", "\\/"),
        "JSON inside JSON": json.dumps(json_escaped)[1:-1],
        "JSON inside JSON with \\/": json.dumps(json_escaped.replace("/", "\\/"))[1:-1],
        "URL-encoded": quote(value, safe=""),
        "URL-encoded, / kept": quote(value),
        "URL-encoded, lower-case hex": quote(value, safe="").lower(),
        "form-encoded": quote_plus(value),
        "form body": urlencode({"k": value})[2:],
        "URL-encoded, then JSON with \\/": json.dumps(quote(value)).replace("/", "\\/")[1:-1],
        "HTML": html.escape(value),
    }


@pytest.mark.parametrize("form", list(transformations(SECRET)))
def test_every_usual_transformation_of_a_secret_is_redacted(form):
    echoed = transformations(SECRET)[form]
    text = f'{{"you sent": "{echoed}", "and": "nothing else"}}'
    redacted = redact(text, [SECRET])
    assert echoed not in redacted and REDACTED in redacted
    assert redacted.endswith('"and": "nothing else"}')  # the rest of the answer is untouched


def test_text_without_secrets_is_left_alone_and_short_values_are_not_matched():
    text = "The quick brown fox: nothing secret here, not even a key."
    assert redact(text, [SECRET, "quick-but-absent"]) == text
    assert redact("a b c ab", ["ab"]) == "a b c ab"  # too short to be a secret: redacting it would ruin the text
    assert redact("", [SECRET]) == "" and redact(text, []) == text


def _applied(scheme: dict, secret: str):
    return apply_credentials([Credential({"name": "s", **scheme}, secret)], headers={}, params={})


def _all_forms_redacted(values, raw: str) -> None:
    for form, text in transformations(raw).items():
        assert redact_text(f"echo: {text}.", values) == f"echo: {REDACTED}.", form


@pytest.mark.parametrize("scheme", [
    {"type": "apiKey", "in": "header", "param": "X-API-KEY"},
    {"type": "apiKey", "in": "query", "param": "api_key"},
    {"type": "apiKey", "in": "cookie", "param": "session"},
    {"type": "http", "scheme": "bearer"},
], ids=["header", "query", "cookie", "bearer"])
def test_a_key_or_token_is_redacted_in_every_form(scheme):
    prepared = _applied(scheme, SECRET)
    _all_forms_redacted(prepared.secrets, SECRET)


def test_basic_credentials_are_redacted_whole_as_base64_and_the_password_alone():
    password = "pa/ss+wörd 42"
    prepared = _applied({"type": "http", "scheme": "basic"}, f"ada:{password}")
    token = base64.b64encode(f"ada:{password}".encode()).decode()
    assert prepared.headers["Authorization"] == f"Basic {token}"
    for value in (f"ada:{password}", token, password):
        _all_forms_redacted(prepared.secrets, value)
    # The user name alone is not a secret: an answer may name the user.
    assert redact_text("hello ada", prepared.secrets) == "hello ada"


def test_an_oauth2_secret_is_redacted_field_by_field_but_the_client_id_stays():
    secret = json.dumps({"access_token": "at/1+access-token", "refresh_token": "rt-2/refresh", "client_id": "my-client",
                         "client_secret": "cs+3/client-secret"})
    scheme = {"type": "oauth2", "token_url": "", "flows": {"implicit": ""}}
    prepared = _applied(scheme, secret)
    assert prepared.headers["Authorization"] == "Bearer at/1+access-token" and not prepared.refreshable
    for value in ("at/1+access-token", "rt-2/refresh", "cs+3/client-secret"):
        _all_forms_redacted(prepared.secrets, value)
    assert redact_text("client my-client", prepared.secrets) == "client my-client"


def test_overlapping_forms_leave_no_fragment_behind():
    # One secret inside another (a password inside the basic secret): the longest form wins.
    values = ["ada:password-1", "password-1", base64.b64encode(b"ada:password-1").decode()]
    text = "user ada:password-1 then password-1 then YWRhOnBhc3N3b3JkLTE= and ADA:PASSWORD-1"
    assert redact(text, values) == "user [redacted] then [redacted] then [redacted] and [redacted]"


def test_text_whose_lower_case_changes_length_is_still_redacted():
    # "İ".lower() is two characters: positions in the lower-cased text would be off by one.
    assert redact(f"İstanbul got {SECRET.upper()} and {quote_plus(SECRET)}", [SECRET]) == "İstanbul got [redacted] and [redacted]"


def test_a_non_ascii_secret_is_redacted_after_its_case_changed_and_it_was_encoded():
    value = "Ünïcode-Sécret-42"
    for cased in (value.lower(), value.upper()):
        for text in (json.dumps(cased)[1:-1], quote(cased), quote_plus(cased)):
            assert redact(f"got {text}", [value]) == f"got {REDACTED}", text
