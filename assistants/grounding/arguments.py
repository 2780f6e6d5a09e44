"""The inputs of an operation read from a request's words: ids, ranges, enums, names,
titles, authors, quoted and labelled text, `name=value`, "change the F of … to V", and
comment-like fields from the request itself."""

import re
from typing import NamedTuple

from core.words import split_identifier

from .reading import Request, entity_of, lead_verb, operation_words, read_request, verbs_of_participle
from .words import MOVE, VERB_WORDS, first_group, split_words, stem

# --- arguments --------------------------------------------------------------------------------

# `name=value` (one token or quoted), or "Name: value" (to the next comma, semicolon,
# full stop or "label:").
_ASSIGNMENT = (r"(?:^|[\s,;(]){name}\s*(?:=\s*(\"[^\"]*\"|'[^']*'|[^\s,;)]+)"
               r"|:\s*(\"[^\"]*\"|'[^']*'|[^,;]+?)(?=\s*(?:[,;]|\.\s|\.$|\s\w+:|$)))")


# After a field's word, these start a clause about the field, not its value:
# "keep the name but revise …", "the name stays".
_NOT_A_VALUE = r"(?!(?:of|to|for|but|and|or|as|is|stays|unchanged)\b)"


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


def boolean_said(name: str, schema: dict, text: str) -> bool | None:
    """A yes/no input the request sets in words: its own name ("public", "not public"),
    or the word its description gives each value ("If true the list will be public, if
    false it will be private": "make it private" is false)."""
    words = [w for w in split_words(name) if len(w) > 2]
    lowered = text.lower()
    description = (schema.get("description") or "").lower().replace(",", " ")
    for value in (True, False):
        said = re.search(rf"\bif\s+[`'\"]?{str(value).lower()}[`'\"]?[^.;]*?\b(?:will\s+be|is|becomes|be|makes?\s+it)\s+(\w+)", description)
        if said and re.search(rf"\b{re.escape(said.group(1))}\b", lowered):
            return value
    if words and re.search(rf"\b(?:not|non|un)[\s-]?{re.escape(' '.join(words))}\b", lowered):
        return False
    if words and re.search(rf"\b{re.escape(' '.join(words))}\b", lowered) and not re.search(r"\bfalse\b", lowered):
        return True if len(words) == 1 and words[0] not in ("name", "type", "id", "all") else None
    return None


def described_choices(schema: dict) -> list[str]:
    """The values a string input takes when its description lists them instead of an
    enum: "**track**, **context** or **off**" (Markdown bold) or "`asc` or `desc`"."""
    text = schema.get("description") or ""
    found = list(dict.fromkeys(re.findall(r"\*\*([\w-]+)\*\*|`([\w-]+)`", text)))
    values = list(dict.fromkeys(a or b for a, b in found))
    return values if len(values) >= 2 else []


def state_asked(schema: dict, request: Request):
    """The enum value a request's leading verb asks for: "close conversation …" sets a
    state "closed", "please suspend account …" a status "suspended"; else None."""
    lead = lead_verb(request)
    return next((value for value in schema.get("enum") or () if lead and lead in verbs_of_participle(str(value))), None)


def _is_comment_like(name: str, schema: dict) -> bool:
    text = f"{name} {schema.get('description', '')}".lower()
    return bool(re.search(r"\b(comment|commentary|reason|reasons|explanation|explaining|justification|note)\b", text))


