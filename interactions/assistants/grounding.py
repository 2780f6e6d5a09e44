"""Reading a plain request: which operation it asks for, and the inputs it gives.

Generic rules over the spec, not over example sentences: operationIds split from
camelCase, path words, light stemming, a verb table that maps words to an operation
kind (get, list, create, update, delete), entity words followed by an id ("character
42", "script 3.", "#7"), ranges ("sequences 10 to 20"), quoted text, "named X",
"called X", "titled X", "by AUTHOR", `name=value`, and comment- or reason-like fields
filled from the request itself when the spec describes them that way.
"""

import re
from dataclasses import dataclass, field

_WORD = re.compile(r"[A-Za-z]+|\d+")
_STOP = set(
    "a an the of to for in on at by with and or is are be me my i you it this that please do we us our have has "
    "there their its from as into about any some can could would will should need want like".split()
)

# Words that say which kind of operation the user means.
VERBS = {
    "get": {"show", "get", "detail", "details", "look", "open", "tell", "give", "see", "fetch", "retrieve", "display",
            "view", "read", "find", "describe"},
    "list": {"list", "all", "every", "which", "what", "exist", "available", "browse"},
    "create": {"create", "add", "new", "register", "record", "start", "begin", "log", "write", "make", "generate",
               "assign", "compose", "draft", "insert"},
    "update": {"change", "edit", "rename", "update", "set", "modify", "replace", "patch", "fix", "correct", "reorder",
               "order", "rearrange", "move"},
    "delete": {"delete", "remove", "drop", "erase", "destroy", "wipe", "cancel", "purge"},
}
# The kind an operationId's leading verb names.
_OP_VERBS = {
    "get": "get", "retrieve": "get", "fetch": "get", "read": "get", "show": "get", "find": "get",
    "list": "list", "search": "list",
    "create": "create", "add": "create", "generate": "create", "new": "create", "register": "create", "post": "create",
    "update": "update", "patch": "update", "edit": "update", "set": "update", "reorder": "update", "put": "update",
    "replace": "update", "modify": "update",
    "delete": "delete", "remove": "delete",
}
# Words that mean the same resource or action in requests and in specs.
_SYNONYMS = {"order": "reorder", "reorder": "reorder", "person": "character", "role": "character", "play": "script",
             "screenplay": "script", "actor": "performer", "story": "story", "sequence": "sequence"}
_INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instruction|rule|prompt|guideline|polic|previous|prior)",
    re.I,
)
_GENERIC_NOUNS = {"id", "by", "number", "all", "detail", "details", "item", "element"}


def stem(word: str) -> str:
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def split_words(text: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text or "")
    return [stem(w) for w in _WORD.findall(spaced)]


def content_words(text: str) -> set[str]:
    return {_SYNONYMS.get(w, w) for w in split_words(text) if w not in _STOP and not w.isdigit() and len(w) > 1}


@dataclass
class Request:
    """What a request says, read once."""

    text: str
    words: set[str]
    kinds: set[str]
    ids: dict[str, int]  # entity stem -> number written after it
    numbers: list[int]
    ranges: list[tuple[int, int]]
    quoted: list[str]
    named: str | None
    titled: str | None
    author: str | None
    injection: bool
    order: list[str] = field(default_factory=list)  # content words in the order written
    head: str | None = None  # the first resource word any operation in scope has


def _first_group(match) -> str | None:
    if match is None:
        return None
    return next((g.strip() for g in match.groups() if g), None)


def read_request(text: str) -> Request:
    quoted = [a or b for a, b in re.findall(r"\"([^\"]+)\"|(?:(?<=[\s:(])|^)'(.+?)'(?=[\s.,;:!?)]|$)", text)]
    bare = re.sub(r"\"[^\"]*\"|(?:(?<=[\s:(])|^)'.+?'(?=[\s.,;:!?)]|$)", " ", text)
    ids = {}
    for entity, number in re.findall(r"\b([A-Za-z]+)\s+(?:number\s+|no\.?\s*|#\s*|id\s+)?#?(\d+)\b", bare, re.I):
        ids.setdefault(stem(entity), int(number))
    numbers = [int(n) for n in re.findall(r"(?<![\w.])#?(\d+)(?![\w])", bare)]
    ranges = [(int(a), int(b)) for a, b in re.findall(r"\b(\d+)\s*(?:to|-|–|through|until)\s*(\d+)\b", bare)]
    name_stop = r"(?=\s*(?:[,;:.!?]|\bby\b|\bwith\b|\bwho\b|\bfor\b|$))"
    quoted_name = r"\s+(?:\"([^\"]+)\"|'([^']+)'|(.+?)" + name_stop + ")"
    named = re.search(r"\b(?:named|called|name)" + quoted_name, text)
    titled = re.search(r"\b(?:titled|entitled|title|called|named)" + quoted_name, text)
    renamed = re.search(r"\brename\b.*?\bto" + quoted_name, text, re.I)
    author = re.search(r"\bby\s+([A-Z][\w'-]*(?:\.?\s+[A-Z][\w'-]*)*)", bare)
    words = set(split_words(bare))
    kinds = {kind for kind, verbs in VERBS.items() if words & verbs}
    if words & {"all", "every"}:
        kinds.discard("get")  # "show every line": a listing
    return Request(
        text=text, words=content_words(bare), kinds=kinds, ids=ids, numbers=numbers, ranges=ranges, quoted=quoted,
        named=_first_group(named),
        titled=_first_group(renamed or titled),
        author=author.group(1).strip() if author else None,
        injection=bool(_INJECTION.search(text)),
        order=[_SYNONYMS.get(w, w) for w in split_words(bare) if w not in _STOP and not w.isdigit()],
    )


