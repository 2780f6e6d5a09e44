"""The words an operation is found by: the same tokenizer for what is indexed (the
operations index) and for what is searched (the user's input)."""

import re

_WORD = re.compile(r"[A-Za-z]+|\d+")
STOPWORDS = set(
    "a an the of to for in on at by with and or is are be me my i you it this that please what which who get show list give".split()
)


def words(text: str) -> set[str]:
    """Lower-case word stems: camelCase split, a plural 's' dropped, stop words out."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text or "")
    result = set()
    for word in _WORD.findall(spaced):
        word = word.lower()
        if word in STOPWORDS or len(word) < 2:
            continue
        result.add(word[:-1] if word.endswith("s") and len(word) > 3 else word)
    return result
