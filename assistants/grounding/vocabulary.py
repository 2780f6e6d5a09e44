"""The words users say for a service's things, as data: each service's aliases (set by an
admin, see assistants.models.ServiceVocabulary) and those its spec declares
(`x-ensemble-aliases`). A request is read after its aliases are written as the API's
own words ("the actor" -> "the performer" when a service says performer: actor), so
the rest of the reading knows only the specs' words.

An alias is not applied when it is itself a word of some operation in scope: a word an
API uses is read as that API means it."""

import re
from dataclasses import dataclass

from core.words import split_words, stem


@dataclass(frozen=True)
class Vocabulary:
    rules: tuple[tuple[re.Pattern, str], ...]  # alias pattern -> the API's word

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
    for line in (text or "").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or ":" not in line:
            continue
        word, _, others = line.partition(":")
        word = word.strip().lower()
        said = [o.strip().lower() for o in others.split(",") if o.strip()]
        if word and said:
            aliases.setdefault(word, []).extend(said)
    return aliases


def alias_problems(text: str) -> list[str]:
    """What is wrong with an admin's aliases, line by line (for the admin form)."""
    problems = []
    for number, line in enumerate((text or "").splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        word, colon, others = line.partition(":")
        if not colon or not word.strip() or not [o for o in others.split(",") if o.strip()]:
            problems.append(f"line {number}: write the API's word, a colon, then the words users say for it "
                            "(\"performer: actor, cast member\").")
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
    rules = []
    for alias, word in sorted(declared.items(), key=lambda item: -len(item[0])):
        if alias == word or (" " not in alias and stem(alias) in own_words):
            continue  # the API's own word, read as the API means it
        pattern = re.compile(r"\b" + r"[\s-]+".join(re.escape(part) for part in alias.split()) + r"(?:s|es)?\b", re.I)
        rules.append((pattern, word))
    return Vocabulary(tuple(rules))