# --- operations -------------------------------------------------------------------------------


@dataclass
class OperationWords:
    kind: str
    primary: str | None  # the resource the operationId names first
    resources: set[str]  # nouns of the path and the operationId
    other: set[str]  # summary and body field words
    id_params: dict[str, str]  # required integer input name -> entity stem


def _entity_of(name: str) -> str | None:
    match = re.fullmatch(r"(.+?)_?(?:Id|ID|id)", name)
    return stem(split_words(match.group(1))[-1]) if match and split_words(match.group(1)) else None


def operation_words(tool) -> OperationWords:
    cached = getattr(tool, "_grounding", None)
    if cached is not None:
        return cached
    op = tool.operation
    op_words = split_words(op["operation_id"])
    kind = _OP_VERBS.get(op_words[0]) if op_words else None
    has_trailing_param = op["path"].rstrip("/").endswith("}")
    if kind is None or (kind == "get" and op["method"] == "GET" and not has_trailing_param and op_words[1:2] != ["full"]):
        kind = {"GET": "get" if has_trailing_param else "list", "POST": "create", "PUT": "update", "PATCH": "update",
                "DELETE": "delete"}.get(op["method"], "get")
    static_path = " ".join(seg for seg in op["path"].split("/") if seg and not seg.startswith("{"))
    resources = content_words(" ".join(op_words[1:]) + " " + static_path) - _GENERIC_NOUNS - set(_OP_VERBS)
    if op_words and op_words[0] == "reorder":
        resources.add("reorder")
    body = (tool.parameters.get("properties") or {}).get("body") or {}
    other = content_words(op.get("summary", "") + " " + " ".join((body.get("properties") or {}).keys()))
    id_params = {}
    for name, schema in (tool.parameters.get("properties") or {}).items():
        entity = _entity_of(name)
        if entity and schema.get("type") in ("integer", "number", "string"):
            id_params[name] = entity
    primary = next((_SYNONYMS.get(w, w) for w in op_words[1:] if _SYNONYMS.get(w, w) in resources), None)
    result = OperationWords(kind, primary, resources, other - resources, id_params)
    object.__setattr__(tool, "_grounding", result)
    return result


# --- arguments --------------------------------------------------------------------------------

_ASSIGNMENT = r"(?:^|[\s,;(]){name}\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^\s,;)]+)"


def _coerce(value, schema: dict):
    kind = schema.get("type")
    if isinstance(value, str):
        if kind == "integer" and re.fullmatch(r"-?\d+", value):
            return int(value)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value)
        if kind == "boolean" and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if kind == "array":
            return [value]
    return value


def _is_comment_like(name: str, schema: dict) -> bool:
    text = f"{name} {schema.get('description', '')}".lower()
    return bool(re.search(r"\b(comment|commentary|reason|reasons|explanation|explaining|justification|note)\b", text))


