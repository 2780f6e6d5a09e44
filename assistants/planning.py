"""Plans of several calls, made from the specs' data flow.

A request may name what an operation needs only by name or description: "add it to my
first playlist" gives no playlist id, "follow the artist of the song now playing" gives
no artist id. The plan then reads first: an operation whose answer carries that kind of
id (grounding.dataflow) and whose own inputs the words can fill (a search that takes
the name, a listing of the user's own things, the thing the mention's owner points at,
looked up the same way), takes the value from its answer (the item the words pick: the
first, the newest, the one named so), and calls the operation with it. A request of
several clauses ("skip to the next one and set the volume to 60") is a plan of several
targets, each with its lookups; "it" in a later clause is what an earlier one made or
found. At most MAX_STEPS calls; every step goes through `execute`, so policies,
approvals and the log apply to each.

Nothing here knows a service: the words are the request's and the spec's."""

import itertools
import re
from dataclasses import dataclass, field

from core.words import numbers_as_digits, root, split_identifier, stem
from operations.ranking import LexicalIndex, rank_tools

from .grounding import Readers, choose
from .grounding.arguments import fill_arguments
from .grounding.dataflow import (
    LABEL_FIELDS,
    Need,
    Output,
    entity_from_name,
    identifier_word,
    needs_of,
    outputs_of,
    path_text,
    placeholder,
)
from .grounding.mentions import Mention, mention_at, names_in
from .grounding.reading import mark_head, operation_words, read_request, without_prefix, without_token_ids
from .grounding.references import resolve as resolve_references
from .grounding.vocabulary import EMPTY
from .grounding.words import FOREIGN_VERBS, VERB_WORDS, VERBS, plainer, verb_form
from .ranking import CANDIDATES, PRIOR_WEIGHT

MAX_STEPS = 6
MAX_DEPTH = 3  # lookups behind lookups: "the first song of the newest album of my first followed artist"
# Inputs a search or a filter takes free text in.
_FREE_TEXT = re.compile(r"^(?:q|query|search|term|terms|keyword|keywords|text|filter|match|name|title|find|"
                        r"search_?query|search_?term|query_?string|friendly_?name|display_?name)$", re.I)
# Words that say the user's own things: "my playlists" are read where the user's own are.
_OWN = {"me", "my", "current", "self", "own", "mine"}
_PRONOUNS = {"it", "them", "this", "that", "those", "these", "one"}


@dataclass
class Pick:
    """Which of the items an answer lists a mention means."""

    ordinal: int | None = None  # 1 first, -1 last
    name: str | None = None
    count: int | None = None
    every: bool = False
    newest: bool = False
    oldest: bool = False
    searched: bool = False  # the name was given to the service (a search): its first match is taken

    def describe(self) -> str:
        if self.every:
            return "every one"
        if self.count:
            return f"the first {self.count}"
        if self.name and not self.searched:
            return f"the one named {self.name!r}"
        if self.newest:
            return "the newest"
        if self.ordinal:
            return {1: "the first", 2: "the second", 3: "the third", -1: "the last"}.get(self.ordinal, f"number {self.ordinal}")
        return "the first"


@dataclass
class Take:
    """An input taken from an earlier step's answer."""

    step: int
    output: Output
    pick: Pick
    many: bool  # the input is a list (or a comma-separated string)
    what: str  # the words it was asked as ("my first playlist")


@dataclass
class Step:
    tool: object
    arguments: dict
    takes: dict[str, Take] = field(default_factory=dict)  # argument label -> where its value comes from
    why: str = ""  # "to find my first playlist"; empty for what the request asked
    target: bool = False
    choice: object = None  # the target's Choice (its reading of the request)


@dataclass
class Plan:
    steps: list[Step]
    message: str = ""  # when nothing will be called: why, or the question to ask
    unserved: list[str] = field(default_factory=list)  # clauses no operation serves
    read_as: tuple = ()  # (what the request said, the earlier thing it was read as)

    @property
    def targets(self) -> list[Step]:
        return [s for s in self.steps if s.target]


# --- clauses ------------------------------------------------------------------------------------

_SPLIT = re.compile(r"\s*(?:;|,?\s+(?:and\s+)?then\s+|,\s+and\s+|\s+and\s+|,\s+)\s*", re.I)


def clauses(text: str, verbs: set[str]) -> list[str]:
    return [text[a:b].strip() for a, b in clause_spans(text, verbs)]


def clause_spans(text: str, verbs: set[str]) -> list[tuple[int, int]]:
    """The request cut where a new command starts: at "and", "then", commas and
    semicolons between two commands, each led by a verb ("skip to the next one and set
    the volume to 60"). A part that is not a command stays with the next ("for item 4,
    add a note: …", "item 33 is a duplicate, delete it"), and so does naming what is
    made ("… a new list and name it X")."""
    if not _is_command(text, verbs):
        return [(0, len(text))]
    parts, last = [], 0
    quoted = [(m.start(), m.end()) for m in re.finditer(r"\"[^\"]*\"|'[^']*'|“[^”]*”", text)]
    for match in _SPLIT.finditer(text):
        if any(a < match.start() < b for a, b in quoted) or match.start() < last:
            continue
        rest = text[match.end():]
        following = re.match(r"[A-Za-z]+", rest)
        word = following.group(0).lower() if following else ""
        if word and _is_command(rest, verbs) and not _object_of_making(text[last:match.start()], word):
            parts.append((last, match.start()))
            last = match.end()
    parts.append((last, len(text)))
    return [(a, b) for a, b in parts if text[a:b].strip(" .!?,;")]


def _is_command(text: str, verbs: set[str]) -> bool:
    """Whether a text starts with a verb that asks ("Skip to …", "please set …"), not a
    noun that names a thing ("item 33 is …", "record 4's name")."""
    words = re.findall(r"[A-Za-z]+|\d+|\S", text.lower())
    while words and words[0] in ("please", "pls", "now", "then", "also", "just", "and", "kindly"):
        words = words[1:]
    if len(words) > 1 and words[0] in ("can", "could", "would", "will") and words[1] == "you":
        words = words[2:]
    if not words or words[0] not in verbs:
        return False  # "written by …" is no command: a verb that asks is in its plain form
    return not (len(words) > 1 and (words[1].isdigit() or words[1] in ("#", "'s", "is", "was", "are", "s")))


def _object_of_making(before: str, word: str) -> bool:
    """"… a playlist and name it 'X'", "… and call it X": naming what is made is part of
    making it, not a command of its own."""
    return word in ("name", "call", "title") and bool(re.search(r"\b(?:new|create|make|add|start|open)\b", before, re.I))


# --- vocabulary of the scope ---------------------------------------------------------------------


