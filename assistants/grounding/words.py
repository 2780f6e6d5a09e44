"""The generic English requests are read in: the verb table, multi-word verbs, generic
synonyms and stop words. Words of any particular service are not here: they come from
the specs and from each service's aliases (grounding.vocabulary). Tokenising and
stemming are core.words, shared with the operations index."""

import re

from core.words import WORD, split_words, stem  # noqa: F401 - the one tokenizer, re-exported for the reading

STOP = set(
    "a an the of to for in on at by with and or is are be me my i you it this that please do we us our have has "
    "there their its from as into about any some can could would will should need want like".split()
)

# Words that say which kind of operation the user means.
VERBS = {
    "get": {"show", "get", "detail", "details", "look", "open", "tell", "give", "see", "fetch", "retrieve", "display",
            "view", "read", "find", "describe", "inspect", "check", "examine", "review", "peek", "grab", "pull", "load",
            "access", "query", "compile", "assemble", "lookup"},
    "list": {"list", "all", "every", "which", "what", "exist", "available", "browse", "roster", "catalogue", "catalog",
             "inventory", "enumerate", "rundown", "overview", "search"},
    "create": {"create", "add", "new", "register", "record", "start", "begin", "log", "write", "make", "generate",
               "assign", "compose", "draft", "insert", "file", "jot", "enter", "submit", "allocate", "issue", "store",
               "capture", "reserve", "save", "append"},
    "update": {"change", "edit", "rename", "update", "set", "modify", "replace", "patch", "fix", "correct", "reorder",
               "rearrange", "move", "overwrite", "rewrite", "amend", "adjust", "revise", "tweak", "put",
               "attach", "annotate", "mark", "flag", "swap", "switch", "alter", "become", "reword", "redo", "shift",
               "relabel", "retitle", "increase", "decrease", "raise", "lower", "enable", "disable", "reduce",
               "boost"},
    "delete": {"delete", "remove", "drop", "erase", "destroy", "wipe", "cancel", "purge", "discard", "scrap", "trash",
               "ditch", "dump", "junk", "axe", "eliminate", "expunge", "retire", "kill", "nuke"},
}
# The kind an operationId's leading verb names.
OP_VERBS = {
    "get": "get", "retrieve": "get", "fetch": "get", "read": "get", "show": "get", "find": "get",
    "list": "list", "search": "list",
    "create": "create", "add": "create", "generate": "create", "new": "create", "register": "create", "post": "create",
    "update": "update", "patch": "update", "edit": "update", "set": "update", "reorder": "update", "put": "update",
    "replace": "update", "modify": "update",
    "delete": "delete", "remove": "delete",
}
# After "need a"/"can we get a", what is not made but looked at: "need a list", "get a look".
_NOT_MADE = r"(?!list|look|copy|rundown|overview|view|peek|glance)"
# Words of several that mean one, rewritten before a request is planned (its mentions read
# them too): "the song which is playing right now" is "the song that is playing now".
_SAME_MEANING = [(re.compile(rf"\b{phrase}\b", re.I), plain) for phrase, plain in (
    ("right now", "now"), ("at the moment", "now"), ("at present", "now"),
    (r"which(?=\s+(?:is|are)\s+[a-z]+ing\b)", "that"),
)]


def plainer(text: str) -> str:
    for pattern, plain in _SAME_MEANING:
        text = pattern.sub(plain, text)
    return re.sub(r"\s{2,}", " ", text)


