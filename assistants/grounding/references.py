"""What a request refers to in the conversation before it: "she", "it", "that character",
"the same script", "the second one", "the one you just created". Each is read as the thing
an earlier turn named or got back, with its id ("character 7"), so the rest of the reading
sees a request that says which thing it means. Generic over the specs: a thing's kind and
id come from where the operation's answer carries ids (dataflow.outputs_of) and from the
ids its call was given (dataflow.needs_of); nothing here knows any service's words.

When a reference could mean more than one thing (an earlier answer listed several, or a
turn made two of a kind), the request is not guessed at: the question says which ones."""

import json
import re
from dataclasses import dataclass, replace

from core.words import stem

from .dataflow import LABEL_FIELDS, entity_from_name, extract, identifier_word, needs_of, outputs_of
from .reading import operation_words

# Pronouns a request uses for one thing, for several, and their possessive forms.
_SINGULAR = {"she", "he", "her", "him", "it", "hers", "his", "its", "herself", "himself", "itself"}
_PLURAL = {"they", "them", "their", "theirs", "themselves"}
_PERSONAL = {"she", "he", "her", "him", "hers", "his", "herself", "himself"}
_POSSESSIVE = {"his", "its", "their", "hers", "theirs"}
_PRONOUN = re.compile(r"\b(she|he|her|him|hers|his|its|it|they|them|their|theirs|herself|himself|itself|themselves)\b", re.I)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
             "ninth": 9, "tenth": 10, "last": -1, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5}
_ONE_BY_ORDINAL = re.compile(r"\bthe\s+(" + "|".join(_ORDINALS) + r")\s+one\b", re.I)
_JUST_MADE = re.compile(r"\bthe\s+(?:one|thing)\s+(?:that\s+)?you\s+(?:just\s+)?(?:created|made|added|recorded|registered)\b"
                        r"|\bthe\s+new\s+one\b", re.I)
# "that character", "this script", "the same session", "said action"
_DEMONSTRATIVE = re.compile(r"\b(?:that|this|the\s+same|said)\s+([A-Za-z][A-Za-z-]*)\b", re.I)
# "it" that refers to nothing: "it is raining", "make it so", "is it possible", "it's …"
_DUMMY_IT = re.compile(r"\bit(?:'s|\s+is\s+(?:possible|raining|time|ok|okay|fine)|\s+seems|\s+looks\s+like)\b"
                       r"|\b(?:make|is|was)\s+it\s+(?:so|possible|true)\b", re.I)


@dataclass(frozen=True)
class Referent:
    """A thing an earlier turn named or got back."""

    entity: str  # its kind, in the specs' words ("character")
    value: object  # its id
    name: str = ""  # what names it, when the answer said ("Juliet")
    created: bool = False  # a write of that turn made it
    position: int | None = None  # its place in the list an answer gave (1-based)
    answered: bool = True  # from an answer (not only an id the call was given)

    def phrase(self) -> str:
        return f"{self.entity} {self.value}"

    def described(self) -> str:
        return f"{self.entity} {self.value}" + (f" ({self.name})" if self.name else "")


@dataclass
class Resolved:
    text: str  # the request with each reference written as the thing it means
    question: str = ""  # when a reference is ambiguous or names nothing: what to ask
    read_as: tuple[tuple[str, str], ...] = ()  # (what was said, what it was read as)


def referents(history, tools) -> list[list[Referent]]:
    """For each earlier turn (oldest first), the things it named or got back, the target's
    answer first: what a created or read thing is, then the ids its calls were given."""
    by_key = {(tool.service.pk, tool.operation["operation_id"]): tool for tool in tools}
    turns = []
    for turn in history:
        found: list[Referent] = []
        given: list[Referent] = []
        for call in reversed(turn.calls):  # the last call is the one the request asked for
            tool = by_key.get((call.service_id, call.operation_id))
            if tool is None:
                continue
            given.extend(_given(tool, call.arguments))
            if call.ok:
                found.extend(_answered(tool, call, tools))
        turns.append(_unique(found + given))
    # An id a call was given is the thing an answer named elsewhere in the conversation.
    names = {(r.entity, str(r.value)): r.name for turn in turns for r in turn if r.name}
    return [[r if r.name else replace(r, name=names.get((r.entity, str(r.value)), "")) for r in turn] for turn in turns]


