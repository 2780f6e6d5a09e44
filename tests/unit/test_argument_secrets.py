"""Which arguments are secrets (operations.arguments): a name that says so, or a schema
that marks the field `format: password` or `writeOnly`, wherever the field sits
(properties, items, additionalProperties, allOf/oneOf/anyOf). Fast: no database."""

import pytest

from operations.arguments import redact, secret_name, secret_values
from operations.tools import arguments_schema
from prompts.parsing import parse_operations

R = "[redacted]"


@pytest.mark.parametrize("name", ["password", "userPassword", "new_password", "client_secret", "X-API-KEY", "api_key",
                                  "APIKey", "accessToken", "refresh_token", "authtoken", "Authorization", "passPhrase",
                                  "pin", "credentials"])
def test_names_that_say_they_hold_a_secret(name):
    assert secret_name(name)


@pytest.mark.parametrize("name", ["passengers", "compass", "tokenizer", "secretary", "author", "authorName", "spinner",
                                  "name", "title", "keyword"])
def test_names_that_merely_start_like_one_are_not_secrets(name):
    assert not secret_name(name)


SCHEMA = {"type": "object", "properties": {
    "id": {"type": "integer"},
    "body": {"allOf": [
        {"type": "object", "properties": {"login": {"type": "string", "format": "password"}}},
        {"properties": {"recovery": {"type": "string", "writeOnly": True},
                        "codes": {"type": "array", "items": {"type": "string", "format": "password"}},
                        "profile": {"type": "object", "additionalProperties": {"type": "string", "writeOnly": True}},
                        "name": {"type": "string"}}},
    ]},
    "choice": {"oneOf": [{"type": "object", "properties": {"pw": {"type": "string", "format": "password"}}},
                         {"type": "object", "properties": {"nick": {"type": "string"}}}]},
}}


def test_fields_the_schema_marks_are_redacted_wherever_they_sit():
    value = {"id": 5, "body": {"login": "USER-PW-77", "recovery": "rec-0001", "codes": ["code-1111", "code-2222"],
                               "profile": {"hint": "my-dog-rex"}, "name": "Ada", "apiKey": "k-12345678"},
             "choice": {"pw": "choice-pw-9", "nick": "ada"}}
    assert redact(value, SCHEMA) == {
        "id": 5, "body": {"login": R, "recovery": R, "codes": [R, R], "profile": {"hint": R}, "name": "Ada", "apiKey": R},
        "choice": {"pw": R, "nick": "ada"}}
    assert set(secret_values(value, SCHEMA)) == {"USER-PW-77", "rec-0001", "code-1111", "code-2222", "my-dog-rex",
                                                 "k-12345678", "choice-pw-9"}
    # Without the schema only the names count; the value itself is never changed.
    assert redact(value)["body"]["login"] == "USER-PW-77" and redact(value)["body"]["apiKey"] == R
    assert value["body"]["login"] == "USER-PW-77"


def test_a_whole_value_the_schema_marks_is_one_secret():
    schema = {"type": "object", "properties": {"body": {"type": "object", "writeOnly": True}}}
    assert redact({"body": {"a": "one-secret", "b": ["two-secret"]}}, schema) == {"body": R}
    assert secret_values({"body": {"a": "one-secret", "b": ["two-secret"]}}, schema) == ["one-secret", "two-secret"]


def test_the_parser_keeps_the_marks_a_spec_gives():
    spec = {"openapi": "3.0.3", "info": {"title": "Accounts", "version": "1"}, "servers": [{"url": "http://127.0.0.1:9/"}],
            "paths": {"/accounts": {"post": {"operationId": "createAccount", "responses": {"201": {"description": "ok"}},
                                             "parameters": [{"name": "otp", "in": "query",
                                                             "schema": {"type": "string", "format": "password"}}],
                                             "requestBody": {"content": {"application/json": {"schema": {
                                                 "$ref": "#/components/schemas/Account"}}}}}}},
            "components": {"schemas": {"Account": {"type": "object", "properties": {
                "user": {"type": "string"}, "secretAnswer": {"type": "string", "writeOnly": True}}}}}}
    (operation,) = parse_operations(spec)["operations"]
    schema = arguments_schema(operation)
    arguments = {"otp": "otp-123456", "body": {"user": "ada", "secretAnswer": "blue-whale"}}
    assert redact(arguments, schema) == {"otp": R, "body": {"user": "ada", "secretAnswer": R}}
