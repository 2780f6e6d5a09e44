"""Choosing the operation: each candidate scored on the request's words, kinds and ids,
the inputs it can fill, and what an update must read first; and when to call nothing."""

import re
from dataclasses import dataclass, field

from .arguments import fill_arguments
from .reading import Request, mark_head, operation_words, read_request
from .words import OP_VERBS, PARTIAL, VERB_WORDS, WHOLE, split_words, stem

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


# Below this BM25 score (operations.ranking) an operation whose nouns the request does not
# name is not meant; above it, its words (verb, summary, description) say it is.
LEXICAL_FLOOR = 3.0


def score_operation(tool, request: Request, prior: float = 0.0, missing_weight: float = 2.0,
                    readers: Readers | None = None, lexical: float = 0.0, looked_up: frozenset = frozenset(),
                    known_resources: frozenset = frozenset(), own_verbs: frozenset = frozenset()) -> Choice:
    """How well `tool` serves the request. `lexical` is its BM25 score for the request
    (what its spec's words share with it); `looked_up` are the inputs a plan can find
    by a lookup (a name where an id is wanted), which cost little when missing."""
    info = operation_words(tool)
    arguments, missing, defaulted, evidenced = fill_arguments(tool, request.text, request)
    reader = current_reader(tool, arguments, missing + defaulted, readers)
    # Read first, a missing input costs half: the resource may not have it either.
    unfound = [m for m in missing if m not in looked_up]
    costs = looked_up if isinstance(looked_up, dict) else dict.fromkeys(looked_up, 0.5)
    penalty = missing_weight * len(unfound) * (0.5 if reader else 1.0) + sum(costs[m] for m in missing if m in costs)
    from_current, missing = (missing + defaulted, []) if reader else ([], missing)
    resource_hits = request.words & info.resources
    score = 3.0 * len(resource_hits) + 0.5 * len(request.words & info.other) + prior
    if not resource_hits:
        if lexical < LEXICAL_FLOOR or request.words & known_resources - info.other:
            # Too little in common, or the request names another operation's thing
            # ("delete record 12" is no delete of a note because "delete" matches).
            return Choice(tool, 0.0, arguments, missing, reader, from_current)
        score = lexical  # the request says what the operation does in its spec's other words
    given_ids = set(request.ids)
    required = tool.parameters.get("required", [])
    for name, entity in info.id_params.items():
        if name in required and entity in request.plural and entity not in given_ids:
            score -= 3.0  # "every character, across all the scripts": no one script is meant
        if entity in request.several:
            score -= 2.0  # several of them were named: an operation on one of them is not meant
        elif entity in given_ids:
            score += 3.0
    kinds = set(request.kinds)
    # An operation named by a verb of its own ("save-tracks", "pause-playback") has a kind
    # only by its HTTP method, which says little: PUT also adds, POST also skips.
    named_kind = info.verb in OP_VERBS or info.kind in ("get", "list")
    if info.kind in kinds:
        score += 3.0 if named_kind else 1.0
    if info.kind == request.main_kind and named_kind:
        score += 1.5  # the first verb says what is wanted: "change line 4 to read …"
    lead = _lead_verb(request)
    if lead and lead in own_verbs and lead not in OP_VERBS:
        # The request starts with a verb some operation is named by ("follow …", "pause …")
        # or that names a state its write sets ("close conversation …" sets it "closed"):
        # that operation is meant, not one that only reads the things named.
        score += 3.0 if lead == info.verb or lead in info.state_verbs else -2.0
    if info.verb and info.verb not in OP_VERBS and info.verb not in VERB_WORDS and info.kind not in ("get", "list") \
            and info.verb not in request.tokens and info.verb not in {request.synonyms.get(t, t) for t in request.tokens}:
        score -= 2.5  # "follow-artists", "pause-playback": named by a verb the request does not say
    if info.verb in request.tokens and info.verb not in ("get", "list"):
        score += 2.0  # the request uses the operation's own verb: "reorder", "patch"
    score += 0.5 * evidenced  # inputs the request's words give, beyond ids (ties: the range, the name)
    method, said = tool.operation["method"], set(request.tokens) | request.words  # "Only the name … — make it …"
    if info.kind == "update" and method in ("PUT", "PATCH"):
        if said & PARTIAL or "nothing else" in request.text.lower():
            score += 1.5 if method == "PATCH" else -1.5  # "just change the name": only what is named
        elif said & WHOLE:
            score += 1.5 if method == "PUT" else -1.5  # "replace character 5 completely"
    if kinds & {"create", "update", "delete"} and info.kind in ("get", "list") and not ({"get", "list"} & kinds and info.kind in kinds):
        score -= 2.0
    if kinds and not kinds & {"create", "update", "delete"} and info.kind in ("create", "update", "delete"):
        score -= 3.0  # "What's the description of character 9?" asks nothing to be written
    if info.kind == "create" and info.primary in given_ids:
        score -= 3.0  # "performer 4" exists already: not a new performer
    if info.kind == "list" and any(e in info.resources for e in given_ids) and not any(e in given_ids for e in info.id_params.values()):
        score -= 2.0  # an id was given for this resource: the single-item operation is meant
    # Nouns of the operation the user did not say (a long operationId says many: at most 3).
    score -= min(3.0, 1.0 * len(info.resources - request.words - given_ids - {"me"}))
    if request.head and info.primary == request.head:
        score += 1.5  # "an action for a character": the action is what is meant
    score += _destination_fit(tool, info, request, known_resources)
    score -= penalty
    return Choice(tool, score, arguments, missing, reader, from_current)