def _answered(tool, call, tools) -> list[Referent]:
    try:
        answer = json.loads(call.response) if call.response else None
    except ValueError:
        return []
    if answer is None:
        return []
    own = operation_words(tool).primary
    created = call.method in ("POST", "PUT")
    outputs = outputs_of(tool)
    # What the answer is: the ids of the operation's own kind, the nearest the top first;
    # without such, the ids at its top. Other ids in it (an action's characterId) are what
    # it refers to, not what it is.
    mine = sorted((o for o in outputs if own and own in o.entities), key=lambda o: len(o.path))
    chosen = mine[:1] or [o for o in outputs if not [key for key in o.path if key != "[]"]][:1]
    if not outputs and isinstance(answer, dict):
        return _undeclared(answer, own, created, tools)  # the spec shows no answer: read what came
    found = []
    for output in chosen:
        entity = own if own in output.entities else next(iter(sorted(output.entities)), None)
        if not entity:
            continue
        for position, item in enumerate(extract(answer, output), 1):
            found.append(Referent(entity, item["value"], item["label"], created and not output.many,
                                  position if output.many else None))
    return found


def _undeclared(answer: dict, own: str | None, created: bool, tools) -> list[Referent]:
    """The ids at the top of an answer whose shape the spec does not declare: fields that
    say they identify, or that operations in scope take as ids (an answer's "orderNo" is
    the order cancelOrder's {orderNo} takes). Read only for such answers."""
    id_names = {need.name: need.entity for tool in tools for need in needs_of(tool) if need.entity}
    label = next((str(answer[f]) for f in LABEL_FIELDS if isinstance(answer.get(f), str)), "")
    found = []
    for key, value in answer.items():
        if (identifier_word(key) or key in id_names) and isinstance(value, (int, str)) and not isinstance(value, bool) \
                and value != "":
            entity = id_names.get(key) or entity_from_name(key) or own
            if entity:
                found.append(Referent(entity, value, label, created))
    return [r for r in found if r.entity == own] or found


def _given(tool, arguments) -> list[Referent]:
    """The ids a call was given ("the actions of character 7": character 7)."""
    found = []
    for need in needs_of(tool):
        value = arguments
        for key in need.label.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if need.entity and isinstance(value, (int, str)) and not isinstance(value, bool) and value != "":
            found.append(Referent(need.entity, value, answered=False))
    return found


def _unique(found: list[Referent]) -> list[Referent]:
    seen, kept = set(), []
    for referent in found:
        key = (referent.entity, str(referent.value))
        if key not in seen:
            seen.add(key)
            kept.append(referent)
    return kept


_CLAUSE_BREAK = re.compile(r"(?:[;,]|\b(?:and|then)\b)", re.I)
_MAKES_OR_NAMES = re.compile(r"\b(?:create|make|add|new|register|record|open|start|write)\b|\d|[\"“']", re.I)


def _named_before(before: str) -> bool:
    """Whether an earlier clause of the same request names or makes something a pronoun
    after it can mean: then the pronoun is the request's own, not the conversation's."""
    breaks = list(_CLAUSE_BREAK.finditer(before))
    return bool(breaks) and bool(_MAKES_OR_NAMES.search(before[: breaks[-1].start()]))


