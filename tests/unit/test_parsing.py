"""Parsing specs (prompts.parsing): no database, no server."""

import pytest

from prompts.parsing import SpecError, load_document, parse_operations


def test_ref_cycles_and_remote_refs_are_harmless():
    document = load_document("""
openapi: 3.1.0
info: {title: Cycles, version: '1'}
paths:
  /nodes:
    post:
      operationId: createNode
      parameters:
        - $ref: '#/components/parameters/A'
        - $ref: 'https://example.com/remote.yml#/Param'
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Node'}
      responses: {'200': {description: ok}}
components:
  parameters:
    A: {$ref: '#/components/parameters/B'}
    B: {$ref: '#/components/parameters/A'}
  schemas:
    Node:
      type: object
      required: [name]
      properties:
        name: {type: string}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
""")
    (op,) = parse_operations(document)["operations"]
    assert op["operation_id"] == "createNode" and op["parameters"] == []
    assert op["body"]["schema"]["required"] == ["name"]


def test_operations_without_ids_get_unique_stable_names():
    document = load_document("""
swagger: '2.0'
info: {title: T, version: '1'}
host: api.example.com
basePath: /v1
paths:
  /a-b:
    get: {responses: {'200': {description: ok}}}
  /a_b:
    get: {responses: {'200': {description: ok}}}
""")
    ids = [op["operation_id"] for op in parse_operations(document)["operations"]]
    assert ids == ["get_a_b", "get_a_b_2"]


def test_invalid_documents_raise_spec_error():
    for text in ("[1, 2]", "{", "openapi: 3.0.0\npaths: 5\n"):
        with pytest.raises(SpecError):
            parse_operations(load_document(text))