class Scope:
    """What planning reads of the tools in scope, built once per tool list."""

    index = True  # whether the operations index may rank (not for tools made from a spec file)
    synonyms: dict = {}  # the scope's one-word aliases, for this plan (grounding.vocabulary)

    def __init__(self, tools):
        self.tools = tools
        self.reads = [t for t in tools if t.operation["method"] == "GET"]
        self.heads = set()
        self.verbs = set(VERB_WORDS) | _COMMAND_VERBS
        self.by_resource: dict[str, list] = {}  # a resource word -> the operations that name it
        self._answering: dict[tuple, list] = {}  # (need's name, field, entity) -> reads that answer it
        for tool in tools:
            info = operation_words(tool)
            self.heads |= info.resources
            for word in info.resources:
                self.by_resource.setdefault(word, []).append(tool)
            for need in needs_of(tool):
                if need.entity:
                    self.heads.add(need.entity)
            for output in outputs_of(tool):
                self.heads |= set(output.entities)
            first = split_identifier(tool.operation.get("summary", "") or tool.operation["operation_id"])[:1]
            self.verbs |= {verb_form(w) for w in first} | {verb_form(w) for w in split_identifier(tool.operation["operation_id"])[:1]}
        self.verbs -= {"the", "a", "an", "my", "all", "new"}

    def readable(self, need: Need, besides=None) -> bool:
        """Whether a read in scope (other than `besides`) answers what `need` identifies.
        Kept per kind of need: choosing asks it of every candidate's inputs, and a large
        registry has thousands of reads."""
        key = (need.name, need.field, need.entity)
        answering = self._answering.get(key)
        if answering is None:  # two are enough to know that one other than `besides` exists
            answering = self._answering[key] = [t for t in self.reads if _best_output(t, need) is not None][:2]
        return any(t is not besides for t in answering)

    @classmethod
    def of(cls, tools) -> "Scope":
        cached = getattr(tools, "_planning_scope", None)
        if cached is None:
            cached = cls(tools)
            try:
                tools._planning_scope = cached  # a ToolList keeps it with the scope
            except AttributeError:
                pass
        return cached


# English verbs that start a command, beyond the verb table's kinds.
_COMMAND_VERBS = {"turn", "increase", "decrease", "raise", "lower", "enable", "disable", "switch", "clear", "cancel",
                  "stop", "resume", "play", "pause", "skip", "open", "close", "start", "follow", "unfollow", "save",
                  "append", "rename", "mark", "send", "tell", "give", "show", "make", "put", "move", "copy", "set"}


# --- planning -------------------------------------------------------------------------------------


def make_plan(tools, text: str, *, readers=None, vocabulary=EMPTY, index: bool = True, history=()) -> Plan:
    """The calls that serve `text`, in order, or the message why none is made. Aliases
    (`vocabulary`) are read as the API's words first; `index` off ranks in-process only
    (operations.ranking.rank_tools). `history` (assistants.Turn, oldest first) is what the
    conversation said and did before: references to it ("she", "the second one") are read
    as the things they mean, or asked about when they could mean several."""
    scope = Scope.of(tools)
    scope.index = index
    scope.synonyms = vocabulary.words
    readers = readers or Readers(tools)
    text = plainer(vocabulary.rewrite(text))
    text = numbers_as_digits(text, after=scope.heads)
    read_as: tuple = ()
    if history:
        resolved = resolve_references(text, history, tools, scope.synonyms)
        if resolved.question:
            return Plan([], resolved.question)
        text, read_as = resolved.text, resolved.read_as
    planned = _plan_text(scope, text, readers)
    planned.read_as = read_as
    return planned


# "what can you do?", "help", "which services do you have?": a question about the assistant.
_ABOUT_ME = re.compile(r"^\s*(?:(?:so|ok|okay|hi|hello|hey)[,!.]?\s+)?(?:(?:what\s+(?:else\s+)?(?:can|could)\s+(?:you|i)\s+"
                       r"(?:do|ask(?:\s+you)?)|what\s+(?:are\s+)?your\s+(?:capabilities|skills)|"
                       r"what\s+do\s+you\s+(?:do|offer|know)|(?:which|what)\s+services(?:\s+(?:do\s+you\s+have|are\s+there))?|"
                       r"how\s+do\s+i\s+use\s+you)(?:\s+(?:here|for\s+me|now))?|help)\s*[?.!]*\s*$", re.I)


def capabilities(tools, *, per_service: int = 4) -> str:
    """What the services in scope offer, from their specs: each service with a few of its
    operations' summaries."""
    if not tools:
        return "No service is registered yet, so there is nothing I can call."
    by_service: dict = {}
    for tool in tools:
        by_service.setdefault(tool.service.name, []).append(tool.operation)
    parts = []
    for name, operations in by_service.items():
        shown = [(op.get("summary") or op["operation_id"]).rstrip(".") for op in operations[:per_service]]
        more = f" and {len(operations) - per_service} more" if len(operations) > per_service else ""
        parts.append(f"{name}: {'; '.join(shown)}{more}")
    return ("I can call the operations of the registered services. " + ". ".join(parts)
            + ". Ask for one in your own words (for example with an id or a name); I called nothing.")


def _plan_text(scope: Scope, text: str, readers) -> Plan:
    if _ABOUT_ME.match(text):
        return Plan([], capabilities(scope.tools))
    told = _statement(scope, text)
    if told is not None:
        return told
    steps: list[Step] = []
    unserved = []
    for clause in _commands(scope, text, readers):
        choice, message = _choose_target(scope, clause, readers, steps)
        if choice is None:
            if not steps:
                return Plan([], message)
            unserved.append(clause)
            continue
        planned = _plan_target(scope, choice, clause, steps)
        if isinstance(planned, str):
            return Plan([], planned)
        if len(steps) + len(planned) > MAX_STEPS:
            unserved.append(clause)
            break
        steps.extend(planned)
    if not steps:
        return Plan([], "I found no service operation that matches your request, so I called nothing.")
    return Plan(steps, unserved=unserved)


# What a narrated event may go in: a required free-text field of the body.
_TEXT_FIELDS = re.compile(r"^(?:description|text|content|details|note|notes|summary|body|message|event|what)$", re.I)
_QUESTION_START = re.compile(r"^\s*(?:who|what|which|when|where|why|how|is|are|was|were|do|does|did|has|have|can|could|"
                             r"would|will|should|shall|may)\b", re.I)