# Verbs of more than one word, read as the one word that means the same.
PHRASES = [(re.compile(rf"\b{phrase}\b", re.I), verb) for phrase, verb in (
    ("shld|shoud|shuold|shoudl|sould|shoould", "should"), ("pls|plz|pleas", "please"),
    ("(?:written|authored|penned|composed) by", "by"), ("(?:on|in) (?:record|file)", ""), ("for the record", ""),
    ("fresh", "new"),
    # "del action 45", "rm char 9": shortened, before what they delete (not "del Toro")
    (r"(?:del|rm)(?=\s+(?:[a-z]+\s+){0,2}(?:#|no\.?\s*)?\d)", "delete"),
    # "dump the whole list", "dump all actions": output, not throw away
    (r"dump(?=\s+(?:the\s+)?(?:whole\s+|entire\s+|full\s+)?(?:list|lot)\b|\s+(?:all|every|everything)\b)", "show"),
    ("get rid of", "delete"), ("throw away", "delete"), ("throw out", "delete"), ("wipe out", "delete"),
    ("do away with", "delete"), ("take out", "delete"), ("strike out", "delete"), ("cross out", "delete"),
    # "line 38 should now read 'X'", "its context should become …", "the name -> Marisol": a change
    (r"(?:should|must|needs? to|has to|ought to)\s+(?:now\s+)?(?:read|say|be|become|carry|have|hold|contain)", "become"),
    (r"is\s+to\s+(?:read|say|become)|now\s+(?:reads|says)|(?:now\s+)?goes\s+by|is\s+now\s+called", "become"),
    (r"re-?arrange|re-?organi[sz]e|re-?seq\w*|re-?number|re-?shuffle|shuffle", "reorder"),
    ("put in", "add"),
    # "need a sequence number for action 45": something to be made (not "a look", "a list";
    # not "action 58 needs a new description", a change)
    (r"(?:need|want)\s+(?=(?:a|an)\s+" + _NOT_MADE + r"[a-z])", "make "),
    (r"make (?:it|him|her|them|that) (?:say|read)", "change"),
    # "make my first list private": a thing that exists made to be otherwise is a change
    (r"\bmake(?=\s+(?:my|our|your|the|this|that|its|it)\b[^.;,]*?\b(?:private|public|visible|invisible|hidden|"
     r"active|inactive|default|available|unavailable|read-only|collaborative|shared|empty|official)\b)", "set"),
    # "can we get a paraphrase: '…'": one made for us (not "can I get a list")
    (r"(?:can|could|may)\s+(?:we|i|you)\s+(?:get|have)\s+(?=(?:a|an)\s+" + _NOT_MADE + r"[a-z])", "make "),
    # Asking for a view, an opinion or a comparison is no operation's work.
    (r"(?:do|don'?t) you think|what do you think|(?:your|an) (?:honest |personal )?opinion|in your view", "critique"),
    (r"(?:what'?s\s+|what\s+is\s+|what\s+are\s+|tell\s+me\s+)?the\s+differences?\s+between", "explain the difference between"),
    ("write down", "record"), ("note down", "record"), ("put down", "record"), ("jot down", "record"),
    (r"(?:the\s+)?(?:details|info|information|particulars|specifics|data|profile)\s+(?:of|for|on|about)", "show"),
    ("pull up", "show"), ("look up", "show"), ("bring up", "show"), ("take a look at", "show"), ("look at", "show"),
    ("set up", "create"), ("come up with", "create"), ("put together", "create"),
    # "switch to the next song", "go back to the previous one": a skip
    (r"(?:switch|go|move|jump|change)\s+(?:back\s+)?to\s+the\s+(?=next|previous)", "skip to the "),
    # "turn down the volume", "turn the heating up": a setting changed (not "turn up in", appear)
    (r"turn\s+(?:up|down|on|off)(?=\s+(?:the|my|our|your|its|it|this|that)\b)|turn(?=\s+(?:the|my|its)\s+\w+\s+(?:up|down|on|off)\b)",
     "set"),
    ("start to finish", "full"), ("beginning to end", "full"), ("open a", "create a"), ("open an", "create an"),
)]
# "5 goes to position 1", "9 becomes sequence 3", "2 to 4", "7 → 1": an item and its new place.
MOVE = (r"#?(\d+)\s*(?:goes\s+to|go\s+to|moves\s+to|move\s+to|becomes|become|is\s+now|to|->|→)\s*"
        r"(?:position|seq\w*|place|slot|spot|number|no\.?|#)?\s*(\d+)\b")