def _fill(name: str, schema: dict, request: Request, state: dict):
    """A value for one input from the request, or None."""
    text = request.text
    match = re.search(_ASSIGNMENT.format(name=re.escape(name)), text, re.IGNORECASE)
    if match:
        return _coerce(match.group(1).strip("\"'"), schema)
    kind = schema.get("type")
    lname = name.lower()
    if kind in ("integer", "number"):
        entity = _entity_of(name)
        if entity and entity in request.ids:
            state["numbers"].discard(request.ids[entity])
            return request.ids[entity]
        if request.ranges and re.search(r"start|from|begin|first|min", lname):
            return request.ranges[0][0]
        if request.ranges and re.search(r"end|to|last|until|max", lname):
            return request.ranges[0][1]
        return None  # left for the leftover numbers below
    if kind == "array":
        items = schema.get("items") or {}
        if items.get("type") in ("integer", "number") and len(request.numbers) > 1:
            state["numbers"].clear()
            return list(request.numbers)
        item_fields = items.get("properties") or {}
        id_field = next((k for k, v in item_fields.items() if _entity_of(k) and v.get("type") == "integer"), None)
        order_field = next((k for k, v in item_fields.items() if k != id_field and v.get("type") == "integer"
                            and re.search(r"sequence|order|position|rank|index", k, re.I)), None)
        if id_field and order_field and len(request.numbers) > 1:
            # "elements 4, 2 and 9 in this order": each id with its new position.
            state["numbers"].clear()
            return [{id_field: n, order_field: i} for i, n in enumerate(request.numbers, 1)]
        if items.get("type") in (None, "string") and (request.quoted and (lname in text.lower() or "context" in lname)):
            return [request.quoted[0]]
        if not schema.get("minItems") and not re.search(r"context|tag", lname) and (items.get("type") in ("object", None)):
            return []  # nothing given: an empty list, which the schema allows
        return None
    if kind == "object":
        # Nothing said for it: an empty object when its schema needs nothing inside
        # ("a new version of element 12": no new data).
        return {} if not schema.get("required") else None
    if kind not in (None, "string"):
        return None
    # Strings.
    examples = re.findall(r"e\.g\.,?\s*([^)]*)", schema.get("description", ""))
    if lname.endswith("type") and examples:
        choices = [stem(w) for w in re.findall(r"[A-Za-z]+", examples[0])]
        said = re.search(r"\btype\s+([A-Za-z]+)", text)
        for word in ([stem(said.group(1))] if said else []) + split_words(text):
            if word in choices:
                return word
    enum = schema.get("enum")
    if enum:
        said = set(split_words(text))
        for value in enum:
            if stem(str(value)) in said:
                return value
        return None
    if lname in ("name", "fullname", "displayname") or lname.endswith("name"):
        if request.named:
            return request.named
        said = re.search(r"\bname\s+([^,;.]+)", text)
        return said.group(1).strip() if said else None
    if "title" in lname:
        return request.titled
    if "author" in lname:
        return request.author
    mentioned = re.search(rf"\b{re.escape(lname)}\b", text, re.I)
    if mentioned and state["quoted"]:
        return state["quoted"].pop(0)
    if _is_comment_like(name, schema):
        return None  # filled last, from what is left
    if state["quoted"]:
        return state["quoted"].pop(0)
    said = re.search(rf"\b{re.escape(lname)}\s+(?!of\b|to\b|for\b)([^,;.]+)", text, re.I)
    if said:
        return said.group(1).strip()
    if request.named and lname in ("description", "summary", "bio"):
        apposition = re.search(re.escape(request.named) + r"\s*,\s*([^.;]+)", text)
        if apposition:
            return apposition.group(1).strip()
    after_colon = re.search(r":\s*([^'\"]+?)[.!?]?$", text)
    if after_colon and lname in ("description", "text", "content", "summary", "body", "message"):
        return after_colon.group(1).strip()
    return None


def fill_arguments(tool, text: str, request: Request | None = None) -> tuple[dict, list[str], list[str]]:
    """Arguments for `tool` read from `text`, the required inputs still missing, and the
    required inputs filled with an empty list or object because the request said nothing
    of them. A body whose schema has required fields is always sent with them."""
    request = request or read_request(text)
    schema = tool.parameters
    properties = schema.get("properties", {})
    required = list(schema.get("required", []))
    body_schema = properties.get("body") or {}
    if "body" in properties and body_schema.get("required") and "body" not in required:
        required.append("body")
    state = {"quoted": list(request.quoted), "numbers": set(request.numbers)}
    arguments, missing, pending, defaulted = {}, [], [], []

    def one(name, sub, target, label, is_required):
        if not is_required:  # optional inputs only when written as name=value
            match = re.search(_ASSIGNMENT.format(name=re.escape(name)), text, re.I)
            if match:
                target[name] = _coerce(match.group(1).strip("\"'"), sub)
            return
        value = _fill(name, sub, request, state)
        if value is not None:
            target[name] = value
            if value == [] or value == {}:
                defaulted.append(label)
        elif is_required:
            pending.append((name, sub, target, label))

    for name, sub in properties.items():
        if name == "body":
            continue
        one(name, sub, arguments, name, name in required)
    if "body" in required or re.search(r"\w+\s*=", text):
        body = {}
        body_required = body_schema.get("required", [])
        for name, sub in (body_schema.get("properties") or {}).items():
            one(name, sub, body, f"body.{name}", name in body_required)
        if body or "body" in required:
            arguments["body"] = body
    # Leftover numbers go to required numeric inputs no entity word claimed; comment-like
    # fields take the request itself.
    leftovers = [n for n in request.numbers if n in state["numbers"]]
    for name, sub, target, label in pending:
        if sub.get("type") in ("integer", "number") and len(leftovers) == 1:
            target[name] = leftovers.pop()
        elif sub.get("type") in (None, "string") and _is_comment_like(name, sub):
            target[name] = state["quoted"].pop(0) if re.search(rf"\b{re.escape(name)}\b", text, re.I) and state["quoted"] else text.strip()
        else:
            missing.append(label)
    return arguments, missing, defaulted


