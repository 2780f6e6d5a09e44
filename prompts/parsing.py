"""OpenAPI documents (Swagger 2.0, OpenAPI 3.0 and 3.1) to a list of operations.

Only local `$ref`s (`#/...`) are followed, with cycle detection; remote and `file:`
references are never fetched. YAML is loaded as YAML 1.2 (yaml12.py: a Rust parser,
PyYAML's C loader for what it does not take), JSON takes the json module's fast path, and a node budget stops alias bombs (billion
laughs) and absurd documents before they cost memory or time.

What parsing produces has budgets too, none of which a document can dodge: `$ref`
chains are followed in a loop (at most MAX_REF_HOPS hops, no recursion per hop), the
schema nodes expansion creates are counted (MAX_EXPANDED_NODES: a small document whose
references fan out must not expand to gigabytes), the stored operations are capped
(MAX_OPERATIONS_JSON_BYTES) and so is the time (MAX_PARSE_SECONDS). `parse_spec` turns
any failure, whatever its type, into a SpecError the snapshot keeps.
"""

import json
import re
import time
from typing import NotRequired, TypedDict
from urllib.parse import urljoin

import yaml

from .yaml12 import load_yaml

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_NODES = 3_000_000
MAX_OPERATIONS = 10_000
SCHEMA_DEPTH = 4
MAX_REF_HOPS = 64
MAX_EXPANDED_NODES = 100_000
MAX_OPERATIONS_JSON_BYTES = 16 * 1024 * 1024
MAX_PARSE_SECONDS = 10.0
# What an operation answers is kept as a shape (field names and types, no text), deep
# enough to reach `tracks.items[].artists[].id`; its nodes have a budget of their own, so
# a huge spec keeps its operations with shallower shapes rather than failing.
RESPONSE_DEPTH = 7
MAX_SHAPE_NODES = 200_000
MAX_SHAPE_PROPERTIES = 60


# One input of an operation outside its body; "in" is "path", "query", "header" or
# "cookie" (a keyword, hence the functional form).
Parameter = TypedDict("Parameter", {"name": str, "in": str, "required": bool, "schema": dict, "description": str})
# What a response looks like: {"type": …, "properties": {name: shape}} or {"type": "array",
# "items": shape}, allOf/oneOf/anyOf merged; a `format` is kept (dates, uris).
Shape = dict


class Body(TypedDict):
    required: bool
    content_type: str  # JSON, or a form (URL-encoded or multipart)
    schema: dict


class Operation(TypedDict):
    """One operation of a spec, as parsing gives it, a snapshot stores it (JSON) and
    prompts, tools, the caller, MCP and the admin read it."""

    operation_id: str
    method: str  # upper case
    path: str
    summary: str
    parameters: list[Parameter]
    body: Body | None
    security: list[list[str]]  # alternatives, each the scheme names it needs together
    # What the assistant reads an operation by (absent in snapshots parsed before them):
    description: str  # the description, when the summary is not all of it
    tags: list[str]
    response: Shape  # the success answer's shape ({} when the spec does not say)
    aliases: dict[str, list[str]]  # x-ensemble-aliases: a word of the operation -> words that mean it
    base_url: NotRequired[str]  # only when the operation or its path declares its own `servers`


class SpecError(Exception):
    """The document is not a usable OpenAPI document; the message says why."""


def load_document(raw: bytes | str) -> dict:
    text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    stripped = text.lstrip()
    try:
        if stripped.startswith("{"):
            document = json.loads(text)
        else:
            document = load_yaml(text)
    except (ValueError, yaml.YAMLError) as error:
        raise SpecError(f"The document is neither valid JSON nor valid YAML: {str(error)[:300]}") from None
    except RecursionError:
        raise SpecError("The document is nested too deeply.") from None
    if not isinstance(document, dict):
        raise SpecError("The document's top level is not an object.")
    _check_node_budget(document)
    if not ("openapi" in document or "swagger" in document):
        raise SpecError("The document has neither an 'openapi' nor a 'swagger' version field.")
    return document