def _statement(scope: Scope, text: str) -> Plan | None:
    """A statement of what a named thing does ("The guide Ana Ruiz opens the gate."): it
    asks nothing in so many words, and it is recorded when exactly one operation in scope
    records such statements: a create whose body takes the thing's id and the event's
    text. The thing is looked up by its name first. Anything else is not a statement."""
    stripped = text.strip()
    reported = _REPORTED.match(stripped)  # "record that character 5 drops the lantern": the statement is what follows
    if reported:
        stripped = reported.group(1)
    if "?" in stripped or _QUESTION_START.match(stripped) or _is_command(stripped, scope.verbs):
        return None
    by_id = _SUBJECT_BY_ID.match(stripped)  # "character 7 opens the window" (an id, not a name)
    if by_id and stem(by_id.group(1).lower()) in scope.heads:
        return _statement_by_id(scope, stem(by_id.group(1).lower()), by_id.group(2), by_id.group(3))
    names = names_in(stripped)
    first = re.match(r"\s*(?:the|a|an)?\s*([A-Za-z]+)?\s*", stripped)
    if not names and not first:
        return None
    subject_at = names[0][0] if names else first.start(1)
    subject = _mention(scope, stripped, subject_at)
    if not subject.name or re.search(r"\d", subject.name) or subject.start > len(first.group(0)) + (len(subject.head or "") + 1):
        return None  # the sentence does not start with a named thing
    name_end = next((end for start, end, _ in names if start == subject_at or start >= subject.start), subject.end)
    rest = stripped[max(name_end, subject.start):].strip(" ,")  # after the name: "phoned …", not what describes it
    if not _narrates(rest):
        return None  # "X is a …" describes; "X, please …" asks
    fits = _statement_operations(scope, subject.head)
    if len(fits) != 1:
        return None
    tool, text_field, need = fits[0]
    found = _resolve(scope, need, subject, tool, [], depth=0)
    if isinstance(found, str):
        return Plan([], found)
    steps, take = found
    event = rest.rstrip(" .!")
    target = Step(tool, {"body": {text_field: event}}, {need.label: take}, target=True)
    return Plan(steps + [target])


# A statement asked to be kept, in plain English: "record that …", "please note that …", "log that …".
_REPORTED = re.compile(r"^(?:please\s+)?(?:(?:can|could|would)\s+you\s+)?(?:record|note|log|write\s+down|jot\s+down|remember|"
                       r"keep\s+(?:a\s+)?(?:note|record)\s+of)\s+(?:that|how)\s+(.+)$", re.I)
_SUBJECT_BY_ID = re.compile(r"\s*(?:the\s+)?([A-Za-z][A-Za-z-]*)\s+(?:#|no\.\s*|number\s+|id\s+)?(\d+)\s*,?\s+([a-z].*)$")


def _statement_operations(scope: Scope, head: str | None) -> list:
    """The operations that record a statement about a thing of kind `head` (any kind when
    None): a create whose body takes exactly the thing's id and one text field."""
    fits = []
    for tool in scope.tools:
        op = tool.operation
        body = (tool.parameters.get("properties") or {}).get("body") or {}
        required = set(body.get("required") or [])
        if op["method"] != "POST" or not required:
            continue
        texts = [f for f in required if _TEXT_FIELDS.match(f) and ((body.get("properties") or {}).get(f) or {}).get("type") in (None, "string")]
        ids = [n for n in needs_of(tool) if n.label.startswith("body.") and n.name in required
               and (head is None or n.entity == head)]
        if len(texts) == 1 and len(ids) == 1 and required <= {texts[0], ids[0].name}:
            fits.append((tool, texts[0], ids[0]))
    return fits


def _statement_by_id(scope: Scope, head: str, value: str, rest: str) -> Plan | None:
    """"character 7 opens the window": the statement's thing is given by its id (as a
    conversation's "she" is read), so it is recorded without a lookup."""
    if not _narrates(rest) or re.match(r"(?:needs|wants|gets|requires|should|must|deserves)\b", rest):
        return None  # "character 9 needs a new line …" asks for something
    after_verb = " ".join(rest.split()[1:])  # "drops the lantern": the narrated verb is no request
    said = read_request(after_verb, scope.synonyms)
    if said.kinds & {"create", "update", "delete"} or {stem(w) for w in re.findall(r"[a-z]+", rest)} & scope.heads:
        return None  # it names a change or another thing of the API: a request, read as one
    fits = _statement_operations(scope, head)
    if len(fits) != 1:
        return None
    tool, text_field, need = fits[0]
    kind = (need.schema or {}).get("type")
    identifier = int(value) if kind in ("integer", "number") else value
    return Plan([Step(tool, {"body": {need.name: identifier, text_field: rest.rstrip(" .!")}}, target=True)])


def _narrates(rest: str) -> bool:
    """Whether what follows a statement's subject starts with a verb that narrates
    ("opens", "moved", "ran"), not one that describes ("is") or a request ("please")."""
    verb = re.match(r"([a-z]+)\b", rest)
    return bool(verb) and verb.group(1) not in ("is", "was", "are", "were", "has", "had", "have", "be", "been") and (
        verb.group(1).endswith(("s", "ed")) or verb.group(1) in _IRREGULAR_PAST)


_IRREGULAR_PAST = {"ran", "went", "came", "took", "gave", "fell", "sat", "stood", "left", "told", "saw", "found", "said"}


def _commands(scope: Scope, text: str, readers) -> list[str]:
    """The request's commands. A part after the first
    that names none of its operation's things and not its verb ("… and record as comment
    that …") belongs to the part before it, which is then read with it."""
    spans = clause_spans(text, scope.verbs)
    merged = [list(spans[0])]
    for start, end in spans[1:]:
        part = text[start:end].strip()
        choice, _ = _choose_target(scope, part, readers)
        if choice is None or not _convincing(choice.tool, part):
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return [text[start:end].strip() for start, end in merged]


def _convincing(tool, clause: str) -> bool:
    """Whether a clause names the operation's things or says its own verb."""
    request = read_request(clause)
    words = set(request.words) | {verb_form(w) for w in request.tokens}
    return bool(operation_words(tool).resources & request.words) or bool(_own_verbs(tool) & words)


def _choose_target(scope: Scope, clause: str, readers, earlier: list[Step] = ()):
    """The operation a clause asks for: the lexical ranking (the Typesense index, or
    in-process) picks the candidates of a large registry and adds a little; each
    candidate's BM25 score lets an operation be chosen by its spec's words when the
    request names none of its nouns; the request's reading decides."""
    request = read_request(clause, scope.synonyms)
    worded = without_token_ids(clause, request.ids)  # ids written as tokens are no words to rank by
    ranked = rank_tools(scope.tools, worded, index=scope.index)
    scored = list(itertools.takewhile(lambda pair: pair[0] > 0, ranked))  # best first: the rest score 0
    best = (scored[0][0] if scored else 0) or 1
    candidates = scope.tools
    if len(candidates) > CANDIDATES:
        ranked_first = [tool for score, tool in ranked[:CANDIDATES] if score > 0]
        chosen = {tool.name for tool in ranked_first}
        named = [tool for tool in _naming(scope, clause) if tool.name not in chosen and not chosen.add(tool.name)]
        candidates = (ranked_first + named)[:2 * CANDIDATES] or [
            tool for _, tool in ranked[:CANDIDATES]]
    priors = {tool.name: PRIOR_WEIGHT * score / best for score, tool in scored}
    lexical = LexicalIndex.of(scope.tools).scores(worded, candidates)
    mark_head(request, candidates)
    asked = {t.name for t in candidates if _write_asked(t, request) is None}
    lookups = _lookups_for(scope, clause, earlier)
    choice, message = choose(candidates, clause, priors, readers, lexical=lexical, lookups=lookups,
                             allowed=lambda tool: tool.name in asked, synonyms=scope.synonyms)
    if choice is not None or len(asked) == len(candidates):
        return choice, message
    # Nothing the request asks for: if its words point at a write it does not ask for in so
    # many words, name that write and ask rather than guess.
    doubtful, _ = choose(candidates, clause, priors, readers, lexical=lexical, lookups=lookups, synonyms=scope.synonyms)
    if doubtful is not None:
        return None, _write_asked(doubtful.tool, request) or message
    return None, message