def _fill(name: str, schema: dict, request: Request, state: dict):
    """A value for one input from the request, or None."""
    text = request.text
    kind = schema.get("type")
    match = re.search(_ASSIGNMENT.format(name=re.escape(name)), text, re.IGNORECASE)
    assigned = _coerce(first_group(match).strip("\"'"), schema) if match else None
    if match and kind != "array":  # a list is read below: "sections: Dusk, Night, Dawn" is three
        return assigned
    lname = name.lower()
    id_entity = state["id_entities"].get(name)
    if id_entity and id_entity in request.ids and isinstance(request.ids[id_entity], str) and kind in (None, "string"):
        return request.ids[id_entity]  # "call CA0123…" for {Sid} of /Calls
    if kind in (None, "string") and id_entity and id_entity in request.ids:
        return str(request.ids[id_entity])  # an id typed as a string, written as a number
    if kind in ("integer", "number"):
        entity = entity_of(name) or id_entity
        if entity and entity in request.ids and isinstance(request.ids[entity], int):
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
        id_field = next((k for k, v in item_fields.items() if entity_of(k) and v.get("type") == "integer"), None)
        order_field = next((k for k, v in item_fields.items() if k != id_field and v.get("type") == "integer"
                            and re.search(r"order|position|rank|index|place|seq", k, re.I)), None)
        if id_field and order_field and len(request.numbers) > 1:
            state["numbers"].clear()
            moves = re.findall(MOVE, text, re.I)
            if moves:  # "action 5 goes to position 1 and action 2 to position 2": the pairs as said
                return [{id_field: int(item), order_field: int(position)} for item, position in moves]
            # "elements 4, 2 and 9 in this order": each id with its new position.
            return [{id_field: n, order_field: i} for i, n in enumerate(request.numbers, 1)]
        if items.get("type") in (None, "string"):
            # "context to ['villain motive', 'character 13']", "context of session 6 to act 2 blocking"
            listed = re.search(rf"\b{re.escape(lname)}\b[^\[\]]*?\[([^\]]*)\]", text, re.I)
            if listed:
                return [v.strip().strip("'\"") for v in listed.group(1).split(",") if v.strip()]
            changed = _changed_to(lname, text)
            if changed:
                return [changed]
        if items.get("type") in (None, "string") and (request.quoted and (lname in text.lower() or "context" in lname)):
            return [request.quoted[0]]
        named_items = _named_items(name, items, text, state)
        if named_items:
            return named_items
        if match:
            return assigned
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
    enum = schema.get("enum") or described_choices(schema)
    if enum:
        said = split_words(text)
        for value in enum:
            parts = split_words(str(value))  # "spokenWord" is said "spoken word"
            if parts and any(said[i : i + len(parts)] == parts for i in range(len(said))):
                return value
        return state_asked(schema, request)
    changed = _changed_to(lname, text)
    if changed:  # "change the name of character 10 to Rosalind"
        if changed in state["quoted"]:
            state["quoted"].remove(changed)
        return changed
    if lname in ("name", "fullname", "displayname") or lname.endswith("name"):
        if request.named:
            return request.named
        said = re.search(rf"\bname\s+{_NOT_A_VALUE}([^,;.]+)", text)
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
    said = re.search(rf"\b{re.escape(lname)}\s+{_NOT_A_VALUE}([^,;.]+)", text, re.I)
    if said is None and lname in _SPOKEN:  # "text not tonight" for the content
        said = re.search(rf"\b(?:text|content|words|{re.escape(lname)})\s*:?\s+{_NOT_A_VALUE}([^,;.]+)", text, re.I)
    if said:
        return said.group(1).strip()
    name = request.named or request.proper
    if name and lname in ("description", "summary", "bio"):
        apposition = re.search(re.escape(name) + r"[\"']?\s*,\s*((?:a|an|the)\s[^.;—–]+?)"
                               r"(?=,?\s+(?:because|since|as|for|so)\b|[.;—–]|$)", text)
        if apposition:
            return apposition.group(1).strip()
    if lname in _TEXTS:
        # "action 19 shld say exits through the trapdoor, not stage left": its text
        wish = re.search(r"\b(?:should|shld|must|needs?\s+to)\s+(?:now\s+)?(?:say|read)\s*:?\s+" + _NEW_VALUE, text, re.I)
        if wish:
            return first_group(wish)
    if lname in _TEXTS and lname not in ("description", "summary"):
        says = re.search(r"\b(?:says|saying|reads|reading)\s*[:,]?\s+(.+?)(?:\s+[—–-]\s+|[;]|$)", text)
        if says:
            return says.group(1).strip()
    after_colon = re.search(r":\s*([^'\"]+?)[.!?]?$", text)
    if after_colon and lname in ("description", "text", "content", "summary", "body", "message"):
        return after_colon.group(1).strip()
    if lname in ("description", "text", "content", "summary") and state["kind"] == "create":
        return _statement(text)
    return None