# Moves that name the place: two of them make a reordering ("3 -> position 4, 4 -> position 3").
PLACED = re.compile(r"#?\d+\s*(?:->|→|goes\s+to|moves\s+to|to)\s*(?:position|place|slot|spot)\s*#?\d+", re.I)
# "the name -> Marisol": the arrow says what a field becomes.
ARROW = re.compile(r"\s*(?:->|→|=>)\s*")
# Verbs for things no CRUD operation does: a request led by one of them is not served
# unless an operation in scope names the same word ("translate line 22").
FOREIGN_VERBS = {
    "translate", "email", "mail", "phone", "summarize", "summarise", "explain", "analyze", "analyse", "critique",
    "rate", "grade", "publish", "tweet", "sing", "dance", "remind", "pay", "buy", "sell", "ship", "convert",
    "predict", "recommend", "suggest", "guess", "calculate", "compute", "weather", "joke", "chat", "print",
    "fax", "schedule", "book", "compare", "undo", "revert", "rollback", "merge",
    "duplicate", "clone", "lock", "unlock", "export", "notify", "alert", "subscribe",
}
# Sending something somewhere is no operation's work either: "send the story to the
# director" (not "send me the list"), "… by email".
DELIVERY_VERBS = {"send", "forward", "share", "deliver"}
DELIVERED = re.compile(r"\b(?:by|via|over|through)\s+(e-?mail|mail|post|fax|sms|text message|slack|whatsapp)\b"
                       r"|\b(?:as|to|into|in)\s+(?:a\s+|an\s+)?(pdf|docx|word document|spreadsheet|csv|chart|graph|poster)\b", re.I)
# A wish that something be otherwise ("line 38 should read …") is a change only when the
# request asks nothing else: "character 10 should say 'Run!', add the line" adds a line.
WISH = "become"
# Words that say an update changes only what is named (PATCH), or replaces the whole (PUT).
PARTIAL = {"only", "just", "single", "partially", "partial", "keep", "unchanged", "untouched", "intact"}
WHOLE = {"entirely", "completely", "overwrite", "whole", "replace", "full", "wholesale"}
# Three-letter words that are words, not shortened resource names.
NOT_SHORTENED = {"act", "art", "per", "pre", "sec", "con", "pro", "com", "for", "the", "and", "set", "can", "day"}
# A verb word after one of these is a noun: "the record", "a log".
DETERMINERS = {"the", "a", "an", "this", "that", "its", "his", "her", "their", "my", "your", "our"}
# Words that only quantify: they make a listing, they are not the request's main verb.
QUANTIFIERS = {"all", "every", "which", "what", "exist", "available"}
# Words that mean the same resource or action in requests and in specs.
SYNONYMS = {
            "note": "comment", "remark": "comment", "complete": "full", "whole": "full", "entire": "full"}
INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instruction|rule|prompt|guideline|polic|previous|prior)",
    re.I,
)
GENERIC_NOUNS = {"id", "by", "number", "all", "detail", "details", "item", "element"}


VERB_WORDS = set().union(*VERBS.values())
# Verbs that ask for an act, not only quantify ("all", "which").
COMMAND_VERBS = VERB_WORDS - QUANTIFIERS
_IRREGULAR = {"made": "make", "written": "write", "wrote": "write", "shown": "show", "seen": "see", "got": "get",
              "gotten": "get", "sold": "sell", "bought": "buy", "paid": "pay", "sent": "send", "kept": "keep",
              "told": "tell", "found": "find", "began": "begin", "begun": "begin", "redone": "redo", "given": "give",
              "gave": "give", "rewritten": "rewrite", "rewrote": "rewrite"}
# Verbs whose inflected forms are read back to them: ours, and those no operation does
# ("paying", "translated", "emailing").
_BASE_FORMS = VERB_WORDS | FOREIGN_VERBS | DELIVERY_VERBS
# -ing words that name what follows rather than an act: "a line reading: …".
_NOT_INFLECTED = {"reading", "wording"}


def verb_form(word: str) -> str:
    """The verb an inflected word is a form of, when it is one of ours: "updated",
    "registered", "scrapped", "renaming" -> "update", "register", "scrap", "rename"."""
    if word in VERB_WORDS or word in _NOT_INFLECTED:
        return word
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    for suffix, added in (("ied", "y"), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            base = word[: -len(suffix)] + added
            if base in _BASE_FORMS:
                return base
            if not added and base[-1] == base[-2] and base[:-1] in _BASE_FORMS:
                return base[:-1]  # "dropped", "setting"
    return word


def content_words(text: str, synonyms: dict | None = None) -> set[str]:
    synonyms = synonyms or SYNONYMS
    return {synonyms.get(w, w) for w in split_words(text) if w not in STOP and not w.isdigit() and len(w) > 1}


def first_group(match) -> str | None:
    if match is None:
        return None
    return next((g.strip() for g in match.groups() if g), None)
