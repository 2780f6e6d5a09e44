"""The things a request points at, read as noun phrases: "my first playlist", "the
newest album of my first followed artist", "Jane's latest report", "the one called
'Q3'". A mention has a head noun, what picks one of many (an ordinal, "newest", a name,
a count, "all"), whether it is the user's own ("my"), words that describe it ("now
playing", "saved"), and an owner ("… of X", "X's …") that is a mention itself. A plan
finds the thing a mention names by reading the operations that yield it."""

import re
from dataclasses import dataclass, field

from core.words import ordinal, split_identifier, stem

from .words import COMMAND_VERBS

# Words that end a noun phrase on its left or right.
_BOUNDARY = {"to", "into", "in", "on", "onto", "from", "of", "for", "with", "by", "at", "as", "and", "or", "but",
             "then", "so", "if", "when", "than", "via", "about", "after", "before", "under", "over", "inside"}
_DETERMINERS = {"the", "a", "an", "this", "that", "these", "those", "some", "any", "its", "his", "her", "their", "our",
                "your", "my", "me", "us", "it", "them"}
_MINE = {"my", "mine", "our", "ours", "me", "i"}
_NEWEST = {"newest", "latest", "recent", "last", "current", "newer", "youngest"}
_OLDEST = {"oldest", "earliest", "eldest"}
_EVERY = {"all", "every", "each", "everything"}
_QUANTITY = re.compile(r"^\d+$")
# Capitalised words joined by these small words are one name: "The Dark Side of the Moon".
_NAME_GLUE = {"of", "the", "and", "&", "de", "del", "la", "le", "van", "von", "da", "di", "du", "for", "in", "on", "a"}


@dataclass
class Mention:
    text: str
    start: int  # where it starts in the clause (characters)
    end: int
    head: str | None = None  # the noun, stemmed ("playlist"); None for a bare name
    words: list[str] = field(default_factory=list)  # its words, stemmed, modifiers included
    name: str | None = None  # "My Rock", "Taylor Swift"
    by: str | None = None  # "… by Lana Del Rey": who made it
    ordinal: int | None = None  # 1 first, -1 last
    count: int | None = None  # "three songs"
    every: bool = False
    newest: bool = False
    oldest: bool = False
    mine: bool = False
    owner: "Mention | None" = None

    def depth(self) -> int:
        return 1 + (self.owner.depth() if self.owner else 0)


@dataclass(frozen=True)
class _Token:
    text: str
    start: int
    end: int
    quoted: bool = False

    @property
    def word(self) -> str:
        return self.text.lower()


def _tokens(clause: str) -> list[_Token]:
    found = []
    for m in re.finditer(r"\"([^\"]+)\"|“([^”]+)”|(?:(?<=[\s:(])|^)'([^']+?)'(?=[\s.,;:!?)]|$)|([A-Za-z0-9][\w'’:.-]*[\w]|[A-Za-z0-9])",
                         clause):
        if m.group(4) is None:
            text = m.group(1) or m.group(2) or m.group(3)
            found.append(_Token(text, m.start(), m.end(), quoted=True))
        else:
            found.append(_Token(m.group(4), m.start(), m.end()))
    return found


# Capitalised first words that start no name.
_NOT_NAMES = {"please", "show", "get", "list", "add", "create", "make", "find", "give", "tell", "what", "who", "which",
              "where", "when", "how", "why", "is", "are", "can", "could", "would", "will", "do", "does", "did", "let",
              # a command's verb ("Save Jay Chou's album", "Follow Taylor Swift")
              "save", "play", "follow", "unfollow", "put", "append", "skip", "pause", "resume", "stop", "start", "send",
              "move", "copy", "set", "mark", "rename", "remove", "delete", "drop", "cancel", "open", "close", "book",
              } | COMMAND_VERBS


def _unpossessed(text: str) -> str:
    return re.sub(r"['’]s?$", "", text.strip("'’ "))


def _is_capitalised(token: _Token) -> bool:
    return not token.quoted and token.text[:1].isupper()


def names_in(clause: str) -> list[tuple[int, int, str]]:
    """(start, end, text) of the names a clause writes: quoted texts, and runs of
    capitalised words past the clause's first word ("Lana Del Rey", "The Dark Side of
    the Moon"), small words inside a run included."""
    tokens = _tokens(clause)
    found, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        if token.quoted:
            found.append((token.start, token.end, token.text))
            i += 1
            continue
        sentence_start = i == 0 or re.search(r"[.!?:;—–-]\s*$", clause[tokens[i - 1].end:token.start] or "") or (
            clause[: token.start].rstrip().endswith((".", "!", "?", ":", ";", "—", "–")))
        # A sentence's first word is capitalised anyway: a name there only as the first of
        # several capitalised words ("John Doe opens …", not "The character …").
        run_start = sentence_start and i + 1 < len(tokens) and _is_capitalised(tokens[i + 1]) and (
            token.word not in _DETERMINERS and token.word not in _NOT_NAMES)
        if _is_capitalised(token) and (not sentence_start or run_start) and not re.fullmatch(
                r"i(?:['’](?:d|m|ve|ll))?", token.word):
            j = i + 1
            while j < len(tokens) and not tokens[j - 1].text.endswith(("'s", "’s")):
                if _is_capitalised(tokens[j]) or tokens[j].text.split("'")[0].isdigit():
                    j += 1
                    continue
                k = j
                while k < len(tokens) and tokens[k].word in _NAME_GLUE:
                    k += 1
                if k > j and k < len(tokens) and _is_capitalised(tokens[k]):
                    j = k + 1
                    continue
                break
            run = tokens[i:j]
            if not (len(run) == 1 and run[0].word in ("my", "the", "a")):
                found.append((run[0].start, run[-1].end, _unpossessed(clause[run[0].start:run[-1].end])))
            i = j
            continue
        i += 1
    return found