def _check_node_budget(document) -> None:
    """Count nodes as a traversal would see them; YAML aliases share objects, so a
    billion-laughs document is small in memory but explodes here, and is refused."""
    budget = MAX_NODES
    stack = [document]
    while stack:
        node = stack.pop()
        budget -= 1
        if budget < 0:
            raise SpecError(f"The document expands to more than {MAX_NODES} nodes (a YAML alias bomb?).")
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


class _Resolver:
    def __init__(self, document: dict, deadline: float | None = None):
        self.document = document
        self.deadline = deadline if deadline is not None else time.monotonic() + MAX_PARSE_SECONDS
        self.expanded = 0  # schema nodes produced so far
        self.shaped = 0  # response shape nodes produced so far

    def lookup(self, ref: str):
        if not isinstance(ref, str) or not ref.startswith("#"):
            return None  # remote or file reference: never fetched
        node = self.document
        for raw in ref[1:].split("/")[1:] if ref.startswith("#/") else []:
            key = raw.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and key in node:
                node = node[key]
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                node = node[int(key)]
            else:
                return None
        return node

    def deref(self, node, seen=None):
        """Follow a chain of $refs to a concrete node; None for cycles or dangling refs."""
        seen = set() if seen is None else seen
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or ref in seen:
                return None
            seen.add(ref)
            if len(seen) > MAX_REF_HOPS:
                raise SpecError(f"A $ref chain is longer than {MAX_REF_HOPS} hops (at {ref[:200]}).")
            node = self.lookup(ref)
        return node

    def _count(self) -> None:
        self.expanded += 1
        if self.expanded > MAX_EXPANDED_NODES:
            raise SpecError(
                f"The document's $refs expand to more than {MAX_EXPANDED_NODES} schema nodes (a $ref fan-out bomb?)."
            )
        if not self.expanded % 1024 and time.monotonic() > self.deadline:
            raise SpecError(f"Parsing the document took longer than {MAX_PARSE_SECONDS:g} s.")

    def schema(self, node, depth: int = SCHEMA_DEPTH, seen: frozenset = frozenset()) -> dict:
        """A self-contained JSON schema (local refs inlined to `depth`, cycles cut)."""
        self._count()
        hops = 0
        while isinstance(node, dict) and "$ref" in node:  # a chain of refs: a loop, not recursion
            ref = node["$ref"]
            if not isinstance(ref, str):
                return {}
            if ref in seen or depth <= 0:
                return {"type": "object", "description": f"(see {ref})"}
            hops += 1
            if hops > MAX_REF_HOPS:
                raise SpecError(f"A $ref chain is longer than {MAX_REF_HOPS} hops (at {ref[:200]}).")
            target = self.lookup(ref)
            if target is None:
                return {"description": f"(unresolved reference {ref})"}
            seen, node = seen | {ref}, target
        if not isinstance(node, dict):
            return {}
        result = {}
        for key in ("type", "format", "enum", "default", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                    "minLength", "maxLength", "pattern", "minItems", "maxItems", "description", "nullable", "const", "writeOnly"):
            if key in node:
                result[key] = node[key]
        if depth > 1:
            if isinstance(node.get("properties"), dict):
                result["properties"] = {k: self.schema(v, depth - 1, seen) for k, v in list(node["properties"].items())[:200]}
            if isinstance(node.get("required"), list):
                result["required"] = [r for r in node["required"] if isinstance(r, str)]
            if "items" in node:
                result["items"] = self.schema(node["items"], depth - 1, seen)
            for combiner in ("allOf", "oneOf", "anyOf"):
                if isinstance(node.get(combiner), list):
                    result[combiner] = [self.schema(s, depth - 1, seen) for s in node[combiner][:20]]
        return result


    def shape(self, node, depth: int = RESPONSE_DEPTH, seen: frozenset = frozenset()) -> Shape:
        """What a value of `node` looks like: its type, its fields' shapes (allOf, oneOf
        and anyOf merged into one object), its items' shape; no descriptions or bounds.
        Cycles and what lies past `depth` or the shape budget become {}."""
        self.shaped += 1
        if self.shaped > MAX_SHAPE_NODES or depth <= 0:
            return {}
        hops = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or ref in seen or hops > MAX_REF_HOPS:
                return {}
            hops += 1
            seen, node = seen | {ref}, self.lookup(ref)
        if not isinstance(node, dict):
            return {}
        result: Shape = {}
        kind = node.get("type")
        if isinstance(kind, list):  # OpenAPI 3.1: ["string", "null"]
            kind = next((k for k in kind if k != "null"), None)
        if isinstance(kind, str):
            result["type"] = kind
        if isinstance(node.get("format"), str):
            result["format"] = node["format"]
        properties = {}
        # allOf: every part holds; oneOf/anyOf: only what every alternative has is sure to be there.
        for combiner in ("allOf", "oneOf", "anyOf"):
            parts = node.get(combiner)
            if not isinstance(parts, list) or not parts:
                continue
            shapes = [self.shape(part, depth, seen) for part in parts[:20]]
            shapes = [s for s in shapes if s]
            if not shapes:
                continue
            if combiner == "allOf":
                for part_shape in shapes:
                    properties.update(part_shape.get("properties", {}))
            else:
                common = set.intersection(*(set(s.get("properties", {})) for s in shapes))
                properties.update({k: v for k, v in shapes[0].get("properties", {}).items() if k in common})
            if "items" in shapes[0] and "items" not in result:
                result["items"] = shapes[0]["items"]
            result.setdefault("type", shapes[0].get("type", "object"))
        if isinstance(node.get("properties"), dict):
            for name, sub in list(node["properties"].items())[:MAX_SHAPE_PROPERTIES]:
                properties[str(name)] = self.shape(sub, depth - 1, seen)
        if properties:
            result["properties"] = dict(list(properties.items())[:MAX_SHAPE_PROPERTIES])
            result.setdefault("type", "object")
        if "items" in node:
            result["items"] = self.shape(node["items"], depth - 1, seen)
            result.setdefault("type", "array")
        return result


