"""Reading a plain request: which operation it asks for, and the inputs it gives.

Generic rules over the spec, not over example sentences: operationIds split from
camelCase, path words, light stemming, a verb table that maps words to an operation
kind (get, list, create, update, delete), entity words followed by an id ("character
42", "script 3.", "#7"), ranges ("sequences 10 to 20"), quoted text, "named X",
"called X", "titled X", "by AUTHOR", `name=value`, and comment- or reason-like fields
filled from the request itself when the spec describes them that way.
"""

import difflib
import re
from dataclasses import dataclass, field
from typing import NamedTuple

_WORD = re.compile(r"[A-Za-z]+|\d+")
_STOP = set(
    "a an the of to for in on at by with and or is are be me my i you it this that please do we us our have has "
    "there their its from as into about any some can could would will should need want like".split()
)

# Words that say which kind of operation the user means.
VERBS = {
    "get": {"show", "get", "detail", "details", "look", "open", "tell", "give", "see", "fetch", "retrieve", "display",
            "view", "read", "find", "describe"},
    "list": {"list", "all", "every", "which", "what", "exist", "available", "browse", "roster", "catalogue", "catalog",
             "inventory", "enumerate", "rundown", "overview"},
    "create": {"create", "add", "new", "register", "record", "start", "begin", "log", "write", "make", "generate",
               "assign", "compose", "draft", "insert"},
    "update": {"change", "edit", "rename", "update", "set", "modify", "replace", "patch", "fix", "correct", "reorder",
               "order", "rearrange", "move", "overwrite", "rewrite", "amend", "adjust", "revise", "tweak", "put",
               "attach", "annotate", "mark", "flag"},
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
# Verbs of more than one word, read as the one word that means the same.
_PHRASES = [(re.compile(rf"\b{phrase}\b", re.I), verb) for phrase, verb in (
    ("get rid of", "delete"), ("throw away", "delete"), ("throw out", "delete"), ("wipe out", "delete"),
    ("pull up", "show"), ("look up", "show"), ("bring up", "show"), ("take a look at", "show"), ("look at", "show"),
    ("set up", "create"), ("come up with", "create"), ("put together", "create"),
    ("start to finish", "full"), ("beginning to end", "full"), ("open a", "create a"), ("open an", "create an"),
)]
# Words that say an update changes only what is named (PATCH), or replaces the whole (PUT).
_PARTIAL = {"only", "just", "single", "partially", "partial"}
_WHOLE = {"entirely", "completely", "overwrite", "whole", "replace", "full", "wholesale"}
# Three-letter words that are words, not shortened resource names.
_NOT_SHORTENED = {"act", "art", "per", "pre", "sec", "con", "pro", "com", "for", "the", "and", "set", "can", "day"}
# A verb word after one of these is a noun: "the record", "a log".
_DETERMINERS = {"the", "a", "an", "this", "that", "its", "his", "her", "their", "my", "your", "our"}
# Words that only quantify: they make a listing, they are not the request's main verb.
_QUANTIFIERS = {"all", "every", "which", "what", "exist", "available"}
# Words that mean the same resource or action in requests and in specs.
_SYNONYMS = {"order": "reorder", "reorder": "reorder", "person": "character", "role": "character", "play": "script",
             "screenplay": "script", "actor": "performer", "story": "story", "sequence": "sequence",
             "complete": "full", "whole": "full", "entire": "full"}
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
    main_kind: str | None = None  # the kind of the first verb: "change line 4 to read …" is a change
    plural: set[str] = field(default_factory=set)  # words written in the plural ("lines")
    proper: str | None = None  # the first run of capitalised words past the first word ("Kenji Sato")
    tokens: list[str] = field(default_factory=list)  # every word, stemmed, in order
    several: set[str] = field(default_factory=set)  # entities given with more than one id ("action 5 … action 2")


def _first_group(match) -> str | None:
    if match is None:
        return None
    return next((g.strip() for g in match.groups() if g), None)


def read_request(text: str) -> Request:
    quoted = [a or b for a, b in re.findall(r"\"([^\"]+)\"|(?:(?<=[\s:(])|^)'(.+?)'(?=[\s.,;:!?)]|$)", text)]
    bare = re.sub(r"\"[^\"]*\"|(?:(?<=[\s:(])|^)'.+?'(?=[\s.,;:!?)]|$)", " ", text)
    ranges = [(int(a), int(b)) for a, b in re.findall(r"\b(\d+)\s*(?:to|-|–|through|until|thru)\s*(\d+)\b", bare)]
    in_ranges = {n for pair in ranges for n in pair}
    ids, seen = {}, {}
    for entity, number in re.findall(r"\b([A-Za-z]+)\s+(?:number\s+|no\.?\s*|#\s*|id\s+)?#?(\d+)\b", bare, re.I):
        if int(number) in in_ranges:
            continue  # "sequences 10 to 20": a range, not sequence 10
        ids.setdefault(stem(entity), int(number))
        seen.setdefault(stem(entity), set()).add(int(number))
    numbers = [int(n) for n in re.findall(r"(?<![\w.])#?(\d+)(?![\w])", bare)]
    name_stop = r"(?=\s*(?:[,;:.!?—–]|\bby\b|\bwith\b|\bwho\b|\bfor\b|\bbecause\b|\bsince\b|\bso\b|$))"
    quoted_name = r"\s+(?:\"([^\"]+)\"|'([^']+)'|(.+?)" + name_stop + ")"
    named = re.search(r"\b(?:named|called|name)" + quoted_name, text)
    titled = re.search(r"\b(?:titled|entitled|title|called|named)" + quoted_name, text)
    renamed = re.search(r"\brename\b.*?\bto" + quoted_name, text, re.I)
    author = re.search(r"\bby\s+([A-Z][\w'-]*(?:\.?\s+[A-Z][\w'-]*)*)", bare)
    author_label = re.search(r"\bauthor\s*[:=]?\s+([A-Z][\w'-]*(?:\s+[A-Z][\w'-]*)*)", bare)
    # A name: capitalised words past the first word of a sentence ("add performer Kenji Sato").
    proper = next((m for m in re.finditer(r"(?<=[\s:(])([A-Z][a-z][\w'’-]*(?:\s+[A-Z][a-z][\w'’-]*)*)", bare.strip())
                   if not re.search(r"[.!?]\s*$", bare.strip()[: m.start()])), None)
    spoken = bare
    for pattern, verb in _PHRASES:
        spoken = pattern.sub(verb, spoken)
    tokens = split_words(spoken)
    verbs = [(i, kind) for i, w in enumerate(tokens) for kind, words in VERBS.items()
             if w in words and not (kind != "list" and w != "new" and i and tokens[i - 1] in _DETERMINERS)]
    kinds = {kind for _, kind in verbs}
    if set(tokens) & {"all", "every"} or (ranges and kinds <= {"get", "list"}):
        kinds.discard("get")  # "show every line", "sequences 10 to 20": a listing
        kinds.add("list")
    main = next((kind for i, kind in verbs if tokens[i] not in _QUANTIFIERS and kind in kinds), None)
    if "new" in tokens:
        main = "create"  # "open a new session": something new is made, whatever the verb
    raw = _WORD.findall(re.sub(r"([a-z])([A-Z])", r"\1 \2", spoken))
    return Request(
        text=text, words=content_words(spoken), kinds=kinds, ids=ids, numbers=numbers, ranges=ranges, quoted=quoted,
        named=_first_group(named),
        titled=_first_group(renamed or titled),
        author=(author or author_label).group(1).strip() if (author or author_label) else None,
        injection=bool(_INJECTION.search(text)),
        order=[_SYNONYMS.get(w, w) for w in tokens if w not in _STOP and not w.isdigit()],
        main_kind=main,
        plural={_SYNONYMS.get(stem(w), stem(w)) for w in raw if stem(w) != w.lower()},
        proper=proper.group(1) if proper else None,
        tokens=tokens,
        several={entity for entity, numbers in seen.items() if len(numbers) > 1},
    )


# --- operations -------------------------------------------------------------------------------


@dataclass
class OperationWords:
    kind: str
    primary: str | None  # the resource the operationId names first
    resources: set[str]  # nouns of the path and the operationId
    other: set[str]  # summary and body field words
    id_params: dict[str, str]  # required integer input name -> entity stem
    verb: str = ""  # the operationId's first word ("reorder", "patch")


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
    reorders = bool(op_words) and op_words[0] == "reorder"
    if reorders:
        resources.add("reorder")
    body = (tool.parameters.get("properties") or {}).get("body") or {}
    other = content_words(op.get("summary", "") + " " + " ".join((body.get("properties") or {}).keys()))
    id_params = {}
    for name, schema in (tool.parameters.get("properties") or {}).items():
        entity = _entity_of(name)
        if entity and schema.get("type") in ("integer", "number", "string"):
            id_params[name] = entity
    primary = next((_SYNONYMS.get(w, w) for w in op_words[1:] if _SYNONYMS.get(w, w) in resources),
                   "reorder" if reorders else None)
    result = OperationWords(kind, primary, resources, other - resources, id_params, op_words[0] if op_words else "")
    object.__setattr__(tool, "_grounding", result)
    return result


# --- arguments --------------------------------------------------------------------------------

# `name=value` (one token or quoted), or "Name: value" (to the next comma, semicolon,
# full stop or "label:").
_ASSIGNMENT = (r"(?:^|[\s,;(]){name}\s*(?:=\s*(\"[^\"]*\"|'[^']*'|[^\s,;)]+)"
               r"|:\s*(\"[^\"]*\"|'[^']*'|[^,;]+?)(?=\s*(?:[,;]|\.\s|\.$|\s\w+:|$)))")


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
        return _coerce(_first_group(match).strip("\"'"), schema)
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
        said = split_words(text)
        for value in enum:
            parts = split_words(str(value))  # "spokenWord" is said "spoken word"
            if parts and any(said[i : i + len(parts)] == parts for i in range(len(said))):
                return value
        return None
    changed = _changed_to(lname, text)
    if changed:  # "change the name of character 10 to Rosalind"
        if changed in state["quoted"]:
            state["quoted"].remove(changed)
        return changed
    if lname in ("name", "fullname", "displayname") or lname.endswith("name"):
        if request.named:
            return request.named
        said = re.search(r"\bname\s+([^,;.]+)", text)
        if said:
            return said.group(1).strip()
        return _quoted_label(text, state) or request.proper  # "create char 'Brother Ames'"
    if "title" in lname:
        label = _quoted_label(text, state, take=False)
        if label and (not request.titled or text.find(label) < text.find(request.titled)):
            state["quoted"].remove(label)  # 'a new script, "The Last Tram", … one section called Depot'
            return label
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
    name = request.named or request.proper
    if name and lname in ("description", "summary", "bio"):
        apposition = re.search(re.escape(name) + r"[\"']?\s*,\s*((?:a|an|the)\s[^.;—–]+?)"
                               r"(?=,?\s+(?:because|since|as|for|so)\b|[.;—–]|$)", text)
        if apposition:
            return apposition.group(1).strip()
    if lname in ("text", "content", "line", "dialogue", "message"):
        says = re.search(r"\b(?:says|saying|reads|reading)\s*[:,]?\s+(.+?)(?:\s+[—–-]\s+|[;]|$)", text)
        if says:
            return says.group(1).strip()
    after_colon = re.search(r":\s*([^'\"]+?)[.!?]?$", text)
    if after_colon and lname in ("description", "text", "content", "summary", "body", "message"):
        return after_colon.group(1).strip()
    if lname in ("description", "text", "content", "summary") and state["kind"] == "create":
        return _statement(text)
    return None


def _quoted_label(text: str, state: dict, take: bool = True) -> str | None:
    """The first quoted text, when it labels a thing ("char 'Brother Ames'") rather than
    being what something becomes or says ("to 'a reformed thief'", "says 'Run!'")."""
    if not state["quoted"]:
        return None
    before = text[: max(text.find(f'"{state["quoted"][0]}"'), text.find(f"'{state['quoted'][0]}'"))]
    if re.search(r"\b(?:to|as|say|says|saying|read|reads|into|with|comment|note|reason)\s*[:,]?\s*$", before, re.I):
        return None
    return state["quoted"].pop(0) if take else state["quoted"][0]


def _statement(text: str) -> str | None:
    """The part of a request that is not the command ("char 11 climbs out the window —
    add that as an action"): the longest clause with no verb from the verb table."""
    clauses = [c.strip(" .!?") for c in re.split(r"\s[—–-]\s|[:;]|\s(?:where|in which)\s", text)]
    plain = [c for c in clauses if c and not (set(split_words(c)) & set().union(*VERBS.values()))]
    return max(plain, key=len) if plain and len(clauses) > 1 else None


class Filled(NamedTuple):
    arguments: dict
    missing: list[str]  # required inputs the request does not give
    defaulted: list[str]  # required inputs sent as an empty list or object: the request said nothing of them
    evidenced: int  # required inputs read from the request's own words (not defaulted, not the whole request)


def _changed_to(name: str, text: str) -> str | None:
    """ "change the name of character 10 to Rosalind" -> "Rosalind" for `name`."""
    changed = re.search(rf"\b{re.escape(name)}\b(?:\s+(?:of|on|for)\s+[^,;:]*?)?\s+to\s*:?\s+"
                        r"(?:\"([^\"]+)\"|'([^']+)'|([^,;'\"]+?)(?=[,;]|\.\s|\.?$))", text, re.I)
    if changed is None and name.lower().endswith(("name", "title")):
        changed = re.search(r"\brename\b.*?\bto\s+(?:\"([^\"]+)\"|'([^']+)'|([^,;'\"]+?)(?=[,;]|\.\s|\.?$))", text, re.I)
    return _first_group(changed)


def _explicit(name: str, schema: dict, text: str):
    """An optional input's value, when the request sets it in so many words: `name=value`,
    "name: value", or "change the name … to value"."""
    match = re.search(_ASSIGNMENT.format(name=re.escape(name)), text, re.I)
    if match:
        return _coerce(_first_group(match).strip("\"'"), schema)
    if schema.get("type") in (None, "string") and len(name) > 2:
        value = _changed_to(name, text)
        if value:
            return value
    return None


def fill_arguments(tool, text: str, request: Request | None = None) -> Filled:
    """Arguments for `tool` read from `text`, and what is missing or defaulted. A body
    whose schema has required fields is always sent with them."""
    request = request or read_request(text)
    schema = tool.parameters
    properties = schema.get("properties", {})
    required = list(schema.get("required", []))
    body_schema = properties.get("body") or {}
    if "body" in properties and body_schema.get("required") and "body" not in required:
        required.append("body")
    state = {"quoted": list(request.quoted), "numbers": set(request.numbers), "kind": operation_words(tool).kind}
    arguments, missing, pending, defaulted, evidenced = {}, [], [], [], []

    def one(name, sub, target, label, is_required):
        if not is_required:  # optional inputs only when the request sets them explicitly
            value = _explicit(name, sub, text)
            if value is not None:
                target[name] = value
                evidenced.append(label)
            return
        value = _fill(name, sub, request, state)
        if isinstance(value, str) and value in state["quoted"]:
            state["quoted"].remove(value)  # each quoted text fills one input
        if value is not None:
            target[name] = value
            if value == [] or value == {}:
                defaulted.append(label)
            else:
                evidenced.append(label)
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
            evidenced.append(label)
        elif sub.get("type") in (None, "string") and _is_comment_like(name, sub):
            target[name] = state["quoted"].pop(0) if re.search(rf"\b{re.escape(name)}\b", text, re.I) and state["quoted"] else text.strip()
        else:
            missing.append(label)
    return Filled(arguments, missing, defaulted, len(evidenced))


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


def _known_word(word: str, known: set[str]) -> str | None:
    """The resource word a misspelt or shortened word stands for ("scirpt", "charcters",
    "char"), when exactly one fits."""
    if len(word) < 3 or not word.isalpha() or word in _NOT_SHORTENED:
        return None
    shortened = [k for k in known if len(k) > len(word) and k.startswith(word)]
    if len(shortened) == 1:
        return shortened[0]
    if len(word) < 4:
        return None
    close = difflib.get_close_matches(word, known, n=2, cutoff=0.8)
    return close[0] if len(close) == 1 else None


def mark_head(request: Request, tools) -> None:
    """Read the request against the operations in scope: misspelt or shortened resource
    words are corrected, its head noun (the first word that names a resource) is marked,
    a plural head with no id asks for a listing, and an entity with its id and no verb
    ("char 15") asks to see it."""
    known = set().union(*(operation_words(t).resources for t in tools)) if tools else set()
    vocabulary = known | set().union(*VERBS.values())
    fixes = {w: fixed for w in set(request.order) | set(request.ids)
             if w not in vocabulary and w not in _STOP and (fixed := _known_word(w, known))}
    if fixes:
        request.words = {fixes.get(w, w) for w in request.words}
        request.order = [fixes.get(w, w) for w in request.order]
        request.ids = {fixes.get(w, w): n for w, n in request.ids.items()}
        request.plural = {fixes.get(w, w) for w in request.plural}
    request.head = next((w for w in request.order if w in known), None)
    first = request.tokens[0] if request.tokens else None
    created = {operation_words(t).primary for t in tools if operation_words(t).kind == "create"}
    if (first in created and first not in vocabulary - known and first not in request.plural and len(request.tokens) > 1
            and not request.tokens[1].isdigit()):
        # A resource named as the verb: "paraphrase line 17 as …" makes a paraphrase.
        request.head, request.main_kind = first, "create"
        request.kinds = request.kinds | {"create"}
    if request.head in request.plural and request.head not in request.ids and request.kinds <= {"get", "list"}:
        request.kinds = {"list"}
        request.main_kind = "list"
    if not request.kinds and request.ids:
        request.kinds, request.main_kind = {"get"}, "get"


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
    arguments, missing, defaulted, evidenced = fill_arguments(tool, request.text, request)
    reader = current_reader(tool, arguments, missing + defaulted, readers)
    # Read first, a missing input costs half: the resource may not have it either.
    penalty = missing_weight * len(missing) * (0.5 if reader else 1.0)
    from_current, missing = (missing + defaulted, []) if reader else ([], missing)
    resource_hits = request.words & info.resources
    score = 3.0 * len(resource_hits) + 0.5 * len(request.words & info.other) + prior
    if not resource_hits:
        return Choice(tool, 0.0, arguments, missing, reader, from_current)
    given_ids = set(request.ids)
    for entity in info.id_params.values():
        if entity in request.several:
            score -= 2.0  # several of them were named: an operation on one of them is not meant
        elif entity in given_ids:
            score += 3.0
    kinds = set(request.kinds)
    if info.kind in kinds:
        score += 3.0
    if info.kind == request.main_kind:
        score += 1.5  # the first verb says what is wanted: "change line 4 to read …"
    if info.verb in request.tokens and info.verb not in ("get", "list"):
        score += 2.0  # the request uses the operation's own verb: "reorder", "patch"
    score += 0.5 * evidenced  # inputs the request's words give, beyond ids (ties: the range, the name)
    method, said = tool.operation["method"], set(request.tokens)
    if info.kind == "update" and method in ("PUT", "PATCH"):
        if said & _PARTIAL or "nothing else" in request.text.lower():
            score += 1.5 if method == "PATCH" else -1.5  # "just change the name": only what is named
        elif said & _WHOLE:
            score += 1.5 if method == "PUT" else -1.5  # "replace character 5 completely"
    if kinds & {"create", "update", "delete"} and info.kind in ("get", "list") and not ({"get", "list"} & kinds and info.kind in kinds):
        score -= 2.0
    if info.kind == "create" and info.primary in given_ids:
        score -= 3.0  # "performer 4" exists already: not a new performer
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
    best_kind = operation_words(best.tool).kind
    if request.main_kind == "delete" and best_kind != "delete":
        return None, (f"No operation in scope deletes that (the closest, {best.tool.operation['operation_id']}, does "
                      "something else), so I called nothing.")
    if request.kinds and request.kinds <= {"create", "update", "delete"} and best_kind in ("get", "list"):
        # Asked to change something, found only a way to read it: say so rather than read.
        return None, (f"No operation in scope can {request.main_kind or sorted(request.kinds)[0]} that (the closest, "
                      f"{best.tool.operation['operation_id']}, only reads), so I called nothing.")
    return best, ""