def mention_at(clause: str, index: int, *, heads: set[str], stop_words: set[str] = frozenset(),
               verbs: set[str] = frozenset()) -> Mention:
    """The mention whose head (or name) is the token at character `index` of `clause`:
    its modifiers to the left up to a boundary, a name right after it, what describes it
    ("now playing", "I saved"), and its owner after "of"/"from"/"in" or before "'s".
    `heads` are the nouns the operations in scope know; a word in `stop_words` ends the
    phrase (the nouns of the operation that acts on it: "… to my queue"); `verbs` end it
    on the left (and so does the clause's first word, its verb)."""
    tokens = _tokens(clause)
    names = names_in(clause)
    position = next((i for i, t in enumerate(tokens) if t.start <= index < t.end), 0)
    return _mention(clause, tokens, names, position, heads, set(stop_words), depth=0, verbs=set(verbs))


def _name_at(names, token) -> tuple[int, int, str] | None:
    return next((n for n in names if n[0] <= token.start < n[1]), None)


def _mention(clause, tokens, names, position, heads, stop_words, depth, verbs=frozenset()) -> Mention:
    token = tokens[position]
    mention = Mention(text=token.text, start=token.start, end=token.end)
    name = _name_at(names, token)
    first = position
    if name:
        mention.name, mention.start, mention.end = name[2], name[0], name[1]
        first = next(i for i, t in enumerate(tokens) if t.start >= name[0])
        while position + 1 < len(tokens) and tokens[position + 1].start < name[1]:
            position += 1
    else:
        mention.head = stem(token.word)
    # Left: modifiers up to a boundary ("my first", "the newest", "Taylor Swift's").
    i = first - 1
    while i >= 0:
        left = tokens[i]
        word = left.word
        owned = re.fullmatch(r"(.+?)['’]s?", left.text) if not left.quoted and left.text.endswith(("'s", "’s", "s'")) else None
        if word in _BOUNDARY or left.quoted and mention.name or i == 0 and not _is_capitalised(left) and (
                not _modifier(word)) or word in verbs or i == 0 and word in verbs:
            break
        if owned or (i + 1 < len(tokens) and tokens[i + 1].start - left.end == 0 and False):
            break
        if _is_capitalised(left) and _name_at(names, left) and not mention.name:
            owner_name = _name_at(names, left)
            if clause[owner_name[1]:owner_name[1] + 2] in ("'s", "’s"):
                mention.owner = Mention(text=owner_name[2], start=owner_name[0], end=owner_name[1], name=owner_name[2])
                mention.start = owner_name[0]
                break
            if mention.head is not None and not mention.name:  # "the Beatles album": a name before its noun
                mention.name, mention.start = owner_name[2], owner_name[0]
                i = next(k for k, t in enumerate(tokens) if t.start == owner_name[0]) - 1
                continue
            break
        if word in heads and i < first - 1 and not _modifier(word):
            break  # another thing: "the artist playlist" is read from its last noun
        _modify(mention, word)
        mention.start = left.start
        i -= 1
    # A possessive right before the mention: "Taylor Swift's newest album".
    if mention.owner is None and i >= 0 and tokens[i].text.endswith(("'s", "’s")):
        possessor = _name_at(names, tokens[i])
        text = possessor[2] if possessor else tokens[i].text[:-2]
        start = possessor[0] if possessor else tokens[i].start
        mention.owner = Mention(text=text, start=start, end=tokens[i].end, name=re.sub(r"['’]s$", "", text),
                                head=None if possessor or tokens[i].text[:1].isupper() else stem(tokens[i].text[:-2]))
        if mention.owner.head in _MINE:
            mention.owner, mention.mine = None, True
        mention.start = start
    # Right: a name right after the noun ("playlist 'My Rock'", "album Mojito").
    j = position + 1
    if j < len(tokens) and mention.head is not None and not mention.name:
        name = _name_at(names, tokens[j])
        if name and (tokens[j].quoted or tokens[j].start == name[0]):
            mention.name, mention.end = name[2], name[1]
            while j < len(tokens) and tokens[j].start < name[1]:
                j += 1
        elif tokens[j].word in ("named", "called", "titled") and j + 1 < len(tokens):
            name = _name_at(names, tokens[j + 1]) or (tokens[j + 1].start, tokens[j + 1].end, tokens[j + 1].text)
            mention.name, mention.end = name[2], name[1]
            j += 2
            while j < len(tokens) and tokens[j].start < name[1]:
                j += 1
    # "by Lana Del Rey": who made it.
    if j + 1 < len(tokens) and tokens[j].word == "by" and _name_at(names, tokens[j + 1]):
        maker = _name_at(names, tokens[j + 1])
        mention.by, mention.end = maker[2], maker[1]
        while j < len(tokens) and tokens[j].start < maker[1]:
            j += 1
    # What describes it: "now playing", "currently playing", "which is playing right now",
    # "I saved", "recently played", "being played".
    while j < len(tokens):
        word = tokens[j].word
        if word in _BOUNDARY or (word in heads and not word.endswith(("ing", "ed"))) or _name_at(names, tokens[j]):
            break
        if word in _LINKING:
            j += 1
            continue
        if word in _DESCRIBING or (word.endswith(("ing", "ed")) and len(word) > 4):
            mention.words.append(stem(word))
            mention.end = tokens[j].end
            j += 1
            continue
        break
    # Its owner: "of X", "from X", "in X" (not the thing the operation puts it in).
    if depth < 3 and j + 1 < len(tokens) and tokens[j].word in ("of", "from", "in", "on", "inside", "within"):
        k = j + 1
        while k < len(tokens) and tokens[k].word in _DETERMINERS | {"the"}:
            if tokens[k].word in _MINE:
                break
            k += 1
        if k < len(tokens):
            target = _last_noun(tokens, names, k, heads)
            owner = _mention(clause, tokens, names, target, heads, stop_words, depth + 1, verbs) if target is not None else None
            if owner is not None and not (owner.head in stop_words and not owner.name):
                mention.owner, mention.end = owner, max(mention.end, owner.end)
    mention.text = clause[mention.start:mention.end]
    if mention.head and mention.head not in mention.words:
        mention.words.append(mention.head)
    mention.words.extend(stem(w) for w in split_identifier(mention.name or "") if len(w) > 2)
    if mention.name and mention.head is None and re.match(r"(?:my|our)\s", mention.name, re.I) and not _quoted(mention, tokens):
        mention.mine = True  # "My Music", unquoted, is the user's own library by its name, not a title to search
    mention.words = list(dict.fromkeys(mention.words))
    return mention