def _naming(scope: Scope, clause: str) -> list:
    """The operations a prefixed word of the clause names ("subaccount" names the
    accounts): candidates the lexical ranking misses, since it reads words as written.
    Only those: each extra candidate is scored on every request of a large registry."""
    found = []
    for word in {stem(w) for w in re.findall(r"[a-z]+", clause.lower())} - scope.by_resource.keys():
        resource = without_prefix(word, scope.by_resource)
        found += scope.by_resource[resource] if resource else []
    return found


def _lookups_for(scope: Scope, clause: str, earlier: list[Step] = ()):
    """For choosing: the inputs of an operation a plan could find from this clause's
    words. What the operation acts on can be found when the clause says which one (a
    name, "my", "the first", "the newest", "all", "now playing"); what it sits in only
    where the clause names its kind ("my first playlist"); a thing no read yields, never."""
    says_which = bool(re.search(r"[\"“]|(?:^|\s)'|\b(?:my|our|first|second|third|last|newest|latest|oldest|"
                                r"current|currently|now|recent|recently|top)\b", clause, re.I)) or bool(
        names_in(clause))
    # "all the items" picks many: it finds what an operation takes many of, not one of them.
    says_all = bool(re.search(r"\b(?:all|every|each)\b", clause, re.I))
    said = {scope.synonyms.get(stem(w), stem(w)) for w in re.findall(r"[A-Za-z]+", clause)}
    pronoun = bool(re.search(r"\b(?:it|them)\b", clause, re.I))
    # "… add a song to it": a pronoun after "to"/"into" is where things go, not what goes there.
    destination = bool(re.search(r"\b(?:to|into|onto|in)\s+(?:it|them)\b", clause, re.I))
    owner_named = bool(re.search(r"\b(?:of|for|from|by)\s+(?:the\s+)?[A-Z\"'“]", clause))  # "… of Ada Lovelace"

    # What a looked-up input costs in choosing: a call more, so an operation that answers
    # without one is preferred unless it fits clearly worse ("who is my top artist?" is the
    # top-artists read, not an artist's top tracks after it).
    cost = 0.75

    def lookups(tool, request):
        found = {}
        for need in needs_of(tool):
            if pronoun and any(_pronoun_may_give(step.tool, need, tool, destination) for step in earlier):
                found[need.label] = -1.5  # "… to it": what an earlier command made or found
                continue
            if not scope.readable(need, besides=tool):
                continue
            if _is_container(need, tool) and _implicit_source(scope, need, tool) is not None:
                found[need.label] = cost
            elif (says_which or says_all and need.many) and (
                    need.entity in said or not _is_container(need, tool)
                    or owner_named and tool.operation["method"] == "GET"):
                found[need.label] = cost
        return found

    return lookups


WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# A question about something (not "could you …?", which asks for it).
_ASKS_ABOUT = re.compile(r"^\s*(?:what|who|which|when|where|why|how|is|are|was|were|do|does|did|has|have|had|"
                         r"would it|will it|should i|should we|if)\b", re.I)


def _own_verbs(tool) -> set[str]:
    """The verbs an operation names itself by: the first word of its operationId and of
    its summary ("follow-artists-users", "Start/Resume Playback"), and those of the
    states it sets ("close" for a state "closed")."""
    op = tool.operation
    words = split_identifier(op["operation_id"])[:1] + split_identifier((op.get("summary") or "").split(" ")[0])
    return ({verb_form(w) for w in words} - {"a", "the", "an"}) | operation_words(tool).state_verbs


def _write_asked(tool, request) -> str | None:
    """None when the request asks for this operation's kind of change (or the operation
    reads); else why it may not be called: a write happens only when the user asked for
    that change, and never the opposite one ("add" is never a DELETE)."""
    op = tool.operation
    if op["method"] not in WRITES:
        return None
    if _ASKS_ABOUT.match(request.text) and "?" in request.text:
        # "What would cancelling order 12 change?" asks about a write; it does not ask for one.
        return (f"You asked about {op['operation_id']} on {tool.service.name} ({op['method']} {op['path']}), not for "
                "it: I called nothing. Say it as a request (\"cancel …\") and I will.")
    said = set(request.tokens) | {request.synonyms.get(t, t) for t in request.tokens}
    own = _own_verbs(tool)
    own_said = bool(own & said)  # "follow …", not "my following artist"
    kinds = request.kinds
    deletes = op["method"] == "DELETE" or bool(own & VERBS["delete"])
    what = f"{op['operation_id']} on {tool.service.name} ({op['method']} {op['path']}"
    what += f": {op['summary']})" if op.get("summary") else ")"
    if deletes and not own_said and ("delete" not in kinds or kinds & {"create", "update"} and request.main_kind != "delete"):
        return f"The closest operation is {what}, which removes things; you did not ask to remove anything, so I called nothing."
    if not deletes and request.main_kind == "delete" and not own_said:
        return f"You asked to remove something; the closest operation is {what}, which does not remove, so I called nothing."
    names_its_things = bool(operation_words(tool).resources & request.words)
    led_by_other_verb = bool(request.tokens) and request.tokens[0] in FOREIGN_VERBS  # "Recommend …" asks no change
    if not own_said and not kinds & {"create", "update", "delete"} and (kinds or not names_its_things or led_by_other_verb):
        # Asked only to read, or nothing of what it changes is named: ask rather than write.
        return (f"Do you want me to call {what}? It changes data, and your request does not say to change anything; "
                "say so (for example with its verb) and I will. I called nothing.")
    return None