_INTO = re.compile(r"\b(?:to|into|onto)\s+(?:the|my|our|a|an|this|that|your)?\s*([a-z]+)(?:\s+([a-z]+))?", re.I)


def _destination_fit(tool, info, request: Request, known_resources) -> float:
    """"Add the user … to the conversation called X": a thing added to another is made
    inside it, by the operation that takes where it goes, not by one that makes it
    alone (which would leave the destination out)."""
    if info.kind != "create":
        return 0.0
    said = _INTO.search(request.text)
    if not said:
        return 0.0
    named = {request.synonyms.get(stem(w), stem(w)) for w in said.groups() if w} & known_resources
    if not named:
        return 0.0
    if named & (info.resources | set(info.id_params.values())):
        return 1.0
    # One that needs no other thing would leave the destination out; one that needs some
    # thing may take it in general terms ("elementId" and "elementType").
    body = (tool.parameters.get("properties") or {}).get("body") or {}
    required = set(tool.parameters.get("required") or ()) | set(body.get("required") or ())
    return -1.0 if required & set(info.id_params) else -3.0


def _lead_verb(request: Request) -> str | None:
    """The command's first word, when it is a verb in its plain form ("Follow …")."""
    words = [w for w in request.tokens if w not in ("please", "pls", "now", "then", "just", "kindly")]
    return request.synonyms.get(words[0], words[0]) if words and words[0].isalpha() else None


def choose(tools, text: str, priors: dict | None = None, readers: Readers | None = None,
           lexical: dict | None = None, lookups=None, allowed=None, synonyms: dict | None = None) -> tuple[Choice | None, str]:
    """The best operation for `text` and why nothing was chosen, if so. `lexical` holds
    each tool's BM25 score by name; `lookups(tool, request)`, when given, names the
    inputs a plan can look up from the request's words (they may be missing);
    `allowed(tool)`, when given, says which may be chosen (all are read alike)."""
    request = read_request(text, synonyms)
    if request.injection:
        return None, "The request asks me to ignore my instructions; I called nothing."
    if "delete" in request.kinds and ({"all", "every"} & set(split_words(text))) and not request.ids:
        return None, "I do not delete everything at once; name one item by its id. I called nothing."
    priors = priors or {}
    mark_head(request, tools)
    if request.foreign:
        return None, (f"I found no service operation for “{request.foreign}”, so I called nothing; "
                      "the services offer what the system prompt lists.")
    readers = readers or Readers(tools)
    lexical = lexical or {}
    known = frozenset().union(*(operation_words(t).resources for t in tools)) if tools else frozenset()
    own_verbs = frozenset(operation_words(t).verb for t in tools).union(*(operation_words(t).state_verbs for t in tools))
    lead = _lead_verb(request)
    if lead and lead not in OP_VERBS and any(lead in operation_words(t).state_verbs for t in tools) \
            and not request.kinds & {"create", "update", "delete"}:
        request.kinds = {"update"}  # "suspend account AC…": a change of its state, not a read
        request.main_kind = "update"
    choices = [score_operation(tool, request, priors.get(tool.name, 0.0), readers=readers,
                               lexical=lexical.get(tool.name, 0.0), known_resources=known, own_verbs=own_verbs,
                               looked_up=lookups(tool, request) if lookups else frozenset())
               for tool in tools]
    choices = [c for c in choices if c.score > 0 and (allowed is None or allowed(c.tool))]
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
    if best_kind in ("create", "update"):
        unused = _unused_reference(best, request, tools)
        if unused:
            return None, (f"The request also names {unused}, which {best.tool.operation['operation_id']} does not take, "
                          "and no operation in scope relates the two; I changed nothing and called nothing.")
    return best, ""


def _unused_reference(choice: Choice, request: Request, tools) -> str | None:
    """An entity with its id that the request relates to the one a write changes, and the
    write would leave out: "assign performer 3 to play character 7", "cast performer 3 as
    character 9" are no change to performer 3 alone, but a relation no operation makes.
    Where a thing is ("character 5 in script 3") is not a relation; reads are left alone
    ("performer 12 plays character 11 — who is character 11?" reads character 11)."""
    used, stack = set(), [choice.arguments]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, int):
            used.add(value)
        elif isinstance(value, str) and value.strip() != request.text.strip():  # "context 'character 13'"
            used.add(value)  # a string id, as it is
            used.update(int(n) for n in re.findall(r"\d+", value))
    known = set().union(*(operation_words(t).resources for t in tools))

    def related(entity, number):
        return re.search(rf"\b(?:to|as|with|into|onto)\s+(?:\w+\s+){{0,2}}{re.escape(entity)}\w*\s+(?:#|no\.?\s*)?{number}\b",
                         request.text, re.I)

    return next((f"{entity} {number}" for entity, number in request.ids.items()
                 if number not in used and entity in known and entity != operation_words(choice.tool).primary
                 and related(entity, number)), None)