def _flag(value) -> bool:
    """A spec's boolean, read leniently: `required: "false"` (a string, as some real
    specs write it) is false, not true as Python's bool() would have it."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value)


def _aliases(node) -> dict[str, list[str]]:
    """`x-ensemble-aliases`: {word of the API: [words users say for it]}; a bad value is ignored."""
    raw = node.get("x-ensemble-aliases") if isinstance(node, dict) else None
    if not isinstance(raw, dict):
        return {}
    aliases = {}
    for word, others in list(raw.items())[:200]:
        others = [others] if isinstance(others, str) else others
        if isinstance(word, str) and isinstance(others, list):
            aliases[word.strip().lower()] = [str(o).strip().lower() for o in others[:50] if str(o).strip()]
    return aliases


def _success_response(operation: dict, resolver, swagger2: bool) -> Shape:
    """The shape of the first success answer (200, 201, … , 2XX, default) with a schema."""
    responses = operation.get("responses")
    if not isinstance(responses, dict):
        return {}
    codes = sorted((str(c) for c in responses if str(c).startswith("2")), key=lambda c: (c.upper() == "2XX", c))
    for code in codes + (["default"] if "default" in responses else []):
        response = resolver.deref(responses.get(code) if code in responses else responses.get(int(code)) if code.isdigit() else None)
        if not isinstance(response, dict):
            continue
        if swagger2:
            schema = response.get("schema")
        else:
            content = response.get("content") or {}
            media = next((content[ct] for ct in content if "json" in ct), next(iter(content.values()), None)) if isinstance(content, dict) else None
            schema = media.get("schema") if isinstance(media, dict) else None
        if schema:
            return resolver.shape(schema)
    return {}


def _derived_operation_id(method: str, path: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "root"
    return f"{method}_{slug}"


def _base_url(document: dict, spec_url: str | None) -> str:
    if "swagger" in document:
        host = document.get("host")
        schemes = document.get("schemes") or ["https"]
        base_path = document.get("basePath", "")
        if host:
            return f"{schemes[0]}://{host}{base_path}"
        return urljoin(spec_url or "", base_path or "/")
    return _server_url(document.get("servers"), spec_url)


def _server_url(servers, spec_url: str | None) -> str:
    """The first of an OpenAPI 3 `servers` list, its variables at their defaults, a
    relative URL resolved against the document's own URL."""
    servers = servers if isinstance(servers, list) else []
    url = servers[0].get("url", "") if servers and isinstance(servers[0], dict) else ""
    if isinstance(url, str) and "{" in url:
        variables = servers[0].get("variables") or {}
        for name, spec in (variables.items() if isinstance(variables, dict) else []):
            url = url.replace("{" + name + "}", str((spec or {}).get("default", "") if isinstance(spec, dict) else ""))
    if not url or not re.match(r"^https?://", str(url)):
        return urljoin(spec_url or "", str(url or "/"))
    return str(url)


