"""Reading a request and an operation: what the request asks (kinds, the main verb, ids,
ranges, quoted text, names, titles, authors) and what each operation is about (kind,
resources, id inputs), and the request read against the operations in scope."""

import difflib
import re
from dataclasses import dataclass, field

from core.words import base_forms
from prompts.vocabulary import operation_fields

from .dataflow import entity_from_name, identifier_word, needs_of
from .words import (
    ARROW,
    COMMAND_VERBS,
    DELIVERED,
    DELIVERY_VERBS,
    DETERMINERS,
    FOREIGN_VERBS,
    GENERIC_NOUNS,
    INJECTION,
    NOT_SHORTENED,
    OP_VERBS,
    PHRASES,
    PLACED,
    QUANTIFIERS,
    STOP,
    SYNONYMS,
    VERB_WORDS,
    VERBS,
    WISH,
    WORD,
    content_words,
    first_group,
    split_words,
    stem,
    verb_form,
)


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
    object_words: list[str] = field(default_factory=list)  # what the main verb acts on ("costume" in "add a new costume")
    command: str = ""  # the part that says what to do, without context and carried values
    synonyms: dict = field(default_factory=dict)  # generic synonyms and the scope's one-word aliases
    # Set by mark_head when the request asks for something no operation in scope knows:
    # its object ("costume", "props") or, with no verb of ours, its own verb ("translate").
    foreign: str | None = None


# A thing and an id that is not a number: "call CA0123…", "user jdoe-42", "track spotify:track:4aaw…".
_STRING_ID = re.compile(r"(?=\b([A-Za-z]+)\s+(?:id\s+|sid\s+|#\s*|with\s+id\s+)?([A-Za-z0-9][A-Za-z0-9:_.-]{4,}[A-Za-z0-9])\b)")


def looks_like_token_id(token: str) -> bool:
    """An id written as a token: letters and digits mixed ("CA42f9…", "4aawyAB9vmq"), a
    URI with colons ("spotify:track:…"), or a UUID; not a word, not a plain number."""
    if token.isdigit() or token.isalpha():
        return False
    return bool(re.search(r"\d", token) and re.search(r"[A-Za-z]", token)) or ":" in token

def without_token_ids(text: str, ids: dict) -> str:
    """`text` without the ids written as tokens that it names ("call CA5ef8…"): split into
    words, their letters ("ef", "addd") would read as words of the request. URIs keep
    their words ("spotify:track:…" says track)."""
    for value in ids.values():
        if isinstance(value, str) and ":" not in value:
            text = text.replace(value, " ")
    return text


# Words before a number that name no thing: "to 20", "at 80", "by 5".
_NOT_ENTITIES = {"to", "at", "by", "of", "for", "from", "in", "on", "with", "than", "about", "around", "over", "under",
                 "is", "be", "was", "and", "or", "up", "down", "top", "last", "first", "page", "limit", "until", "till"}

# "10 to 20", "from sequence 4 up to sequence 9", "between scene 3 and scene 7": a range.
_RANGE = re.compile(
    r"\b(\d+)\s*(?:to|-|–|through|until|thru)\s*(\d+)\b"
    r"|\b(?:from|between)\s+(?:[a-z]+\s+){0,2}#?(\d+)\s+(?:up\s+to|to|until|till|through|thru|and)\s+(?:[a-z]+\s+)?#?(\d+)\b",
    re.I,
)


# "the character with id 23", "a performer whose number is 4": the entity and its id.
_WITH_ID = re.compile(r"\b([A-Za-z]+)\s+(?:with|having|whose)\s+(?:the\s+|an?\s+)?(?:id|number|no\.?|#)\s*"
                      r"(?:is\s+|of\s+|=\s*|:\s*)?#?(\d+)\b", re.I)
# "actions 12 and 13", "lines 4, 7 or 9": more than one of a kind.
_LISTED = re.compile(r"\b([A-Za-z]+)\s+(#?\d+(?:\s*,\s*#?\d+)*\s*,?\s*(?:and|&|or)\s+#?\d+)\b", re.I)
# "a new line" is made; after other determiners a verb word is a noun or adjective:
# "the record", "a log", "the new act structure".
_MAKING = {"a", "an"}


