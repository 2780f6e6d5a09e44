"""What flows between operations, read from their specs: which inputs identify a thing
(an id, a key, a URI, a Twilio-style `Sid`) and what kind of thing, and where a read's
answer carries such values (`items[].id`, `tracks.items[].uri`, `item.artists[].id`).
A plan joins the two: an input the request gives only by name is taken from the answer
of a read that yields it."""

import re
from dataclasses import dataclass, field
from functools import lru_cache

from core.words import split_identifier, stem

# The last word of an input's name that says it identifies something.
_ID_WORDS = {"id", "ids", "uri", "uris", "sid", "sids", "uid", "uids", "uuid", "guid", "slug"}
# Container names that say nothing of what they hold.
_GENERIC = {"item", "items", "data", "result", "results", "record", "records", "entry", "entries", "element",
            "elements", "value", "values", "object", "objects", "list", "content", "contents", "page", "node",
            "nodes", "edge", "edges", "response", "body", "payload", "detail", "details", "info"}
# Fields that name an item, for picking "the one called X" out of a list.
LABEL_FIELDS = ("name", "title", "display_name", "displayName", "label", "friendly_name", "friendlyName", "full_name",
                "fullName", "username", "login", "email")


@dataclass(frozen=True)
class Need:
    """An input that identifies something: `label` is the argument's place ("playlistId",
    "body.uris"), `entity` the thing's word ("playlist", or None when the spec does not
    say), `field` what a found item carries it in ("id", "uri", or the input's own name)."""

    label: str
    name: str
    entity: str | None
    field: str
    many: bool
    schema: dict


@dataclass(frozen=True)
class Output:
    """Where a read's answer carries an identifying value: `path` walks the answer
    (`[]` for every item of a list), ending at `field`; `entities` are the words of the
    containers it sits in (or the operation's own, at the top); `label` is the field
    beside it that names the item, if any."""

    path: tuple[str, ...]
    field: str
    entities: frozenset
    label: str | None
    many: bool
    dates: tuple[str, ...] = ()  # date-like fields beside it ("release_date"): for "newest"


def identifier_word(name: str) -> str | None:
    """"id", "uri", "sid", … when `name` ends with a word that says it identifies."""
    parts = split_identifier(name)
    if not parts:
        return None
    last = parts[-1]
    if last in _ID_WORDS:
        return {"ids": "id", "uris": "uri", "sids": "sid", "uids": "uid"}.get(last, last)
    return None


def entity_from_name(name: str) -> str | None:
    """The thing an input's name says it identifies: "playlist_id" -> "playlist",
    "CallSid" -> "call", "seed_artists" -> "artist"; None for a bare "id"."""
    parts = split_identifier(name)
    if identifier_word(name):
        parts = parts[:-1]
    parts = [p for p in parts if p not in ("the", "a", "an")]
    return stem(parts[-1]) if parts else None


def _segment_before(path: str, name: str) -> str | None:
    """The static segment right before `{name}` in a path: /albums/{id} -> "album"."""
    segments = [s for s in path.split("/") if s]
    for i, segment in enumerate(segments):
        if placeholder(segment) == name:
            before = next((s for s in reversed(segments[:i]) if not s.startswith("{")), None)
            if before:
                words = split_identifier(before.split(".")[0])
                return stem(words[-1]) if words else None
    return None


def placeholder(segment: str) -> str | None:
    """The input a path segment stands for: "{id}" -> "id", "{Sid}.json" -> "Sid"."""
    match = re.fullmatch(r"\{([^}]+)\}(?:\.\w+)?", segment)
    return match.group(1) if match else None


def _path_resource(path: str) -> str | None:
    """The last static segment of a path: /me/albums -> "album", /Accounts/{Sid}/Calls.json -> "call"."""
    statics = [s for s in path.split("/") if s and not s.startswith("{")]
    if not statics:
        return None
    words = split_identifier(statics[-1].split(".")[0])
    return stem(words[-1]) if words else None


def needs_of(tool, *, optional: bool = False) -> list[Need]:
    """The required inputs of an operation that identify something, path inputs first;
    with `optional`, the optional ones instead (a query's or a body's `uris`)."""
    op = tool.operation
    found = []
    properties = tool.parameters.get("properties") or {}
    required = set(tool.parameters.get("required") or [])
    for param in op.get("parameters", []):
        name = param["name"]
        if name not in properties:
            continue  # filled by a credential, or not offered
        schema = properties[name]
        word = identifier_word(name)
        if param["in"] == "path":
            if not optional and not schema.get("enum"):  # an enum in a path is a choice, not an id
                entity = entity_from_name(name) if word else None
                entity = entity or _segment_before(op["path"], name) or entity_from_name(name)
                found.append(Need(name, name, entity, word or name, _is_many(schema), schema))
        elif word and bool(name in required or param.get("required")) != optional:
            entity = entity_from_name(name) or _described_entity(schema) or _path_resource(op["path"])
            found.append(Need(name, name, entity, word, _is_many(schema) or name.endswith("s"), schema))
    body = properties.get("body") or {}
    body_required = set(body.get("required") or [])
    for name, schema in (body.get("properties") or {}).items():
        word = identifier_word(name)
        if word and (name in body_required) != optional:
            entity = entity_from_name(name) or _described_entity(schema) or _path_resource(op["path"])
            found.append(Need(f"body.{name}", name, entity, word, _is_many(schema), schema))
    return found