# Inputs that hold what something says: its text.
# Names of fields that hold free text a user dictates: English words, not any one API's fields.
_TEXTS = {"description", "text", "content", "message", "body", "words", "utterance", "transcript", "speech", "dialogue"}
_SPOKEN = _TEXTS - {"description"}  # what a user may also call its "text", "content" or "words"


def _named_items(name: str, items: dict, text: str, state: dict) -> list[dict] | None:
    """Objects with one text field each, named in a list after the field's word: "with
    sections Dawn, Noon and Dusk", "sections 'Frost' and 'Thaw'", "one section called
    Depot" give [{"title": "Dawn"}, …] when a section is an object with one (required)
    string field."""
    fields = items.get("properties") or {}
    texts = [k for k, v in fields.items() if v.get("type") in (None, "string")]
    required = [k for k in items.get("required", []) if k in texts]
    field_name = required[0] if len(required) == 1 else texts[0] if len(texts) == 1 and len(fields) == 1 else None
    if items.get("type") == "string":
        field_name = ""  # a list of texts: the names themselves
    word = stem(split_words(name)[-1]) if split_words(name) else ""
    said = re.search(rf"\b{re.escape(word)}s?\b\s*(?:called|named|titled|:)?\s*(.+?)"
                     r"(?=\s*(?:[;.—–]|,\s*(?:reason|because|since|comment|note)\b|\s(?:because|since)\b|$))", text, re.I)
    if field_name is None or not word or said is None:
        return None
    values = []
    for part in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+|\s*/\s*", said.group(1)):  # "Departure / Storm / Arrival"
        quoted = re.fullmatch(r"[\"'](.+)[\"']", part.strip())
        value = quoted.group(1) if quoted else part.strip()
        if quoted or re.fullmatch(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*", value):
            values.append(value)
            if value in state["quoted"]:
                state["quoted"].remove(value)
        else:
            break
    return [{field_name: value} if field_name else value for value in values] or None


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
    add that as an action"): the clause a command points back to ("… — please record
    that as an action"), or else the longest clause with no verb from the verb table."""
    clauses = [c.strip(" .!?") for c in re.split(r"\s[—–-]\s|[:;]|\s(?:where|in which)\s|(?<=\w{3})[.!?]\s+(?=[A-Z])", text)]
    pointed = next((i for i, c in enumerate(clauses) if i and re.search(r"\b(?:that|this|it)\s+(?:down\s+)?as\b", c)), None)
    if pointed:
        return clauses[pointed - 1]
    plain = [c for c in clauses if c and not (set(split_words(c)) & VERB_WORDS)]
    return max(plain, key=len) if plain and len(clauses) > 1 else None


class Filled(NamedTuple):
    arguments: dict
    missing: list[str]  # required inputs the request does not give
    defaulted: list[str]  # required inputs sent as an empty list or object: the request said nothing of them
    evidenced: int  # required inputs read from the request's own words (not defaulted, not the whole request)


# What a field is to become: "… to", "… ->", "… should be", "… is now", "… so it says",
# "… — make it".
_BECOMES = (r"(?:\s+to\s*:?\s+|\s*(?:->|→|=>)\s*|\s+(?:should|must|needs?\s+to|has\s+to)\s+(?:now\s+)?(?:be|read|say|become)"
            r"\s*:?\s+|\s+(?:is\s+now|becomes|will\s+be)\s*:?\s+|\s+so\s+(?:that\s+)?it\s+(?:says|reads)\s*:?\s+"
            r"|\s*[—–-]?\s*make\s+it\s+)")
# Between a field and what it becomes: "the name field of performer #41", "the name of
# character 12, it must be …".
_OF_WHAT = r"(?:\s+field)?(?:\s+(?:of|on|for)\s+[^,;:]*?)?(?:,?\s+(?:it|which))?"


# The new value: quoted, or up to a comma, a semicolon, a dash, "and not …" or the end of a
# sentence ("Sam O'Neill - she changed her stage name" gives "Sam O'Neill").
_NEW_VALUE = (r"(?:\"([^\"]+)\"|'([^']+)'|((?:[^,;'\"]|(?<=\w)'(?=\w))+?)"
              r"(?=[,;]|\s[-–—]\s|\s+(?:and\s+)?not\s|\.\s|\.?$))")


def _said_as(name: str) -> str:
    """A pattern for an input's name as a user writes it: "MaxSize" as "max size",
    "max_size" or "MaxSize"."""
    parts = [re.escape(p) for p in split_identifier(name)]
    return r"[\s_-]*".join(parts) if len(parts) > 1 else re.escape(name)


def _changed_to(name: str, text: str) -> str | None:
    """ "change the name of character 10 to Rosalind", "the name -> Rosalind", "its name
    should be Rosalind", "fix the name: it's 'Rosalind' not 'Rosalnd'" -> "Rosalind" for `name`."""
    field = rf"\b{_said_as(name)}\b"
    changed = (re.search(field + _OF_WHAT + _BECOMES + _NEW_VALUE, text, re.I)
               or re.search(rf"\bnew\s+{_said_as(name)}\s*:?\s+" + _NEW_VALUE, text, re.I))  # "w/ new name Benedikt"
    if changed is None:  # a correction: the new value, then the old one after "not"
        changed = re.search(field + r"(?:[^\"']|(?<=\w)'(?=\w))*?(?:\"([^\"]+)\"|'([^']+)')\s*,?\s*(?:and\s+)?"
                            r"(?:not|instead\s+of|rather\s+than)\s", text, re.I)
    if changed is None and name.lower().endswith(("name", "title")):
        changed = (re.search(r"\brename\b.*?\bto\s+" + _NEW_VALUE, text, re.I)
                   or re.search(r"\b(?:goes\s+by|(?:is|be)\s+(?:now\s+)?called|now\s+called|(?:now\s+)?known\s+as)\s+"
                                + _NEW_VALUE, text, re.I))  # "performer 19 now goes by Dee Marlow", "should be called X"
    return first_group(changed)


def _explicit(name: str, schema: dict, text: str):
    """An optional input's value, when the request sets it in so many words: `name=value`,
    "name: value", or "change the name … to value"."""
    match = re.search(_ASSIGNMENT.format(name=re.escape(name)), text, re.I)
    if match:
        return _coerce(first_group(match).strip("\"'"), schema)
    if schema.get("type") in (None, "string") and len(name) > 2:
        value = _changed_to(name, text)
        if value:
            return value
    if schema.get("type") == "boolean":
        said = boolean_said(name, schema, text)
        if said is not None:
            return said
    with_value = re.search(rf"\bwith\s+(?:the\s+|a\s+|an\s+)?{re.escape(name)}\s+(?:of\s+)?"
                           r"(\"[^\"]+\"|'[^']+'|[\w.@+-]+)", text, re.I)  # "with tag cat"
    if with_value and with_value.group(1).lower() not in ("and", "or", "but", "to", "of", "the"):
        return _coerce(with_value.group(1).strip("\"'"), schema)
    return None


def _id_filter(name: str, schema: dict, request: Request, state: dict):
    """An optional id a read filters by, when the request names that thing by its id:
    "the actions of character 7" reads listActions(characterId=7). Only a read's own
    parameters (never a body) take it: a filter narrows what is read, it changes nothing."""
    entity = entity_of(name) or state["id_entities"].get(name)
    if not entity or entity == state.get("own_entity") or entity not in request.ids:
        return None
    value = request.ids[entity]
    if schema.get("type") in ("integer", "number"):
        return value if isinstance(value, int) else None
    return str(value) if schema.get("type") in (None, "string") else None


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
    state = {"quoted": list(request.quoted), "numbers": set(request.numbers), "kind": operation_words(tool).kind,
             "id_entities": operation_words(tool).id_params, "own_entity": operation_words(tool).primary}
    arguments, missing, pending, defaulted, evidenced = {}, [], [], [], []

    reads = tool.operation.get("method") == "GET"

    def one(name, sub, target, label, is_required):
        if not is_required:  # optional inputs only when the request sets them explicitly
            value = _explicit(name, sub, text)
            if value is None and not reads:
                value = state_asked(sub, request)
            if value is None and reads and target is arguments:
                value = _id_filter(name, sub, request, state)
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
    if "body" in required or "body" in properties:
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