# Words between a verb and what it acts on ("show me all the …", "add a new …"), and
# words that end the object ("a joke about actors": the joke is asked for, not actors).
_FILLER = STOP | DETERMINERS | QUANTIFIERS | {
    "me", "him", "them", "new", "everything", "anything", "something", "one", "ones", "stuff", "more", "most", "other",
    "another", "few", "latest", "recent", "last", "first", "current", "single", "up", "out", "down", "back", "quickly",
    "again", "also", "just", "only", "now", "right", "here", "list", "s", "d", "ll", "ve", "re", "t", "m",
    "those", "these", "it", "this", "that",
}
_OBJECT_ENDS = {"about", "of", "for", "from", "in", "on", "with", "to", "by", "into", "at", "that", "which", "where",
                "what", "how", "who", "whether",  # "show me what it says": a clause, not a thing
                "so", "because", "as", "and", "or", "but", "if", "when", "please"}


def _object_of(spoken: str, main: str | None) -> list[str]:
    """The words the main verb acts on, up to the first preposition, number or mark:
    "register a new costume: red velvet" -> ["costume"]; "list all the props" -> ["prop"]."""
    if main is None:
        return []
    marked = [w if not w[0].isalpha() else verb_form(stem(w))
              for w in re.findall(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]", re.sub(r"([a-z])([A-Z])", r"\1 \2", spoken))]
    start = next((i for i, w in enumerate(marked) if w in VERBS[main] and w not in QUANTIFIERS), None)
    if start is None:
        return []
    words = []
    for word in marked[start + 1:]:
        if not word.isalpha() or word in _OBJECT_ENDS or len(words) == 3:
            break  # "who's in our list at the moment": nothing is named before "at"
        if not words and word in _FILLER:
            continue
        words.append(word)
    return words


# Where the command ends and what it carries begins: a labelled value ("comment: new beat
# after the fight", "reason - …") or a "because" clause says why, not what to do.
_CARRIED = re.compile(r"\b(?:comment|commentary|reason|note|notes|why)\s*[:=\-–—]|\b(?:because|since|so that)\b", re.I)
# "I'm revising the middle of the play. Could you show me …": the first sentence is context.
_CONTEXT = re.compile(r"^\s*(?:i'?m|i am|we'?re|we are|i'?ve been|we'?ve been|i was|we were)\s+\w+ing\b", re.I)


# A sentence that asks ("Could you …", "Please …") is the request; sentences before it are
# context. So is a question after statements that ask nothing ("Performer 12 plays
# character 11 from next week — who is character 11 again?").
_ASKING = re.compile(r"^\s*(?:please|(?:could|can|would|will) (?:you|we)|can i|could i|may i|kindly|i'?d like you to)\b",
                     re.I)
_QUESTIONS = {"what", "who", "which", "how", "where", "when"}
_QUESTION = re.compile(rf"^\s*(?:{'|'.join(sorted(_QUESTIONS))})\b.*\?\s*$", re.I | re.S)


# A leading clause that says when or why ("Before I update the book, …") is context.
_WHEN = re.compile(r"(?:^|(?<=[.!?]\s))\s*(?:before|after|when|while|once|since|as soon as|if)\s+"
                   r"(?:i|we|you|they|he|she|the\s+\w+)\b[^,.;!?]*,\s*(?=\w)", re.I)
# "Did Miriam Okafor write anything? … see her scripts": a question about what was done,
# not a request to do it, when a later sentence asks.
_WONDERING = re.compile(r"^\s*(?:did|does|has|have)\b.*\?\s*$", re.I | re.S)


def _imperative(sentence: str) -> bool:
    words = [w for w in split_words(sentence) if w not in ("please", "now", "then", "and", "so", "just", "pls")]
    return bool(words) and (verb_form(words[0]) in COMMAND_VERBS or words[0] in FOREIGN_VERBS)


def _asks_nothing(sentence: str) -> bool:
    return not {verb_form(w) for w in split_words(sentence)} & VERB_WORDS


def _command(spoken: str) -> str:
    """The part of a request that says what to do, for reading its verbs; the whole
    request when that part has no verb of ours ("performer 14 - note: …, no other changes")
    and asks no question."""
    cut = _CARRIED.search(spoken)
    command = spoken[: cut.start()] if cut and cut.start() > 0 else spoken
    command = re.sub(r"\([^()]*\)", " ", command)  # "(she got married)": an aside
    command = _WHEN.sub("", command)  # "Before I update the book, can you pull up …"
    parts = re.split(r"((?<=[.!?])\s+|\s[—–]\s)", command.strip())
    sentences, separators = parts[0::2], [""] + parts[1::2]
    asked = next((i for i, sentence in enumerate(sentences) if _ASKING.match(sentence)), None)
    if asked is None and not _imperative(sentences[0]):
        # "That clumsy rewrite of … — paraphrase id 34 — remove it": the clause that
        # starts with a verb asks; a question after statements that ask nothing asks.
        asked = next((i for i, sentence in enumerate(sentences) if i and (
            _imperative(sentence) or (_QUESTION.match(sentence) and all(_asks_nothing(b) for b in sentences[:i])))),
                     None)
    asked = asked or 0
    kept = "".join(separators[i] * (i > asked) + sentence for i, sentence in enumerate(sentences)
                   if i >= asked and not _CONTEXT.match(sentence)
                   and not (_WONDERING.match(sentence) and not all(_asks_nothing(s) for s in sentences[i + 1:])))
    command = kept.strip() or command
    if _QUESTION.match(command) or not _asks_nothing(command):
        return command
    return spoken


# A participle after its noun or its subject describes a thing, when something else is
# asked: "every beat we've logged", "the context stored in session 3", "what is stored in …".
_SUBJECTS = {"i", "we", "you", "they", "ve", "have", "had"}
_AFTER_PARTICIPLE = {"in", "on", "at", "under", "for", "by", "from", "with", "so", "to"}
# After these a verb word of a change is a noun: "assembled in order", "up for review".
_NOUN_AFTER = {"in", "of", "for", "on", "at", "into"}


def _describes(raw: list[str], tokens: list[str], i: int, verbs: list[tuple[int, str]]) -> bool:
    auxiliary = bool(set(raw[max(0, i - 2):i]) & {"did", "does", "do"})  # "when did they change it"
    if raw[i].endswith("ing") or not i or (raw[i] == tokens[i] and not auxiliary):
        return False  # not a participle or a past tense ("update", "renaming"), or the request's first word
    before, after = raw[i - 1], raw[i + 1] if i + 1 < len(raw) else ""
    after_noun = (before.isalpha() and before not in STOP and before not in DETERMINERS
                  and before not in VERB_WORDS and after in _AFTER_PARTICIPLE)
    # "what … is stored", "who last edited line 88", "what did they change": asked about, not asked for
    if set(raw[:i]) & _QUESTIONS:
        return True
    asked_else = any(j != i and tokens[j] not in QUANTIFIERS for j, _ in verbs)
    return (before in _SUBJECTS or after_noun) and asked_else


def _ids_after_their_nouns(bare: str) -> str:
    """The request with every id written after its noun, as "character 5", and what is set
    aside left out."""
    bare = _WITH_ID.sub(r"\1 \2", bare)  # "the line with id 14"
    bare = re.sub(r"\b[Nn][°º]\s*|№\s*", "#", bare)  # "paraphrase N°31"
    bare = re.sub(r"\b(\d+)s\b", r"\1", bare)  # "performer 22s name"
    # "not performer 5, the character with id 5", "only that script, not the whole db"
    bare = re.sub(r"\bnot\s+(?:the\s+|a\s+|an\s+|that\s+)?[A-Za-z]+(?:\s+[A-Za-z]+)?(?:\s+#?\d+)?\s*(?=[,;:—–]|\s-\s|"
                  r"\s+but\b|\s+i\s+meant\b|$)", " ", bare, flags=re.I)
    # "#44 action — show it": the id before its noun (not "paraphrase #2 says …")
    return re.sub(r"(^|[^\w\s#]\s*|\b(?:the|a|an|this|that|my|our|your)\s+)#(\d+)\s+([A-Za-z]{3,})\b", r"\1\3 \2",
                  bare, flags=re.I)


def read_request(text: str, synonyms: dict | None = None) -> Request:
    """What `text` asks, read once. `synonyms` are the scope's one-word aliases (alias ->
    the API's word), read where words are compared."""
    synonyms = {**SYNONYMS, **synonyms} if synonyms else SYNONYMS
    # Quoted texts, but not the old value a correction names: "'Bartholomew' not 'Bartholemew'".
    quoted = [m.group(1) or m.group(2) for m in re.finditer(r"\"([^\"]+)\"|(?:(?<=[\s:(])|^)'(.+?)'(?=[\s.,;:!?)]|$)", text)
              if not re.search(r"\b(?:not|instead of|rather than)\s*$", text[: m.start()], re.I)]
    bare = re.sub(r"\"[^\"]*\"|(?:(?<=[\s:(])|^)'.+?'(?=[\s.,;:!?)]|$)", " ", text)
    ranges = [tuple(int(n) for n in m.groups() if n) for m in _RANGE.finditer(bare)]
    in_ranges = {n for pair in ranges for n in pair}
    bare = _ids_after_their_nouns(bare)
    ids, seen = {}, {}
    for entity, number in re.findall(r"\b([A-Za-z]+)\s+(?:number\s+|no\.?\s*|#\s*|id\s+)?#?(\d+)\b", bare, re.I):
        if int(number) in in_ranges:
            continue  # "sequences 10 to 20": a range, not sequence 10
        if entity.lower() in _NOT_ENTITIES:
            continue  # "set it to 20", "up to 5": a value, not the id of a thing
        ids.setdefault(synonyms.get(stem(entity), stem(entity)), int(number))
        seen.setdefault(synonyms.get(stem(entity), stem(entity)), set()).add(int(number))
    for match in _STRING_ID.finditer(bare):  # "call CA42f…", "track 4aawyAB9vmqN3uQ7FjRGTy"
        entity, token = match.groups()
        if entity.lower() not in _NOT_ENTITIES and stem(entity) not in ids and looks_like_token_id(token):
            ids[stem(entity)] = token
    for entity, listed in _LISTED.findall(bare):  # "actions 12 and 13": several of them
        seen.setdefault(stem(entity), set()).update(int(n) for n in re.findall(r"\d+", listed))
    numbers = [int(n) for n in re.findall(r"(?<![\w.])#?(\d+)(?![\w])", bare)]
    name_stop = r"(?=\s*(?:[,;:.!?—–]|\bby\b|\bwith\b|\bwho\b|\bfor\b|\bbecause\b|\bsince\b|\bso\b|$))"
    quoted_name = r"\s+(?:\"([^\"]+)\"|'([^']+)'|(.+?)" + name_stop + ")"
    # "named X", "name X"; not "keep the name but …", where the name is only mentioned.
    named = re.search(r"\b(?:named|called|(?<!the )(?<!its )(?<!his )(?<!her )(?<!their )name(?!\s+(?:of|for|in|on)\b))" + quoted_name, text)
    titled = re.search(r"\b(?:titled|entitled|title|called|named)" + quoted_name, text)
    renamed = re.search(r"\brename\b.*?\bto" + quoted_name, text, re.I)
    author = re.search(r"\bby\s+([A-Z][\w'-]*(?:\.?\s+[A-Z][\w'-]*)*)", bare)
    author_label = (re.search(r"\bauthor\s*[:=]?\s+([A-Z][\w'-]*(?:\.?\s+[A-Z][\w'-]*)*)", bare)  # "author J. Osei"
                    or re.search(r"\bauthor\s*(?:is\s+)?[:=]?\s*[\"']([^\"']+)[\"']", text))  # author 'Company Ensemble'
    # A name: capitalised words past the first word of a sentence ("add performer Kenji Sato").
    proper = next((m for m in re.finditer(r"(?<=[\s:(])([A-Z][a-z][\w'’-]*(?:\s+[A-Z][a-z][\w'’-]*)*)", bare.strip())
                   if not re.search(r"[.!?]\s*$", bare.strip()[: m.start()])), None)
    spoken = ARROW.sub(" change to ", bare)
    for pattern, verb in PHRASES:
        spoken = pattern.sub(verb, spoken)
    command = _command(spoken)
    raw_tokens = split_words(command)
    tokens = [verb_form(w) for w in raw_tokens]
    verbs = [(i, kind) for i, w in enumerate(tokens) for kind, words in VERBS.items()
             if w in words and not (i and tokens[i - 1] in _NOUN_AFTER and kind not in ("list", "get"))  # "in order"
             and not (kind != "list" and i and tokens[i - 1] in DETERMINERS
                                    and not (w == "new" and tokens[i - 1] in _MAKING))
             and not (w in ("which", "what") and i and tokens[i - 1] in _OBJECT_ENDS)  # "in which she …"
             and not (raw_tokens[i] != w and stem(raw_tokens[i]) in ids)]  # "recording RE12…" names a thing
    if any(kind != "update" for _, kind in verbs if kind != "list"):
        verbs = [(i, kind) for i, kind in verbs if tokens[i] != WISH]
    command_words = split_words(command)
    verbs = [(i, kind) for i, kind in verbs if not _describes(command_words, tokens, i, verbs)]
    # "the complete story for script 7 — all sections, characters …": what follows a dash
    # says what the thing holds; its "all" asks for no listing.
    before_dash = len(split_words(re.split(r"\s[-–—]\s|—", command)[0]))
    verbs = [(i, kind) for i, kind in verbs if i < before_dash or tokens[i] not in QUANTIFIERS]
    kinds = {kind for _, kind in verbs}
    if kinds == {"list"} and all(tokens[i] in ("what", "which") and tokens[i + 1: i + 2] in (["is"], ["s"], ["was"])
                                 for i, _ in verbs):
        kinds = {"get"}  # "what is my name?" asks for one thing, "what … exist?" for a listing
    if set(tokens[:before_dash]) & {"all", "every"} or (ranges and kinds <= {"get", "list"}):
        kinds.discard("get")  # "show every line", "sequences 10 to 20": a listing
        kinds.add("list")
    main = next((kind for i, kind in verbs if tokens[i] not in QUANTIFIERS and kind in kinds), None)
    if "create" in kinds and any(w == "new" and (not i or tokens[i - 1] in _MAKING) for i, w in enumerate(tokens)):
        main = "create"  # "open a new session": something new is made, whatever the verb (not "the new act")
    worded = without_token_ids(spoken, ids)
    raw = WORD.findall(re.sub(r"([a-z])([A-Z])", r"\1 \2", worded))
    return Request(
        text=text, words=content_words(worded, synonyms), kinds=kinds, ids=ids, numbers=numbers, ranges=ranges, quoted=quoted,
        named=first_group(named),
        titled=first_group(renamed or titled),
        author=(author or author_label).group(1).strip() if (author or author_label) else None,
        injection=bool(INJECTION.search(text)),
        order=[synonyms.get(w, w) for w in tokens if w not in STOP and not w.isdigit()],
        main_kind=main,
        plural={synonyms.get(stem(w), stem(w)) for w in raw if stem(w) != w.lower()},
        proper=proper.group(1) if proper else None,
        tokens=tokens,
        several={entity for entity, numbers in seen.items() if len(numbers) > 1},
        object_words=_object_of(command, main),
        command=command,
        synonyms=synonyms,
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
    described: set[str] = field(default_factory=set)  # words of its description, tags, inputs and enums
    state_verbs: frozenset = frozenset()  # "close", "suspend": verbs of the states its body can set


def lead_verb(request: Request) -> str | None:
    """The command's first word, when it is a verb in its plain form ("Follow …")."""
    words = [w for w in request.tokens if w not in ("please", "pls", "now", "then", "just", "kindly")]
    return request.synonyms.get(words[0], words[0]) if words and words[0].isalpha() else None


def state_verbs(tool) -> frozenset:
    """The verbs that ask a write for a state its body's enums name: a write that sets
    `status` to "suspended" or `state` to "closed" is asked by "suspend …", "close …"."""
    if tool.operation["method"] not in ("POST", "PUT", "PATCH"):
        return frozenset()
    body = (tool.parameters.get("properties") or {}).get("body") or {}
    verbs = set()
    for schema in (body.get("properties") or {}).values():
        for value in (schema or {}).get("enum") or ():
            verbs |= verbs_of_participle(str(value))
    return frozenset(verbs)


def verbs_of_participle(value: str) -> set[str]:
    """The plain verbs a participle may come from: "closed" -> close, "suspended" ->
    suspend, "cancelled" -> cancel, "emptied" -> empty; nothing for a word that is none."""
    word = value.lower()
    if not word.isalpha() or len(word) < 5 or not word.endswith("ed"):
        return set()
    forms = {word[:-1], word[:-2]}
    if word[-3] == word[-4]:
        forms.add(word[:-3])  # cancelled
    if word.endswith("ied"):
        forms.add(word[:-3] + "y")
    return forms


def entity_of(name: str) -> str | None:
    """The thing an input's name says it identifies: "scriptId" -> "script",
    "playlist_id" -> "playlist", "CallSid" -> "call"; None for a bare "id" or "Sid"."""
    return entity_from_name(name) if identifier_word(name) else None


def operation_words(tool) -> OperationWords:
    cached = getattr(tool, "_grounding", None)
    if cached is not None:
        return cached
    op = tool.operation
    op_words = split_words(op["operation_id"])
    kind = OP_VERBS.get(op_words[0]) if op_words else None
    has_trailing_param = op["path"].rstrip("/").endswith("}")
    if kind is None or (kind == "get" and op["method"] == "GET" and not has_trailing_param and op_words[1:2] != ["full"]):
        kind = {"GET": "get" if has_trailing_param else "list", "POST": "create", "PUT": "update", "PATCH": "update",
                "DELETE": "delete"}.get(op["method"], "get")
    static_path = " ".join(seg for seg in op["path"].split("/") if seg and not seg.startswith("{"))
    resources = content_words(" ".join(op_words[1:]) + " " + static_path) - GENERIC_NOUNS - set(OP_VERBS)
    reorders = bool(op_words) and op_words[0] == "reorder"
    if reorders:
        resources.add("reorder")
    body = (tool.parameters.get("properties") or {}).get("body") or {}
    other = content_words(op.get("summary", "") + " " + " ".join((body.get("properties") or {}).keys()))
    # The rest of what the spec says of it: what no operation in scope knows is foreign.
    fields = operation_fields(op)
    described = {w for name in ("description", "tags", "inputs", "enums", "aliases") for w in fields[name]}
    id_params = {}
    for name, schema in (tool.parameters.get("properties") or {}).items():
        entity = entity_of(name)
        if entity and schema.get("type") in ("integer", "number", "string"):
            id_params[name] = entity
    for name, schema in (body.get("properties") or {}).items():  # a body's "customerUid" names a customer too
        entity = entity_of(name)
        if entity and name not in id_params and (schema or {}).get("type") in ("integer", "number", "string"):
            id_params[name] = entity
    for need in needs_of(tool):  # "{id}" after /albums, "{Sid}" after /Calls: what the path says it is
        if need.entity and need.name not in id_params and not need.label.startswith("body."):
            id_params[need.name] = need.entity
    primary = next((SYNONYMS.get(w, w) for w in op_words[1:] if SYNONYMS.get(w, w) in resources),
                   "reorder" if reorders else None)
    result = OperationWords(kind, primary, resources, other - resources, id_params, op_words[0] if op_words else "",
                            described - resources - other, state_verbs(tool))
    object.__setattr__(tool, "_grounding", result)
    return result


def without_prefix(word: str, known) -> str | None:
    """The resource a prefixed word names: "subaccount" is an account, "co-author" an author."""
    prefixed = re.match(r"(?:sub|super|co|multi|inter|meta)-?(.{4,})$", word)
    return prefixed.group(1) if prefixed and prefixed.group(1) in known else None


def known_word(word: str, known: set[str]) -> str | None:
    """The resource word a misspelt, shortened or prefixed word stands for ("scirpt",
    "charcters", "char", "subaccount"), when exactly one fits."""
    if len(word) < 3 or not word.isalpha() or word in NOT_SHORTENED:
        return None
    unprefixed = without_prefix(word, known)
    if unprefixed:
        return unprefixed
    shortened = [k for k in known if len(k) > len(word) and k.startswith(word)]
    if len(shortened) == 1:
        return shortened[0]
    # Shortened by dropping letters, as in notes: "actn", "scrpt", "chrcter".
    dropped = [k for k in known if k[0] == word[0] and len(word) * 2 >= len(k) > len(word) and _within(word, k)]
    if len(dropped) == 1:
        return dropped[0]
    if len(word) < 4:
        return None
    # A slip of the keys, not another word: "charcters", "scirpt" are one edit away;
    # "performance" is four from "performer".
    close = [k for k in difflib.get_close_matches(word, known, n=5, cutoff=0.7)  # a quick sieve first
             if _edits(word, k) <= (1 if len(word) < 8 else 2)]
    return close[0] if len(close) == 1 else None


def _within(short: str, word: str) -> bool:
    """Whether `short` is `word` with letters left out, in order."""
    letters = iter(word)
    return all(letter in letters for letter in short)


def _edits(a: str, b: str) -> int:
    """Edits from a to b: insertions, deletions, substitutions, swaps of neighbours."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous, row = None, list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (x != y))
            if previous and i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                current[j] = min(current[j], previous[j - 2] + 1)
        previous, row = row, current
    return row[-1]


def _wanted(tokens: list[str], known: set[str], making: bool, synonyms: dict = SYNONYMS) -> str | None:
    """The resource a request wants, named after "as a" or, when it makes something, after
    "new": "character 17 gets a new line", "jot that down as an action" make a line and
    an action, not a character; "read script 37 as one whole story" reads a story."""
    for i, word in enumerate(tokens):
        if word == "as" or (making and word == "new"):
            following = tokens[i + 1: i + 4] if word == "as" and tokens[i + 1: i + 2] in (["a"], ["an"], ["one"]) else (
                tokens[i + 1: i + 3])
            wanted = next((synonyms.get(w, w) for w in following if synonyms.get(w, w) in known), None)
            if wanted:
                return wanted
    return None


_OWNERS = {"its", "their", "her", "his", "s"}  # "s": "character 5's lines"


def mark_head(request: Request, tools) -> None:
    """Read the request against the operations in scope: misspelt or shortened resource
    words are corrected, its head noun (the first word that names a resource) is marked,
    a plural head with no id asks for a listing, and an entity with its id and no verb
    ("char 15") asks to see it."""
    known = set().union(*(operation_words(t).resources for t in tools)) if tools else set()
    vocabulary = known | VERB_WORDS
    fixes = {w: fixed for w in set(request.order) | set(request.ids)
             if w not in vocabulary and w not in STOP and (fixed := known_word(w, known))}
    if fixes:
        request.words = {fixes.get(w, w) for w in request.words}
        request.order = [fixes.get(w, w) for w in request.order]
        request.ids = {fixes.get(w, w): n for w, n in request.ids.items()}
        request.plural = {fixes.get(w, w) for w in request.plural}
    request.head = next((w for w in request.order if w in known), None)
    wanted = _wanted(request.tokens, known, "create" in request.kinds, request.synonyms)
    request.head = wanted or request.head
    if "id" in request.ids and request.head and request.head not in request.ids:
        request.ids[request.head] = request.ids.pop("id")  # "the action itself: id 30"
    owned = next((w for i, w in enumerate(request.tokens[1:], 1) if request.tokens[i - 1] in _OWNERS
                  and w in known and w in request.plural), None)
    if owned and request.kinds <= {"get", "list"}:  # "script 22 … its characters", "her scripts": a listing
        request.head, request.kinds, request.main_kind = owned, {"list"}, "list"
    if "reorder" in known and len(PLACED.findall(request.text)) >= 2:
        request.head = "reorder"  # "swap actions 3 and 4: 3 -> position 4, 4 -> position 3" is about their order
    first = request.tokens[0] if request.tokens else None
    created = {operation_words(t).primary for t in tools if operation_words(t).kind == "create"}
    if (first in created and not wanted and first not in vocabulary - known and first not in request.plural
            and len(request.tokens) > 1 and not request.tokens[1].isdigit() and request.tokens[1] not in ("no", "number", "id")):
        # A resource named as the verb: "paraphrase line 17 as …" makes a paraphrase.
        request.head, request.main_kind = first, "create"
        request.kinds = request.kinds | {"create"}
    if request.head in request.plural and request.head not in request.ids and request.kinds <= {"get", "list"}:
        request.kinds = {"list"}
        request.main_kind = "list"
    scope = known | set().union(*(operation_words(t).other | operation_words(t).described for t in tools)) if tools else set()
    request.foreign = _foreign(request, scope, vocabulary)
    if not request.kinds and request.ids:
        request.kinds, request.main_kind = {"get"}, "get"


def _named_in(verb: str, scope: set[str]) -> bool:
    """Whether an operation in scope names the verb, in any form ("recommend" in
    "recommendations", "translate" in "translation")."""
    return verb in scope or any(w.startswith(verb) or w in base_forms(verb) or verb in base_forms(w) for w in scope)


def _foreign(request: Request, scope: set[str], vocabulary: set[str]) -> str | None:
    """What the request asks for that no operation in scope knows, if anything:
    - led by a verb for something no operation does ("translate line 22", "email the
      full script"), unless an operation names that word;
    - something new of a kind no operation knows ("register a new costume");
    - a listing of things no operation knows ("list all the props");
    - with no id given, a thing no operation knows ("tell me a joke about actors")."""
    def knows(word):
        word = request.synonyms.get(word, word)
        return word in scope or word in vocabulary or word in GENERIC_NOUNS or bool(known_word(word, scope))

    content = [i for i, w in enumerate(request.tokens) if w not in _FILLER and len(w) > 1]
    lead = request.tokens[content[0]] if content and not (
        content[0] and request.tokens[content[0] - 1] in DETERMINERS) else None  # "the schedule" is a noun
    # The first verb asked, ours or not ("In general, explain …"); after a determiner a
    # verb word is a noun ("the rate").
    asked = next((w for i, w in enumerate(request.tokens) if (w in FOREIGN_VERBS or w in COMMAND_VERBS)
                  and not (i and request.tokens[i - 1] in DETERMINERS)), None)
    for verb in (lead, asked):
        if verb in FOREIGN_VERBS and not _named_in(verb, scope):
            return verb
    if lead in DELIVERY_VERBS and request.tokens[request.tokens.index(lead) + 1:][:1] not in (["me"], ["us"]):
        return lead
    delivered = DELIVERED.search(request.command)  # not "comment: author sent this by email"
    medium = delivered and (delivered.group(1) or delivered.group(2)).lower()
    if medium and medium not in scope:
        return medium
    words = [w for w in request.object_words if len(w) > 2]
    if not words or any(knows(w) for w in words):
        return None
    tokens, first = request.tokens, words[0]
    made_new = any(tokens[i + 1: i + 2] == [first] for i, w in enumerate(tokens) if w == "new")
    listed = request.main_kind == "list" and words == [first] and first in request.plural
    named = (request.proper or request.named or "").lower()
    made = (request.main_kind == "create" and first not in named and not first.endswith("ing")
            and not any(first in q.lower() for q in request.quoted))
    if made_new or made or listed or (
            not request.ids and request.main_kind in ("get", "list") and first not in named):
        return " ".join(words)
    return None