def _one_line(text) -> str:
    if not isinstance(text, str):
        return ""
    return " ".join(text.split())


def parse_spec(raw: bytes | str, *, spec_url: str | None = None, schemes_reader=None) -> dict:
    """Load and parse a fetched document within every budget: parse_operations' result
    plus `operations_json` (what the snapshot stores) and `security_schemes` (what
    `schemes_reader(document)` finds, under the same guard). Any failure is a SpecError."""
    deadline = time.monotonic() + MAX_PARSE_SECONDS
    try:
        document = load_document(raw)
        parsed = parse_operations(document, spec_url=spec_url, deadline=deadline)
        parsed["security_schemes"] = schemes_reader(document) if schemes_reader else {}
        operations_json = json.dumps(parsed["operations"])
    except SpecError:
        raise
    except RecursionError:
        raise SpecError("The document is nested too deeply to be parsed.") from None
    except Exception as error:
        raise SpecError(f"The document could not be parsed: {type(error).__name__}: {str(error)[:300]}") from None
    if len(operations_json) > MAX_OPERATIONS_JSON_BYTES:
        raise SpecError(
            f"The parsed operations take {len(operations_json)} bytes; the limit is {MAX_OPERATIONS_JSON_BYTES}."
        )
    parsed["operations_json"] = operations_json
    return parsed


FORM_URLENCODED, MULTIPART = "application/x-www-form-urlencoded", "multipart/form-data"


def _form_body(fields: list[dict], consumes: list, resolver) -> dict:
    """Swagger 2 `formData` parameters as one object body, sent form-encoded (multipart
    when the operation consumes only that), so the caller fills and sends it like any body."""
    properties, required = {}, []
    for field in fields:
        kind = field.get("type", "string")
        schema = {"type": "string", "format": "binary"} if kind == "file" else resolver.schema(
            {k: v for k, v in field.items() if k in ("type", "format", "enum", "default", "items", "minimum", "maximum")})
        if field.get("description"):
            schema = {**schema, "description": _one_line(field["description"])[:300]}
        properties[str(field["name"])] = schema
        if _flag(field.get("required")):
            required.append(str(field["name"]))
    multipart = MULTIPART in consumes and FORM_URLENCODED not in consumes
    schema = {"type": "object", "properties": properties, **({"required": required} if required else {})}
    return {"required": bool(required), "content_type": MULTIPART if multipart else FORM_URLENCODED, "schema": schema}