def _plan_target(scope: Scope, choice, clause: str, earlier: list[Step]) -> list[Step] | str:
    """The target's step with the lookups its inputs need, or what to ask."""
    tool = choice.tool
    arguments = _copy(choice.arguments)
    missing = set(choice.missing)
    needs = [n for n in needs_of(tool) if n.label in missing or _named_not_id(_value(arguments, n.label), n)]
    stop_words = operation_words(tool).resources
    optional = _optional_needs(scope, tool, clause, arguments, needs, stop_words)
    if isinstance(optional, str):
        return optional  # what the write acts on is not said: the question instead
    needs += optional
    if not needs:
        if choice.missing:
            return _ask(tool, None, choice.missing)
        return [Step(tool, arguments, target=True, choice=choice)]
    steps: list[Step] = []
    takes: dict[str, Take] = {}
    given = read_request(clause).ids  # ids the clause writes out: used as they are, never looked up
    for need in _in_mention_order(needs, clause, scope, tool):
        if need in optional:  # what the write acts on, named but optional: looked up when it can be
            mention = _mention_for(need, clause, scope, tool, stop_words, taken={t.what for t in takes.values()},
                                   choice_arguments=arguments)
            found = _resolve(scope, need, mention, tool, earlier + steps, depth=0, given_ids=given) if mention else None
            if found is None:
                continue
            if isinstance(found, str):
                return found  # what it acts on was named and cannot be found: no write of nothing
            new_steps, take = found
            offset = len(earlier) + len(steps)
            for step in new_steps:
                step.takes = {label: _shifted(t, offset) for label, t in step.takes.items()}
            steps.extend(new_steps)
            takes[need.label] = _shifted(take, offset) if take.step >= 0 else take
            continue
        _drop(arguments, need.label)
        mention = _mention_for(need, clause, scope, tool, stop_words, taken={t.what for t in takes.values()},
                               choice_arguments=arguments)
        if mention is None:
            reference = _earlier_reference(need, clause, earlier + steps)
            if reference is not None:
                takes[need.label] = reference
                continue
            implicit = _implicit_source(scope, need, tool)
            if implicit is not None:
                steps.append(Step(implicit[0], {}, why=f"to find the {need.entity or need.name}"))
                takes[need.label] = Take(len(earlier) + len(steps) - 1, implicit[1], Pick(), need.many,
                                         f"the {need.entity or need.name}")
                continue
            return _ask(tool, need)
        if "new" in mention.words:  # "… to a new playlist called 'My Top'": made first, if the API makes one
            found = _create_for(scope, need, mention, tool)
            if found is None:
                return _ask(tool, need)
        elif not _findable(mention):
            return _ask(tool, need)
        else:
            found = _resolve(scope, need, mention, tool, earlier + steps, depth=0, given_ids=given)
        if isinstance(found, str):
            return found
        new_steps, take = found
        offset = len(earlier) + len(steps)
        for step in new_steps:  # indexes inside the lookup are relative to it
            step.takes = {label: _shifted(t, offset) for label, t in step.takes.items()}
        steps.extend(new_steps)
        takes[need.label] = _shifted(take, offset) if take.step >= 0 else take
    for need in needs:  # the same ids asked twice (query and body): the one found fills both
        if need.label not in takes:
            twin = next((takes[n.label] for n in needs if n.label in takes and (n.entity, n.field) == (need.entity, need.field)), None)
            if twin is not None:
                takes[need.label] = twin
                _drop(arguments, need.label)
    missing_left = [m for m in choice.missing if m not in takes and not _kind_of_found(tool, m, takes, arguments)]
    if missing_left:
        return _ask(tool, None, missing_left)
    if _answered_by_lookup(tool, arguments, takes, steps, earlier):
        steps[-1].target, steps[-1].why = True, ""
        return steps
    return steps + [Step(tool, arguments, takes, target=True, choice=choice)]


def _answered_by_lookup(tool, arguments: dict, takes: dict, steps: list[Step], earlier: list[Step]) -> bool:
    """Whether the read asked for would only read again the one thing its lookup already
    answered in full ("the name of the song playing now": the playing item is the song)."""
    if tool.operation["method"] != "GET" or len(takes) != 1 or arguments or not steps:
        return False
    (take,) = takes.values()
    lookup = steps[-1]
    return (take.step == len(earlier) + len(steps) - 1 and not take.output.many and len(take.output.path) == 1
            and take.output.label is not None and lookup.tool.operation["method"] == "GET")


def _optional_needs(scope: Scope, tool, clause: str, arguments: dict, needs: list, stop_words) -> list | str:
    """Optional inputs of a write that identify what it acts on, when the clause names such
    things in words a lookup can follow ("add my top tracks to …": the tracks' uris): one
    per kind of thing (a list given in the query or the body is one input). Or the
    question to ask when the clause names them by their kind only, or not at all."""
    if tool.operation["method"] not in WRITES:
        return []
    required = set(tool.parameters.get("required") or [])
    body_required = set(((tool.parameters.get("properties") or {}).get("body") or {}).get("required") or [])
    chosen, kinds = [], {(n.entity, n.field) for n in needs}
    for need in needs_of(tool, optional=True):
        name = need.label.split(".", 1)[-1]
        if not need.entity or (need.entity, need.field) in kinds or _value(arguments, need.label) is not None \
                or need.label in required or name in body_required and need.label.startswith("body.") \
                or not scope.readable(need, besides=tool):
            continue  # given already, or nothing in scope yields such a thing
        mention = _mention_for(need, clause, scope, tool, stop_words, taken=set(), choice_arguments=arguments)
        # A bare name ("Summertime Sadness by Lana Del Rey") is of the kind the operation's
        # own words name (the tracks of /playlists/{id}/tracks), not of any optional input.
        bare_name = mention is not None and mention.head is None and mention.name and need.entity in stop_words
        if mention is not None and (mention.head == need.entity or bare_name) and "new" not in mention.words:
            if not _findable(mention):  # "add pins to …": which pins is not said
                return _ask(tool, need)
            chosen.append(need)
            kinds.add((need.entity, need.field))
    if not chosen:
        return _ask_if_acts_on_nothing(tool, arguments) or chosen
    return chosen


def _ask_if_acts_on_nothing(tool, arguments: dict) -> str | None:
    """A write named for the things it acts on ("add-tracks-to-playlist") whose inputs for
    them are optional, called with none of them and nothing else: it would change
    nothing the user meant (the request names its things in words no input takes), so
    the assistant asks which instead."""
    info = operation_words(tool)
    taken = {n.entity for n in needs_of(tool)}  # required: looked up or given
    acted = [n for n in needs_of(tool, optional=True) if n.entity in info.resources - taken
             and _value(arguments, n.label) is None]
    sent = {k: v for k, v in arguments.items() if k not in info.id_params and v not in ({}, [], None)}
    if acted and not sent and info.kind in ("create", "update"):
        return _ask(tool, acted[0])
    return None


def _kind_of_found(tool, label: str, takes: dict, arguments: dict) -> bool:
    """A required choice that says which kind of thing the ids are ("type": artist or
    user), set to the kind a lookup of this plan found: the ids came from a lookup of
    exactly that kind, so the choice is what the plan did, not a guess."""
    if label.startswith("body.") or not takes:
        return False
    schema = (tool.parameters.get("properties") or {}).get(label) or {}
    values = schema.get("enum") or []
    kinds = {entity for take in takes.values() for entity in take.output.entities}
    matching = [v for v in values if stem(str(v).lower()) in kinds]
    if len(matching) != 1:
        return False
    arguments[label] = matching[0]
    return True


