"""The words users say for a service's things, as data: each service's aliases (set by an
admin, see assistants.models.ServiceVocabulary) and those its spec declares
(`x-ensemble-aliases`). A request is read after its aliases are written as the API's
own words ("the actor" -> "the performer" when a service says performer: actor), so
the rest of the reading knows only the specs' words.

An alias is not applied when it is itself a word of some operation in scope: a word an
API uses is read as that API means it."""

import re
from dataclasses import dataclass, field

from core.words import split_words, stem


@dataclass(frozen=True)
class Vocabulary:
    """Aliases of several words are written as the API's word in the request's text
    ("the cast member 4" -> "the performer 4"); a one-word alias is read as the API's
    word (`words`) where the reading compares words, and the text keeps it, so the
    patterns that read values ("goes to position 2") still see what was written."""

    rules: tuple[tuple[re.Pattern, str], ...]  # alias of several words -> the API's word
    words: dict = field(default_factory=dict)  # one-word alias (stemmed) -> the API's word

    def rewrite(self, text: str) -> str:
        for pattern, word in self.rules:
            text = pattern.sub(lambda m, word=word: _inflected(word, m.group(0)), text)
        return text


EMPTY = Vocabulary(())


def _inflected(word: str, said: str) -> str:
    """The API's word in the number the alias was said in ("actors" -> "performers")."""
    plural = said.lower().endswith("s") and not word.endswith("s")
    return word + ("s" if plural else "")


def parse_aliases(text: str) -> dict[str, list[str]]:
    """An admin's aliases, one line a word: "performer: actor, cast member" (the API's
    word, a colon, the words users say for it); blank lines and # comments ignored."""
    aliases: dict[str, list[str]] = {}
    for row in (text or "").splitlines():
        row = row.split("#", 1)[0].strip()
        if not row or ":" not in row:
            continue
        word, _, others = row.partition(":")
        word = word.strip().lower()
        said = [o.strip().lower() for o in others.split(",") if o.strip()]
        if word and said:
            aliases.setdefault(word, []).extend(said)
    return aliases


def alias_problems(text: str) -> list[str]:
    """What is wrong with an admin's aliases, line by line (for the admin form)."""
    problems = []
    for number, row in enumerate((text or "").splitlines(), 1):
        row = row.split("#", 1)[0].strip()
        if not row:
            continue
        word, colon, others = row.partition(":")
        if not colon or not word.strip() or not [o for o in others.split(",") if o.strip()]:
            problems.append(f"row {number}: write the API's word, a colon, then the words users say for it "
                            "(\"customer: client, buyer\").")
    return problems


def vocabulary_for(tools, service_aliases: dict[str, dict[str, list[str]]]) -> Vocabulary:
    """The vocabulary of the tools in scope: each service's aliases (`service_aliases`,
    by service id) and each operation's spec aliases, longest alias first."""
    own_words = set()
    declared: dict[str, str] = {}
    for tool in tools:
        op = tool.operation
        own_words |= set(split_words(op["operation_id"])) | {
            stem(w) for s in op["path"].split("/") if s and not s.startswith("{") for w in split_words(s)}
        for word, said in (op.get("aliases") or {}).items():
            for alias in said:
                declared.setdefault(alias, word)
    for aliases in service_aliases.values():
        for word, said in aliases.items():
            for alias in said:
                declared.setdefault(alias, word)
    rules, words = [], {}
    for alias, word in sorted(declared.items(), key=lambda item: -len(item[0])):
        if alias == word or (" " not in alias and stem(alias) in own_words):
            continue  # the API's own word, read as the API means it
        if " " not in alias.strip():
            words[stem(alias)] = stem(word)
            continue
        pattern = re.compile(r"\b" + r"[\s-]+".join(re.escape(part) for part in alias.split()) + r"(?:s|es)?\b", re.I)
        rules.append((pattern, word))
    return Vocabulary(tuple(rules), words)