def _quoted(mention: Mention, tokens) -> bool:
    return any(t.quoted and t.text == mention.name for t in tokens)


# Words between a noun and what describes it, and the describing words themselves.
_LINKING = {"which", "that", "who", "is", "are", "was", "were", "being", "been", "have", "has", "had", "ve", "i", "we",
            "you", "they", "just", "most", "s"}
_DESCRIBING = {"now", "currently", "current", "right", "recently", "lately", "today", "yesterday", "saved", "liked",
               "followed", "following", "playing", "played", "open", "active", "pending"}


def _modifier(word: str) -> bool:
    return (word in _MINE or word in _NEWEST or word in _OLDEST or word in _EVERY or ordinal(word) is not None
            or bool(_QUANTITY.match(word)) or word in ("top", "best", "favorite", "favourite", "following", "followed",
                                                          "saved", "playing", "current", "new"))


def _modify(mention: Mention, word: str) -> None:
    if word in _MINE:
        mention.mine = True
    elif word in _EVERY:
        mention.every = True
    elif word in _NEWEST:
        mention.newest = True
        mention.words.append(stem(word))
    elif word in _OLDEST:
        mention.oldest = True
    elif ordinal(word) is not None:
        mention.ordinal = ordinal(word)
    elif _QUANTITY.match(word):
        mention.count = int(word)
    elif word not in _DETERMINERS:
        mention.words.append(stem(word))


def _last_noun(tokens, names, k, heads) -> int | None:
    """The token of the noun (or name) a phrase starting at `k` is about: a name, or the
    last word before the next boundary ("the newest album of …" -> album)."""
    name = _name_at(names, tokens[k])
    if name:
        end = next((i for i in range(k, len(tokens)) if tokens[i].end >= name[1]), k)
        if not tokens[end].text.endswith(("'s", "’s")) or end + 1 >= len(tokens):
            return k  # a name; "Taylor Swift's newest album" goes on to its noun
        k = end + 1
    last = None
    for i in range(k, len(tokens)):
        word = tokens[i].word
        if word in _BOUNDARY:
            break
        if _name_at(names, tokens[i]) and last is not None:
            break  # "album Mojito": the noun, its name follows
        if tokens[i].text.endswith(("'s", "’s")):
            continue
        last = i
        if word in heads:
            # a known noun: stop unless a name or another known noun follows directly
            nxt = tokens[i + 1].word if i + 1 < len(tokens) else ""
            if nxt not in heads:
                break
    return last