def resolve(text: str, history, tools, synonyms: dict | None = None) -> Resolved:
    """`text` with its references to earlier turns written out, or the question to ask."""
    turns = [t for t in referents(history, tools) if t]
    if not turns:
        return Resolved(text)
    synonyms = synonyms or {}
    read_as: list[tuple[str, str]] = []
    question = ""

    def ask(said: str, candidates: list[Referent]) -> str:
        listed = ", ".join(r.described() for r in candidates[:6])
        more = " …" if len(candidates) > 6 else ""
        return f"Which one do you mean by “{said}”: {listed}{more}? Say it with its id and I will go on. I called nothing."

    def put(match, referent: Referent, possessive: bool = False) -> str:
        read_as.append((match.group(0), referent.described()))
        return referent.phrase() + ("'s" if possessive else "")

    latest = turns[-1]

    def by_ordinal(match):
        nonlocal question
        wanted = _ORDINALS[match.group(1).lower()]
        listed = next((t for t in reversed(turns) if any(r.position for r in t)), None)
        items = [r for r in (listed or []) if r.position]
        if not items:
            question = question or f"I do not know which list “{match.group(0)}” is from: no earlier answer listed any. I called nothing."
            return match.group(0)
        if wanted > len(items):
            question = question or f"The last list had only {len(items)}; there is no “{match.group(0)}”. I called nothing."
            return match.group(0)
        return put(match, items[wanted - 1] if wanted > 0 else items[-1])

    def just_made(match):
        nonlocal question
        made = next((r for t in reversed(turns) for r in t if r.created), None)
        if made is None:
            question = question or f"Nothing was created earlier in this conversation, so I do not know “{match.group(0)}”. I called nothing."
            return match.group(0)
        return put(match, made)

    def demonstrative(match):
        nonlocal question
        word = match.group(1)
        kind = synonyms.get(stem(word.lower()), stem(word.lower()))
        for turn in reversed(turns):
            same = [r for r in turn if r.entity == kind]
            if not same:
                continue
            single = [r for r in same if r.position is None]
            if len(single) == 1 or len(same) == 1:
                return put(match, (single or same)[0])
            question = question or ask(match.group(0), single or same)
            return match.group(0)
        return match.group(0)  # "this script" with no script before: the request's own words

    text = _JUST_MADE.sub(just_made, text)
    text = _ONE_BY_ORDINAL.sub(by_ordinal, text)
    text = _DEMONSTRATIVE.sub(demonstrative, text)

    answered = [r for r in latest if r.answered and r.position is None]
    listed = [r for r in latest if r.position]
    given = [r for r in latest if not r.answered]
    # One thing: what the last turn made or read; else the one it was asked about (after
    # "the actions of character 7", "she" is character 7); else the one thing it listed.
    one = answered or given or listed

    named_kinds = {r.entity for t in turns for r in t if r.name}

    def personal():
        """"she", "him": things with names (people are named; an action or an order is
        not), the newest turn that has any; an id a call was given counts when its kind
        has names elsewhere in the conversation."""
        for turn in reversed(turns):
            for group in ([r for r in turn if r.answered and r.position is None and r.name],
                          [r for r in turn if r.position and r.name],
                          [r for r in turn if not r.answered and r.entity in named_kinds]):
                if group:
                    return group
        return one

    def pronoun(match):
        nonlocal question
        word = match.group(1).lower()
        candidates = personal() if word in _PERSONAL else one
        if word == "it" and _DUMMY_IT.search(text[max(0, match.start() - 8): match.end() + 14]):
            return match.group(0)
        if _named_before(text[:match.start()]):
            return match.group(0)  # "create a script and add a scene to it": the planner's own reference
        if word in _PLURAL and listed and not answered:
            question = question or ask(match.group(0), listed)
            return match.group(0)
        if len(candidates) != 1:
            question = question or ask(match.group(0), candidates)
            return match.group(0)
        return put(match, candidates[0], possessive=word in _POSSESSIVE)

    text = _PRONOUN.sub(pronoun, text)
    return Resolved(text, question, tuple(read_as))
