"""Operations relevant to a text, by their words: a Typesense search over the
operations index (prompts.search_index), or in-process word overlap when the index is
behind or Typesense does not answer. The lexical ground the assistants' ranking of a
request (assistants.ranking) builds on."""

import bisect
import math

from core.words import base_forms
from core.words import index_words as words
from prompts.search_index import search_operations
from prompts.vocabulary import operation_terms

from .tools import Tool, ToolList


def rank_tools(tools: list[Tool], text: str, *, index: bool = True) -> list[tuple[float, Tool]]:
    """Tools relevant to `text`, best first, with a score (0: not relevant). Ranked by a
    Typesense search over the operations index; in-process word overlap when the index
    is behind, Typesense does not answer, or `index` is off (tools made from a spec file
    that no index holds)."""
    found = search_operations(text) if index else None
    if found is not None:
        # Only the hits (at most 250) are sorted; the rest keep catalogue order at score 0.
        tools = tools if isinstance(tools, ToolList) else ToolList(tools)
        position = tools.position
        hits = sorted(((level, -position[oid]) for oid, level in found if oid in position), reverse=True)
        ranked = [(level, tools[-negative]) for level, negative in hits]
        hit_positions = {-negative for _, negative in hits}
        # The tail reuses the list's own (0, tool) pairs: at 10,000 operations, new pairs on
        # every request were 10,000 allocations and the garbage collections they set off.
        unscored = tools.unscored
        return ranked + [unscored[i] for i in range(len(unscored)) if i not in hit_positions]
    return rank_tools_locally(tools, text)


def rank_tools_locally(tools: list[Tool], text: str) -> list[tuple[float, Tool]]:
    """Tools scored by word overlap with `text` (operationId and service name count
    twice, summary and path once), best first; ties keep catalogue order. It stands in
    for the Typesense index, which searches the same fields."""
    query = words(text)
    scored = []
    for index, tool in enumerate(tools):
        op = tool.operation
        name_words = words(op["operation_id"]) | words(tool.service.name)
        other_words = words(op.get("summary", "")) | words(op["path"])
        score = 2 * len(query & name_words) + len(query & other_words)
        scored.append((score, -index, tool))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [(score, tool) for score, _, tool in scored]


class LexicalIndex:
    """An inverted index of the tools' words (BM25: rarer words count more, repeats
    less), kept with the tool list it was built from. A request word also finds the
    words it begins ("play" -> "playback", "recommend" -> "recommendations") and the
    verb it inflects ("following" -> "follow"), at a discount."""

    K1 = 1.2
    PREFIX = 0.7

    def __init__(self, tools):
        self.tools = list(tools)
        self.postings: dict[str, dict[int, float]] = {}  # word -> weight by tool position
        for i, tool in enumerate(self.tools):
            terms = dict(operation_terms(tool.operation))
            for word in words(tool.service.name):
                terms[word] = max(terms.get(word, 0.0), 1.0)
            for word, weight in terms.items():
                self.postings.setdefault(word, {})[i] = weight
        self.vocabulary = sorted(self.postings)
        self.position = {tool.name: i for i, tool in enumerate(self.tools)}

    @classmethod
    def of(cls, tools) -> "LexicalIndex":
        cached = getattr(tools, "_lexical_index", None)
        if cached is None or len(cached.tools) != len(tools):
            cached = cls(tools)
            try:
                tools._lexical_index = cached  # a ToolList keeps it while the scope lives
            except AttributeError:
                pass
        return cached

    def matches(self, word: str) -> list[tuple[str, float]]:
        """The index's words a request word finds, with how much each counts."""
        found = {word: 1.0} if word in self.postings else {}
        for base in base_forms(word):
            if base in self.postings:
                found.setdefault(base, 0.9)
        if len(word) >= 4:
            start = bisect.bisect_left(self.vocabulary, word)
            for other in self.vocabulary[start:start + 50]:
                if not other.startswith(word):
                    break
                found.setdefault(other, self.PREFIX)
        return list(found.items())

    def scores(self, text: str, tools) -> dict[str, float]:
        """The BM25 score of each of `tools` (the request's candidates, by name) for `text`.
        Only those are scored: a word found in every operation of a large registry would
        otherwise cost a pass over all of them on every request."""
        total = len(self.tools) or 1
        terms = []  # (the term's weight by tool position, the request word's factor × idf)
        for word in words(text):
            for term, factor in self.matches(word):
                postings = self.postings[term]
                idf = math.log(1 + (total - len(postings) + 0.5) / (len(postings) + 0.5))
                terms.append((postings, factor * idf))
        scores = {}
        for tool in tools:
            i = self.position.get(tool.name)
            score = 0.0
            if i is not None:
                for weights, factor in terms:
                    weight = weights.get(i)
                    if weight is not None:
                        score += factor * weight * (self.K1 + 1) / (weight + self.K1)
            scores[tool.name] = score
        return scores
