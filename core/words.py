"""How the service reads words: one tokenizer and one stemmer for what is indexed (the
operations index) and for what is read (requests, specs), and the generic English the
assistant needs whatever the API: spelled-out numbers and ordinals. Nothing here knows
any service's resources."""

import re

WORD = re.compile(r"[A-Za-z]+|\d+")
# Words that say nothing about which operation is meant.
STOPWORDS = frozenset(
    "a an the of to for in on at by with and or is are be me my i you it this that please what which who get show list give"
    .split()
)


def stem(word: str) -> str:
    """A light plural stem: "entries" -> "entry", "tracks" -> "track" ("address" stays)."""
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def split_identifier(text: str) -> list[str]:
    """The words of an identifier or a sentence, lower-case: camelCase, snake_case and
    kebab-case split ("getUserPlaylists" -> get, user, playlists)."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text or "")
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)  # "HTTPServer" -> HTTP Server
    return [w.lower() for w in WORD.findall(spaced)]


def split_words(text: str) -> list[str]:
    """Every word of `text`, split as identifiers are and stemmed, in order."""
    return [stem(w) for w in split_identifier(text)]


def index_words(text: str) -> set[str]:
    """The words a text is found by (the operations index, and a search of it)."""
    return {w for w in split_words(text) if w not in STOPWORDS and len(w) > 1}


# --- numbers written as words -----------------------------------------------------------------

_UNITS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_ORDINAL_WORDS = {w: i for i, w in enumerate(
    "zeroth first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split())}
_ORDINAL_WORDS.pop("zeroth")
_NUMBER_WORD = re.compile(r"\b(?:" + "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))
                          + r")(?:[\s-]+(?:and[\s-]+)?(?:" + "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))
                          + r"))*\b", re.I)


def number_from_words(text: str) -> int | None:
    """The number that words spell: "forty-two" -> 42, "three hundred and ten" -> 310,
    "two thousand and five" -> 2005; None when they spell none."""
    total, current, seen = 0, 0, False
    for word in re.split(r"[\s-]+", text.lower().strip()):
        if word == "and" and seen:
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in ("thousand", "million"):
            total += (current or 1) * _SCALES[word]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


def numbers_as_digits(text: str, after: set[str] | None = None) -> str:
    """`text` with numbers spelled out written as digits ("item forty-two" ->
    "item 42"). A lone "one" is kept unless a noun or "number"/"id" comes right before
    it: "the first one", "a new one" are not the number 1. With `after`, only numbers
    right after one of those words (stemmed) are: "record forty-two" but not "act two"
    when only "record" is a thing the reader knows."""

    def digits(match):
        spelled = match.group(0)
        if after is not None:
            before = re.findall(r"[A-Za-z#]+", text[: match.start()])[-1:]
            if not before or (stem(before[0]) not in after and before[0].lower() not in ("number", "id", "no", "#")):
                return spelled
        if spelled.lower() == "one":
            before = re.findall(r"[A-Za-z#]+", text[: match.start()])[-1:]
            if not before or before[0].lower() in _NOT_BEFORE_ONE or before[0].lower() in _ORDINAL_WORDS:
                return spelled
        value = number_from_words(spelled)
        return spelled if value is None else str(value)

    return _NUMBER_WORD.sub(digits, text)


_NOT_BEFORE_ONE = {"a", "an", "the", "this", "that", "which", "each", "every", "any", "no", "new", "other", "another",
                   "same", "only", "last", "next", "latest", "newest", "oldest", "right", "wrong", "good", "best",
                   "and", "or", "than", "at", "as", "for", "of", "to", "in", "on", "with", "from", "into", "is", "be"}


def ordinal(word: str) -> int | None:
    """The position an ordinal word names, 1 first, -1 last: "first", "third", "3rd",
    "last"; None for other words."""
    word = word.lower()
    if word in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[word]
    if word in ("last", "final"):
        return -1
    match = re.fullmatch(r"(\d+)(?:st|nd|rd|th)", word)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def base_forms(word: str) -> list[str]:
    """What an inflected word may be a form of, most likely first: "following" ->
    follow; "saved" -> save, sav; "stopped" -> stop; "tried" -> try. A reader keeps
    the candidates its vocabulary knows."""
    word = word.lower()
    found = []
    for suffix, added in (("ied", "y"), ("ies", "y"), ("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("es", ""),
                          ("er", ""), ("er", "e"), ("ion", ""), ("ion", "e"), ("ation", "e")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            base = word[: -len(suffix)] + added
            found.append(base)
            if not added and len(base) > 2 and base[-1] == base[-2]:
                found.append(base[:-1])  # "stopped", "setting"
    return list(dict.fromkeys(found))


def root(word: str) -> str:
    """A word without its inflection, for matching words of one family: "playing",
    "played", "plays" -> "play"; "following" -> "follow"; "currently" -> "current";
    "saved" -> "save". Rough, and only ever compared with other roots."""
    word = stem(word.lower())
    for suffix in ("ingly", "edly", "ing", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "ls":
                base = base[:-1]  # "stopped" -> stop (not "followed" -> follow already)
            if suffix in ("ed", "ing") and base.endswith(("av", "iv", "ov", "ak", "at", "ok", "os", "ar", "ik", "ir", "ur")):
                base += "e"  # "saved" -> save, "liked" -> like, "created" -> create
            return base
    if word.endswith("e") and len(word) > 4:
        return word
    return word