def _is_many(schema: dict) -> bool:
    return schema.get("type") == "array" or "comma-separated" in (schema.get("description") or "").lower()


def _described_entity(schema: dict) -> str | None:
    """"The uri of the item to add. Must be a track or an episode uri." -> "track": the
    first thing the description says the value is of."""
    text = (schema.get("description") or "").lower()
    for match in re.finditer(r"\b(?:must be an?|of the|of an?|ids? of the|uris? of the)\s+([a-z]+)", text):
        word = match.group(1)
        if word not in _GENERIC and word not in ("id", "ids", "uri", "uris", "list", "comma", "spotify", "current", "user's"):
            return stem(word)
    return None


def outputs_of(tool) -> tuple[Output, ...]:
    """Where the operation's answer carries identifying values, kept on the tool (tools
    are cached per service and spec version)."""
    cached = getattr(tool, "_outputs", None)
    if cached is None:
        op = tool.operation
        cached = tuple(_walk(op.get("response") or {}, (), [], _own_words(op["operation_id"], op["path"]), False))
        object.__setattr__(tool, "_outputs", cached)
    return cached


@lru_cache(maxsize=4096)
def _own_words(operation_id: str, path: str) -> frozenset:
    words = {stem(w) for w in split_identifier(operation_id)} | {
        stem(w) for s in path.split("/") if s and not s.startswith("{") for w in split_identifier(s.split(".")[0])}
    return frozenset(words - _GENERIC - _NOT_THINGS)


# Words of an operation's name that are no thing it is about.
_NOT_THINGS = {"a", "an", "the", "of", "and", "or", "to", "for", "by", "from", "in", "on", "with", "about", "get",
               "list", "create", "update", "delete", "remove", "add", "set", "put", "post", "patch", "fetch", "read",
               "retrieve", "find", "search", "show", "all", "one", "new", "me", "my"}


def _walk(shape, path, containers, own, many, depth=0):
    if depth > 8 or not isinstance(shape, dict):
        return
    if shape.get("type") == "array" or "items" in shape:
        yield from _walk(shape.get("items") or {}, path + ("[]",), containers, own, True, depth + 1)
        return
    properties = shape.get("properties") or {}
    if not properties:
        return
    named = [c for c in containers if c not in _GENERIC]
    entities = frozenset(named[-1:]) if named else own
    label = next((f for f in LABEL_FIELDS if f in properties and (properties[f] or {}).get("type") in (None, "string")), None)
    dates = tuple(name for name, sub in properties.items()
                  if (sub or {}).get("format") in ("date", "date-time") or re.search(r"(^|_)(date|released?|created)($|_)|At$|Date$", name))
    for name, sub in properties.items():
        sub = sub or {}
        if identifier_word(name) and sub.get("type") in (None, "string", "integer", "number"):
            own_entity = entity_from_name(name)
            yield Output(path, name, frozenset({own_entity}) if own_entity else entities, label, many, dates)
    for name, sub in properties.items():
        if isinstance(sub, dict) and (sub.get("properties") or sub.get("items")):
            word = split_identifier(name)
            container = stem(word[-1]) if word else name
            yield from _walk(sub, path + (name,), containers + [container], own, many, depth + 1)


def extract(answer, output: Output) -> list[dict]:
    """The items of `answer` at the output's place, each as {"value", "label", "date"}."""
    items = [answer]
    for key in output.path:
        nxt = []
        for item in items:
            if key == "[]":
                nxt.extend(item if isinstance(item, list) else [])
            elif isinstance(item, dict) and key in item:
                nxt.append(item[key])
        items = nxt
    found = []
    for item in items:
        if isinstance(item, dict) and item.get(output.field) not in (None, ""):
            date = next((str(item[d]) for d in output.dates if item.get(d)), "")
            found.append({"value": item[output.field], "label": str(item.get(output.label) or "") if output.label else "",
                          "date": date})
    return found


def path_text(output: Output) -> str:
    """`tracks.items[].uri` as a reader writes it."""
    text = ""
    for key in output.path:
        text += "[]" if key == "[]" else (f".{key}" if text else key)
    return f"{text}.{output.field}" if text else output.field


@dataclass
class Found:
    """A value taken from a read's answer, and where from (for the log and the answer)."""

    value: object
    step: int  # the position of the call it came from
    path: str  # "items[0].id"
    label: str = ""
    others: list = field(default_factory=list)  # what else matched equally well (an ambiguous lookup)