def parse_operations(document: dict, *, spec_url: str | None = None, deadline: float | None = None) -> dict:
    """Return {"title", "version", "base_url", "operations": [...]} for a loaded document."""
    resolver = _Resolver(document, deadline)
    swagger2 = "swagger" in document
    paths = document.get("paths") or {}
    if not isinstance(paths, dict):
        raise SpecError("'paths' is not an object.")
    global_security = document.get("security") or []
    document_aliases = _aliases(document)
    operations, used_ids = [], set()
    for path, path_item in paths.items():
        path_item = resolver.deref(path_item)
        if not isinstance(path_item, dict):
            continue
        shared_params = path_item.get("parameters") or []
        for method in HTTP_METHODS:
            operation = path_item.get(method)
            if not isinstance(operation, dict):
                continue
            if len(operations) >= MAX_OPERATIONS:
                raise SpecError(f"The document has more than {MAX_OPERATIONS} operations.")
            op_id = operation.get("operationId")
            op_id = op_id if isinstance(op_id, str) and op_id.strip() else _derived_operation_id(method, path)
            base_id, n = op_id, 2
            while op_id in used_ids:  # duplicates in the wild: keep names unique and stable
                op_id, n = f"{base_id}_{n}", n + 1
            used_ids.add(op_id)

            params: dict[tuple, dict] = {}
            body = None
            form_fields: list[dict] = []
            for raw in list(shared_params) + list(operation.get("parameters") or []):
                param = resolver.deref(raw)
                if not isinstance(param, dict) or "name" not in param:
                    continue
                location = param.get("in", "query")
                if swagger2 and location == "body":
                    body = {"required": _flag(param.get("required")), "content_type": "application/json",
                            "schema": resolver.schema(param.get("schema") or {})}
                    continue
                if swagger2 and location == "formData":
                    form_fields.append(param)  # sent as the body, see below
                    continue
                schema = resolver.schema(param.get("schema") or {k: v for k, v in param.items() if k in ("type", "format", "enum", "default", "items", "minimum", "maximum")})
                params[(param["name"], location)] = {
                    "name": str(param["name"]),
                    "in": location,
                    "required": _flag(param.get("required")) or location == "path",
                    "schema": schema,
                    "description": _one_line(param.get("description"))[:300],
                }
            if form_fields:
                body = _form_body(form_fields, operation.get("consumes") or document.get("consumes") or [], resolver)
            if not swagger2 and "requestBody" in operation:
                request_body = resolver.deref(operation["requestBody"]) or {}
                content = request_body.get("content") or {}
                content_type = next((ct for ct in content if "json" in ct), next(iter(content), "application/json"))
                media = content.get(content_type) or {}
                body = {"required": _flag(request_body.get("required")), "content_type": content_type,
                        "schema": resolver.schema(media.get("schema") or {})}
            summary = _one_line(operation.get("summary") or operation.get("description"))[:500]
            description = _one_line(operation.get("description"))[:1000]
            tags = operation.get("tags") if isinstance(operation.get("tags"), list) else []
            parsed_operation = {
                "operation_id": op_id,
                "method": method.upper(),
                "path": path,
                "summary": summary,
                "parameters": list(params.values()),
                "body": body,
                "security": [list(req) for req in (operation.get("security", global_security) or []) if isinstance(req, dict)],
                "description": "" if description == summary else description,
                "tags": [str(t)[:100] for t in tags[:20] if isinstance(t, (str, int))],
                "response": _success_response(operation, resolver, swagger2),
                "aliases": {**document_aliases, **_aliases(operation)},
            }
            # OpenAPI 3 lets an operation (or its path) name its own servers; only then does
            # it carry a base URL of its own (prompts.endpoints.effective_base_url reads it).
            own_servers = None if swagger2 else (operation.get("servers") or path_item.get("servers"))
            if isinstance(own_servers, list) and own_servers:
                parsed_operation["base_url"] = _server_url(own_servers, spec_url)
            operations.append(parsed_operation)
    info = document.get("info") or {}
    return {
        "title": _one_line(info.get("title")) or "Untitled API",
        "version": str(info.get("version", "")),
        "description": _one_line(info.get("description"))[:1000],
        "base_url": _base_url(document, spec_url),
        "operations": operations,
    }