def _shifted(take: Take, offset: int) -> Take:
    return Take(take.step + offset, take.output, take.pick, take.many, take.what) if take.step >= 0 else take


def _copy(arguments: dict) -> dict:
    return {k: (dict(v) if isinstance(v, dict) else v) for k, v in arguments.items()}


def _value(arguments: dict, label: str):
    if label.startswith("body."):
        return (arguments.get("body") or {}).get(label[5:])
    return arguments.get(label)


def _drop(arguments: dict, label: str) -> None:
    if label.startswith("body."):
        (arguments.get("body") or {}).pop(label[5:], None)
    else:
        arguments.pop(label, None)


def looks_like_id(value, need: Need) -> bool:
    """Whether a value the request gave can be the id itself, rather than a name for it:
    a number, a UUID, a token with digits ("4aawyAB9vmqN3uQ7FjRGTy", "CA1f…"), a URI
    ("spotify:track:…"); not words ("My Rock", "Taylor Swift")."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    if isinstance(value, list):
        return bool(value) and all(looks_like_id(v, need) for v in value)
    if not isinstance(value, str) or not value.strip() or " " in value.strip():
        return False
    value = value.strip()
    pattern = need.schema.get("pattern") if isinstance(need.schema, dict) else None
    if pattern:
        try:
            return re.fullmatch(pattern, value) is not None
        except re.error:
            pass
    return bool(re.search(r"\d", value) or ":" in value or re.fullmatch(r"[0-9a-fA-F-]{16,}", value))


def _named_not_id(value, need: Need) -> bool:
    return value is not None and value != [] and not looks_like_id(value, need)


def _mention(scope: Scope, clause: str, index: int, stop_words=frozenset()) -> Mention:
    """The mention at `index`, its words read as the API's own (one-word aliases)."""
    mention = mention_at(clause, index, heads=scope.heads | set(scope.synonyms), stop_words=set(stop_words),
                         verbs=scope.verbs)
    part = mention
    while part is not None:
        part.head = scope.synonyms.get(part.head, part.head) if part.head else part.head
        part.words = [scope.synonyms.get(w, w) for w in part.words]
        part = part.owner
    return mention


def _mention_position(need: Need, clause: str, scope: Scope, tool) -> int | None:
    """Where the clause names the thing a need identifies: its word ("playlist"), else
    None (the thing the verb acts on)."""
    if not need.entity:
        return None
    for match in re.finditer(r"[A-Za-z]+", clause):
        word = stem(match.group(0))
        if scope.synonyms.get(word, word) == need.entity or verb_form(word) == need.entity:
            return match.start()
    return None


def _in_mention_order(needs: list[Need], clause: str, scope: Scope, tool) -> list[Need]:
    """Needs in the order the clause names them (unnamed ones, the verb's object, first)."""
    # One need per thing: a spec that takes the same ids in the query and the body is filled once.
    seen, unique = set(), []
    for need in needs:
        key = (need.entity, need.field)
        if key in seen and need.label.startswith("body."):
            continue
        seen.add(key)
        unique.append(need)
    return sorted(unique, key=lambda n: (_mention_position(n, clause, scope, tool) or 0))


def _given_values(arguments) -> set[str]:
    """Every text among the arguments the target already has."""
    found, stack = set(), [arguments]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            found.add(value)
    return found


def _pronoun_may_give(earlier, need: Need, tool, destination: bool) -> bool:
    """Whether "it" in a later command may be what an earlier step made or found, as this
    need: as a destination ("add a song to it") only what the operation puts things in
    or the very thing made (not the items inside it), never what is put (a playlist
    is no queue item)."""
    output = _best_output(earlier, need)
    if output is None:
        return False
    return not destination or _is_container(need, tool) or (need.entity in output.entities and not output.path)


def _is_container(need: Need, tool) -> bool:
    """Whether a need identifies what the operation's thing sits in, not the thing it
    acts on: /owners/{ownerId}/items takes the owner; /items/{itemId}, `ids` do not."""
    if need.label.startswith("body.") or need.name not in tool.operation["path"]:
        return False
    segments = [s for s in tool.operation["path"].split("/") if s]
    index = next((i for i, s in enumerate(segments) if placeholder(s) == need.name), None)
    return index is not None and any(placeholder(s) is None for s in segments[index + 1:])


def _implicit_source(scope: Scope, need: Need, target):
    """(tool, output) of a read that takes no input and answers one thing of the need's
    kind (GET /me for the user's own id): the value a request means without saying it."""
    for tool in scope.reads:
        if tool is target or tool.parameters.get("required"):
            continue
        output = _best_output(tool, need)
        if output is not None and not output.many and _fits(output, need, tool) >= 4.0 and not output.path:
            return tool, output
    return None


def _mention_for(need: Need, clause: str, scope: Scope, tool, stop_words, taken, choice_arguments=None) -> Mention | None:
    """The mention of the thing a need identifies: where the clause names its kind, or
    else, for the thing the operation acts on, the verb's object. What the thing sits in
    is found only where the clause names it."""
    position = _mention_position(need, clause, scope, tool)
    if position is not None:
        mention = _mention(scope, clause, position, stop_words - {need.entity})
        if mention.text not in taken:
            return mention
    if _is_container(need, tool):
        if tool.operation["method"] != "GET":
            return None  # a write's container is never guessed from an owner: its kind must be named
        # What the things read sit in, named as their owner: "the open orders of Ada Lovelace".
        for match in re.finditer(r"[A-Za-z]+", clause):
            if scope.synonyms.get(stem(match.group(0)), stem(match.group(0))) in stop_words - {need.entity}:
                owner = _mention(scope, clause, match.start()).owner
                if owner is not None and owner.text not in taken:
                    return owner
        return None
    # The verb's object: the first name, or the first noun after the verb.
    first_word = re.match(r"\s*[A-Za-z]+", clause)
    start = first_word.end() if first_word else 0
    rest = clause[start:]
    if re.match(r"\s*(?:it|them|this|that|those|these)\b", rest, re.I):
        return None  # a pronoun: an earlier step's thing
    values = _given_values(choice_arguments)
    for name_start, _, name in names_in(clause):
        # A name that is what something becomes ("rename it to Bob") or a value the target
        # takes ("named 'Quiet'") names no thing to find.
        before = clause[:name_start].rstrip().lower()
        if name in values or re.search(r"\b(?:to|as|into|named|called|titled|name|say|says|read|reads)$", before):
            continue
        if name_start >= start:
            mention = _mention(scope, clause, name_start, stop_words)
            if mention.text not in taken:
                return mention
    for match in re.finditer(r"[A-Za-z]+", rest):
        word = match.group(0).lower()
        if word in ("me", "the", "a", "an", "my", "some", "all", "every", "to", "please", "up", "down", "us"):
            continue
        mention = _mention(scope, clause, start + match.start(), stop_words)
        if mention.text in taken or (mention.head in stop_words and not mention.name):
            return None
        if mention.head in _PRONOUNS:
            return None
        return _head_of_chain(mention, scope)
    return None