# --- choosing ---------------------------------------------------------------------------------


@dataclass
class Choice:
    tool: object
    score: float
    arguments: dict
    missing: list[str]
    # An update whose body lacks fields the request did not give (missing, or filled
    # with an empty list or object) reads the resource first (`reader`, the GET on the
    # same path) and keeps those fields' current values: "rename script 8 to X" keeps
    # its author and does not empty its sections.
    reader: object | None = None
    from_current: list[str] = field(default_factory=list)


MIN_SCORE = 3.0


def mark_head(request: Request, tools) -> None:
    """The request's head noun: its first word that names a resource of some operation."""
    known = set().union(*(operation_words(t).resources for t in tools)) if tools else set()
    request.head = next((w for w in request.order if w in known), None)


class Readers:
    """(service id, path) -> the GET operation on that path: what reads a resource back.
    Built on first use, from every tool in scope (not only the ranking's candidates)."""

    def __init__(self, tools):
        self._tools, self._by_path = tools, None

    def get(self, key):
        if self._by_path is None:
            self._by_path = {(t.service.id, t.operation["path"]): t for t in self._tools if t.operation["method"] == "GET"}
        return self._by_path.get(key)


def current_reader(tool, arguments: dict, unsaid: list[str], readers: Readers | None):
    """The GET that gives the current values of the body fields a PUT (or PATCH) needs
    and the request did not give, when the request gave the path inputs."""
    op = tool.operation
    if op["method"] not in ("PUT", "PATCH") or not unsaid or not all(m.startswith("body.") for m in unsaid):
        return None
    reader = readers.get((tool.service.id, op["path"])) if readers else None
    if reader is None or not all(name in arguments for name in reader.parameters.get("required", [])):
        return None
    return reader


def score_operation(tool, request: Request, prior: float = 0.0, missing_weight: float = 2.0,
                    readers: Readers | None = None) -> Choice:
    info = operation_words(tool)
    arguments, missing, defaulted = fill_arguments(tool, request.text, request)
    reader = current_reader(tool, arguments, missing + defaulted, readers)
    # Read first, a missing input costs half: the resource may not have it either.
    penalty = missing_weight * len(missing) * (0.5 if reader else 1.0)
    from_current, missing = (missing + defaulted, []) if reader else ([], missing)
    resource_hits = request.words & info.resources
    score = 3.0 * len(resource_hits) + 0.5 * len(request.words & info.other) + prior
    if not resource_hits:
        return Choice(tool, 0.0, arguments, missing, reader, from_current)
    given_ids = set(request.ids)
    score += 3.0 * sum(entity in given_ids for entity in info.id_params.values())
    kinds = set(request.kinds)
    if info.kind in kinds:
        score += 3.0
    if kinds & {"create", "update", "delete"} and info.kind in ("get", "list") and not ({"get", "list"} & kinds and info.kind in kinds):
        score -= 2.0
    if info.kind == "list" and any(e in info.resources for e in given_ids) and not any(e in given_ids for e in info.id_params.values()):
        score -= 2.0  # an id was given for this resource: the single-item operation is meant
    score -= 1.0 * len(info.resources - request.words - given_ids)  # nouns of the operation the user did not say
    if request.head and info.primary == request.head:
        score += 1.5  # "an action for a character": the action is what is meant
    score -= penalty
    return Choice(tool, score, arguments, missing, reader, from_current)


def choose(tools, text: str, priors: dict | None = None, readers: Readers | None = None) -> tuple[Choice | None, str]:
    """The best operation for `text` and why nothing was chosen, if so."""
    request = read_request(text)
    if request.injection:
        return None, "The request asks me to ignore my instructions; I called nothing."
    if "delete" in request.kinds and ({"all", "every"} & set(split_words(text))) and not request.ids:
        return None, "I do not delete everything at once; name one item by its id. I called nothing."
    priors = priors or {}
    mark_head(request, tools)
    readers = readers or Readers(tools)
    choices = [score_operation(tool, request, priors.get(tool.name, 0.0), readers=readers) for tool in tools]
    choices = [c for c in choices if c.score > 0]
    if not choices:
        return None, "I found no service operation that matches your request, so I called nothing."
    best = max(choices, key=lambda c: c.score)
    if best.score < MIN_SCORE:
        return None, "I found no service operation that matches your request well enough, so I called nothing."
    return best, ""
