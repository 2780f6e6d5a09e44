"""The words requests and specs are read in: the verb table, multi-word verbs, synonyms,
stop words, and light stemming."""

import re

WORD = re.compile(r"[A-Za-z]+|\d+")
STOP = set(
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
OP_VERBS = {
    "get": "get", "retrieve": "get", "fetch": "get", "read": "get", "show": "get", "find": "get",
    "list": "list", "search": "list",
    "create": "create", "add": "create", "generate": "create", "new": "create", "register": "create", "post": "create",
    "update": "update", "patch": "update", "edit": "update", "set": "update", "reorder": "update", "put": "update",
    "replace": "update", "modify": "update",
    "delete": "delete", "remove": "delete",
}
# Verbs of more than one word, read as the one word that means the same.
PHRASES = [(re.compile(rf"\b{phrase}\b", re.I), verb) for phrase, verb in (
    ("get rid of", "delete"), ("throw away", "delete"), ("throw out", "delete"), ("wipe out", "delete"),
    ("pull up", "show"), ("look up", "show"), ("bring up", "show"), ("take a look at", "show"), ("look at", "show"),
    ("set up", "create"), ("come up with", "create"), ("put together", "create"),
    ("start to finish", "full"), ("beginning to end", "full"), ("open a", "create a"), ("open an", "create an"),
)]
# Words that say an update changes only what is named (PATCH), or replaces the whole (PUT).
PARTIAL = {"only", "just", "single", "partially", "partial"}
WHOLE = {"entirely", "completely", "overwrite", "whole", "replace", "full", "wholesale"}
# Three-letter words that are words, not shortened resource names.
NOT_SHORTENED = {"act", "art", "per", "pre", "sec", "con", "pro", "com", "for", "the", "and", "set", "can", "day"}
# A verb word after one of these is a noun: "the record", "a log".
DETERMINERS = {"the", "a", "an", "this", "that", "its", "his", "her", "their", "my", "your", "our"}
# Words that only quantify: they make a listing, they are not the request's main verb.
QUANTIFIERS = {"all", "every", "which", "what", "exist", "available"}
# Words that mean the same resource or action in requests and in specs.
SYNONYMS = {"order": "reorder", "reorder": "reorder", "person": "character", "role": "character", "play": "script",
             "screenplay": "script", "actor": "performer", "story": "story", "sequence": "sequence",
             "complete": "full", "whole": "full", "entire": "full"}
INJECTION = re.compile(
    r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instruction|rule|prompt|guideline|polic|previous|prior)",
    re.I,
)
GENERIC_NOUNS = {"id", "by", "number", "all", "detail", "details", "item", "element"}


def stem(word: str) -> str:
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def split_words(text: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text or "")
    return [stem(w) for w in WORD.findall(spaced)]


def content_words(text: str) -> set[str]:
    return {SYNONYMS.get(w, w) for w in split_words(text) if w not in STOP and not w.isdigit() and len(w) > 1}


def first_group(match) -> str | None:
    if match is None:
        return None
    return next((g.strip() for g in match.groups() if g), None)