def _head_of_chain(mention: Mention, scope: Scope) -> Mention:
    return mention


def _findable(mention: Mention) -> bool:
    """Whether the words say which one: a name, "my", "the first", "the newest", "all",
    what describes it ("now playing"), or whose it is. "the item" alone does not, and
    "a new list" is made, not found."""
    if "new" in mention.words:
        return False
    described = [w for w in mention.words if w != mention.head]
    return bool(mention.name or mention.by or mention.ordinal or mention.newest or mention.oldest or mention.every
                or mention.count or mention.mine or mention.owner or described)


def _create_for(scope: Scope, need: Need, mention: Mention, target):
    """([steps], Take) that make the new thing a request names where the target wants its
    id ("make my top tracks a new playlist called 'My Top'"): the one create of that kind
    of thing in scope whose answer carries its id, filled from the mention's words, with
    the inputs nobody names taken from a read without inputs (the user's own id); or what
    to ask, or None when no operation makes such a thing. Indexes are relative."""
    makers = []
    for tool in scope.tools:
        if tool is target or tool.operation["method"] != "POST" or operation_words(tool).primary != need.entity:
            continue
        output = _best_output(tool, need)
        if output is not None and not output.many:
            makers.append((_fits(output, need, tool), tool, output))
    if not makers:
        return None
    makers.sort(key=lambda m: m[0], reverse=True)
    _, tool, output = makers[0]
    filled = fill_arguments(tool, mention.text)
    arguments, steps, takes = _copy(filled.arguments), [], {}
    missing = list(filled.missing)
    for inner in needs_of(tool):  # its name is no id of what it sits in ("users/{user_id}" is not 'My Top')
        value = _value(arguments, inner.label)
        if value is not None and (value == mention.name or _named_not_id(value, inner)):
            _drop(arguments, inner.label)
            missing.append(inner.label)
    for label in missing:
        inner = next((n for n in needs_of(tool) if n.label == label), None)
        implicit = _implicit_source(scope, inner, tool) if inner is not None else None
        if implicit is None:
            return _ask(tool, inner, [label])
        steps.append(Step(implicit[0], {}, why=f"to find the {inner.entity or inner.name}"))
        takes[label] = Take(len(steps) - 1, implicit[1], Pick(), inner.many, f"the {inner.entity or inner.name}")
        _drop(arguments, label)
    steps.append(Step(tool, arguments, takes, why=f"to create {mention.text}"))
    return steps, Take(len(steps) - 1, output, Pick(), need.many, mention.text)


def _earlier_reference(need: Need, clause: str, steps: list[Step]) -> Take | None:
    """"… and add a song to it": the thing an earlier step made or found."""
    if not re.search(r"\b(?:it|them|this|that|there|those|these)\b", clause, re.I):
        return None
    for index in range(len(steps) - 1, -1, -1):
        output = _best_output(steps[index].tool, need)
        if output is not None:
            return Take(index, output, Pick(), need.many, "it")
    return None


def _best_output(tool, need: Need) -> Output | None:
    scored = [(s, o) for o in outputs_of(tool) if (s := _fits(o, need, tool)) > 0]
    return max(scored, key=lambda item: (item[0], -len(item[1].path)))[1] if scored else None


def _fits(output: Output, need: Need, tool) -> float:
    """How well an output carries what a need identifies (0: not at all)."""
    word = identifier_word(output.field)
    if output.field == need.name and word and entity_from_name(need.name):
        return 5.0  # the very field: "characterId" of a listing feeds "characterId" (not any "id")
    if word != need.field and not (need.field == "id" and word == "id"):
        return 0.0
    if need.entity and need.entity in output.entities:
        return 4.0
    if need.entity is None:
        return 1.0
    return 0.0


def _resolve(scope: Scope, need: Need, mention: Mention, target, earlier: list[Step], depth: int,
             given_ids: dict | None = None):
    """([lookup steps], Take) that find the thing `mention` names for `need`, or what to
    say when none can. Step indexes in the result are relative to its first step."""
    if depth > MAX_DEPTH:
        return f"Finding {mention.text!r} would take more lookups than I make; name it more directly."
    candidates = []
    held_in = mention.owner.head if mention.owner is not None and mention.owner.name is None else None
    for tool in scope.reads:
        if tool is target:
            continue
        output = _best_output(tool, need)
        fit = _fits(output, need, tool) if output is not None else 0.0
        if output is None and held_in:
            # "the songs of the queue": items the answer lists under the thing the mention
            # says they sit in, carrying the field wanted, though the answer does not say
            # what kind they are.
            output = next((o for o in outputs_of(tool) if held_in in o.entities and o.field == need.field and o.many), None)
            fit = 3.5 + 2.5  # the place named is where they are: the owner is used (no penalty for an unused one)
        if output is None:
            continue
        score, arguments, inner = _producer_score(scope, tool, need, mention, output, depth, given_ids or {})
        if score is None:
            continue
        # The plainest answer first: "items[].track.id" before "items[].album.tracks.items[].id".
        candidates.append((fit + score - 0.25 * len(output.path), -len(inner), tool, output, arguments, inner))
    if not candidates:
        what = need.entity or need.name
        return (f"{target.operation['operation_id']} needs {need.label} (the {what}), and no operation in scope finds "
                f"a {what} from {mention.text!r}; say its id and ask again. I called nothing.")
    candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
    _, _, tool, output, arguments, inner = candidates[0]
    pick = Pick(ordinal=mention.ordinal, name=mention.name, count=mention.count, every=mention.every,
                newest=mention.newest, oldest=mention.oldest,
                searched=bool(mention.name) and any(_FREE_TEXT.match(k) for k in arguments if isinstance(k, str)))
    steps, takes = [], {}
    for label, (inner_need, inner_mention) in inner.items():
        found = _resolve(scope, inner_need, inner_mention, tool, earlier, depth + 1, given_ids)
        if isinstance(found, str):
            return found
        inner_steps, take = found
        offset = len(steps)
        for step in inner_steps:
            step.takes = {k: _shifted(t, offset) for k, t in step.takes.items()}
        steps.extend(inner_steps)
        takes[label] = _shifted(take, offset)
    steps.append(Step(tool, arguments, takes, why=f"to find {mention.text}"))
    return steps, Take(len(steps) - 1, output, pick, need.many, mention.text)


def _chain_words(mention: Mention) -> set[str]:
    words = set()
    while mention is not None:
        words |= {verb_form(w) for w in mention.words} | set(mention.words)
        mention = mention.owner
    return words


