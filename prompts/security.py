"""The security schemes a service's spec declares, and the parameters they cover.

Schemes are read from the document when it is fetched (OpenAPI 3
`components.securitySchemes`, Swagger 2.0 `securityDefinitions`) and stored on the
snapshot; a snapshot stored before that is read once per process and content hash. A parameter a scheme covers (an apiKey
header such as `X-API-KEY`) is the credential's place: it is neither a tool argument
nor a prompt input, so the assistant never sees or fills it.
"""

import json
from urllib.parse import urljoin

from .models import SpecSnapshot
from .parsing import SpecError, _Resolver, load_document


def _normalised(name: str, raw, resolver: _Resolver, spec_url: str) -> dict | None:
    scheme = resolver.deref(raw)
    if not isinstance(scheme, dict):
        return None
    kind = str(scheme.get("type", ""))
    result = {"name": name, "type": kind}
    if kind == "apiKey":
        result.update({"in": str(scheme.get("in", "header")), "param": str(scheme.get("name", ""))})
    elif kind == "http":
        result["scheme"] = str(scheme.get("scheme", "")).lower()
    elif kind == "basic":  # Swagger 2.0
        result.update({"type": "http", "scheme": "basic"})
    elif kind == "oauth2":
        declared = _oauth2_flows(scheme)
        result["flows"] = {
            flow: urljoin(spec_url, url) if url and spec_url else url for flow, url in declared.items()
        }
        # The client-credentials token endpoint, the one flow the Ensemble runs itself.
        result["token_url"] = result["flows"].get("clientCredentials", "")
    return result


# Swagger 2.0's names of the OAuth2 flows, by OpenAPI 3's.
_SWAGGER2_FLOWS = {"application": "clientCredentials", "accessCode": "authorizationCode", "password": "password",
                   "implicit": "implicit"}


def _oauth2_flows(scheme: dict) -> dict[str, str]:
    """{flow: tokenUrl as written ("" for implicit)} of an OAuth2 scheme."""
    flows = scheme.get("flows") if isinstance(scheme.get("flows"), dict) else {}
    found = {name: str(flow.get("tokenUrl", "") or "") for name, flow in flows.items()
             if name in _SWAGGER2_FLOWS.values() and isinstance(flow, dict)}
    if not found and scheme.get("flow") in _SWAGGER2_FLOWS:
        found[_SWAGGER2_FLOWS[scheme["flow"]]] = str(scheme.get("tokenUrl", "") or "")
    return found


def schemes_of_document(document: dict, *, spec_url: str = "") -> dict[str, dict]:
    """{scheme name: normalised scheme} for a loaded document (a relative tokenUrl is
    resolved against the document's own URL)."""
    resolver = _Resolver(document)
    if "swagger" in document:
        raw = document.get("securityDefinitions")
    else:
        components = document.get("components") if isinstance(document.get("components"), dict) else {}
        raw = components.get("securitySchemes")
    if not isinstance(raw, dict):
        return {}
    found = {str(name): _normalised(str(name), value, resolver, spec_url) for name, value in raw.items()}
    return {name: scheme for name, scheme in found.items() if scheme}


_by_hash: dict[str, dict] = {}  # content hash -> schemes; one document, one answer


def _before_flows(schemes: dict) -> bool:
    """Stored before the OAuth2 flows were recorded: read the document again."""
    return any(s.get("type") == "oauth2" and "flows" not in s for s in schemes.values())


def security_schemes(snapshot) -> dict[str, dict]:
    """The schemes of a snapshot's document (cached per process by content hash)."""
    if not snapshot or not snapshot.content_hash:
        return {}
    found = _by_hash.get(snapshot.content_hash)
    if found is not None:
        return found
    if snapshot.__dict__.get("security_schemes_json"):
        found = json.loads(snapshot.security_schemes_json)  # read at fetch time
    if found is None or _before_flows(found):
        document = snapshot.__dict__.get("document")  # absent when the query deferred it
        if document is None:
            document = SpecSnapshot.objects.filter(pk=snapshot.service_id).values_list("document", flat=True).first()
        if not document:
            return found or {}  # not stored (yet): nothing better to remember
        try:
            found = schemes_of_document(load_document(document), spec_url=snapshot.source_url)
        except SpecError:
            found = {}
    if len(_by_hash) > 4096:
        _by_hash.clear()
    _by_hash[snapshot.content_hash] = found
    return found


def covered_parameters(operation: dict, schemes: dict[str, dict]) -> set[tuple[str, str]]:
    """(name, in) of the parameters the operation's security schemes fill themselves."""
    covered = set()
    for alternative in operation.get("security") or []:
        for name in alternative:
            scheme = schemes.get(name) or {}
            if scheme.get("type") == "apiKey" and scheme.get("param"):
                covered.add((scheme["param"].lower() if scheme["in"] == "header" else scheme["param"], scheme["in"]))
            elif scheme.get("type") in ("http", "oauth2"):
                covered.add(("authorization", "header"))
    return covered


def without_covered_parameters(operations: list[dict], schemes: dict[str, dict]) -> list[dict]:
    """The operations as the assistant may see them: parameters a scheme covers removed."""
    if not schemes:
        return operations
    result = []
    for op in operations:
        covered = covered_parameters(op, schemes)

        def is_covered(param, covered=covered):
            name = param["name"].lower() if param["in"] == "header" else param["name"]
            return (name, param["in"]) in covered

        if covered and any(is_covered(p) for p in op.get("parameters", [])):
            op = {**op, "parameters": [p for p in op["parameters"] if not is_covered(p)]}
        result.append(op)
    return result