def _producer_score(scope: Scope, tool, need: Need, mention: Mention, output: Output, depth: int,
                    given_ids: dict | None = None):
    """(score, arguments, {label: (need, mention)} of lookups it needs itself) of reading
    `tool` to find what `mention` names; score None when it cannot be called from these
    words."""
    info = operation_words(tool)
    own_words = {root(w) for w in info.resources | info.other | info.described}
    words = {root(w) for w in _chain_words(mention) - {need.entity}}
    score = 1.5 * len(words & own_words)
    path_words = {s.lower() for s in tool.operation["path"].split("/") if s and not s.startswith("{")}
    own = bool(path_words & _OWN) or bool(info.resources & {"current", "my", "own"})
    name = None if mention.mine and mention.head is None else mention.name or mention.by  # "My Music": the user's own
    # "the first album from my music": the user's own things hold it, a read of them answers.
    owner_is_mine = mention.owner is not None and mention.owner.mine and mention.owner.owner is None and own
    if mention.mine and mention.owner is None or owner_is_mine:
        score += 2.5 if own else -1.0
    elif own and name:
        score -= 2.0  # a name is looked up in the catalogue, not among the user's own things
    arguments, inner = {}, {}
    properties = tool.parameters.get("properties") or {}
    required = set(tool.parameters.get("required") or [])
    took_name = False
    for param in tool.operation.get("parameters", []):
        pname = param["name"]
        if pname not in properties:
            continue
        schema = properties[pname]
        if _FREE_TEXT.match(pname) and name and schema.get("type") in (None, "string"):
            arguments[pname] = " ".join(filter(None, [mention.name, mention.by]))
            took_name = True
            continue
        if pname not in required:
            continue
        if schema.get("enum") or (schema.get("items") or {}).get("enum"):
            value = _enum_for(schema, need.entity, output)
            if value is None:
                return None, {}, {}
            arguments[pname] = value
            continue
        if _FREE_TEXT.match(pname):
            text = _mention_text(mention)
            if not text:
                return None, {}, {}
            arguments[pname] = text
            took_name = True
            continue
        inner_need = next((n for n in needs_of(tool) if n.label == pname), None)
        if inner_need is None:
            return None, {}, {}  # a required input the words cannot fill
        if inner_need.entity in given_ids:
            arguments[pname] = given_ids[inner_need.entity]  # "… on account AC12…": given, not looked up
            continue
        owner = mention.owner
        if owner is None or depth >= MAX_DEPTH:
            return None, {}, {}
        if owner.head and owner.head not in (inner_need.entity,) and owner.head in scope.heads and not owner.name:
            return None, {}, {}  # "the songs of my playlist" is not read through an album
        inner[pname] = (inner_need, owner)
        score += 2.0 if owner.head == inner_need.entity else 1.0
    if name and not took_name:
        score += 0.5 if output.label else -2.0
    if mention.owner is not None and not inner and not (mention.name and took_name) and not owner_is_mine:
        # The owner is not used: "the artist of the album X" is read through the album. A
        # thing with a name of its own is searched by it ("Jay Chou's album Mojito").
        score -= 1.0
    if took_name:
        score += 2.5 if name else 0.5  # a name is looked up by a search; describing words less surely
    if (mention.ordinal or mention.every or mention.count or mention.newest) and output.many:
        score += 0.5
    score -= 0.3 * len(tool.operation["path"].strip("/").split("/"))  # the plainer read first
    return score, arguments, inner


def _mention_text(mention: Mention) -> str:
    """The words to search with when the mention has no name: "some quiet songs" -> "quiet"."""
    words = [w for w in re.findall(r"[A-Za-z0-9']+", mention.text)
             if w.lower() not in ("the", "a", "an", "some", "my", "me", "of", "all", "any") and stem(w) != mention.head]
    return " ".join(words)


def _enum_for(schema: dict, entity: str | None, output: Output):
    """The value of a required choice that says which kind of thing is looked for
    (a search's `type`): the one that names the entity."""
    values = schema.get("enum") or (schema.get("items") or {}).get("enum") or []
    wanted = {entity} | set(output.entities) if entity else set(output.entities)
    for value in values:
        if stem(str(value).lower()) in wanted:
            return [value] if schema.get("type") == "array" else value
    return None


def _ask(tool, need: Need | None, missing: list[str] | None = None) -> str:
    op = tool.operation
    missing = [need.label] if need else list(missing or [])
    names = [f"{m.removeprefix('body.')} ({m})" if m.startswith("body.") else m for m in missing]
    what = ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]
    return (f"The best match is {op['operation_id']} on {tool.service.name}, but it needs {what}. Say them in your "
            "request (or write name=value) and ask again; I called nothing.")


# --- taking values from answers ---------------------------------------------------------------------


class LookupProblem(Exception):
    """A lookup found nothing, or several things equally well where one was meant."""


def take_value(take: Take, answer, *, target_writes: bool, made_up: bool = False):
    """The value `take` picks from an earlier answer (a list for a list input). An
    answer `made_up` from the spec (a dry run, routing_eval) has no real names: a
    lookup by name takes its first item there."""
    from .grounding.dataflow import extract

    items = extract(answer, take.output)
    if not items:
        raise LookupProblem(f"found no {take.what!r}")
    pick = take.pick
    chosen = items
    if pick.name and not pick.searched and not made_up:
        named = [i for i in items if i["label"].strip().lower() == pick.name.strip().lower()]
        if not named:
            raise LookupProblem(f"found nothing named {pick.name!r} among {len(items)} result(s)")
        chosen = named
    elif pick.name and pick.searched:
        exact = [i for i in items if i["label"].strip().lower() == pick.name.strip().lower()]
        chosen = exact or items
        if target_writes and len(exact) > 1 and not made_up and not (pick.ordinal or pick.every or pick.count):
            labels = ", ".join(f"{i['label']} ({i['value']})" for i in exact[:5])
            raise LookupProblem(f"found {len(exact)} named {pick.name!r} ({labels}); say which one")
    if pick.newest or pick.oldest:
        dated = [i for i in chosen if i["date"]]
        if dated:
            chosen = sorted(dated, key=lambda i: i["date"], reverse=pick.newest)
    if pick.every:
        values = [i["value"] for i in chosen]
    elif pick.count:
        values = [i["value"] for i in chosen[: pick.count]]
    elif pick.ordinal:
        index = pick.ordinal - 1 if pick.ordinal > 0 else pick.ordinal
        if not -len(chosen) <= index < len(chosen):
            raise LookupProblem(f"found only {len(chosen)} for {take.what!r}")
        values = [chosen[index]["value"]]
    else:
        if target_writes and len(chosen) > 1 and pick.name and not pick.searched and not made_up:
            labels = ", ".join(f"{i['label']} ({i['value']})" for i in chosen[:5])
            raise LookupProblem(f"found {len(chosen)} things named {pick.name!r} ({labels}); say which one")
        values = [chosen[0]["value"]]
    return values if take.many else values[0]


def describe_take(take: Take, answer_step_op: str) -> str:
    return f"{take.pick.describe()} {path_text(take.output)} of {answer_step_op}"


LABELS = LABEL_FIELDS
