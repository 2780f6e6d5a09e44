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


def rank_tools(tools: list[Tool], text: str) -> list[tuple[float, Tool]]:
    """Tools relevant to `text`, best first, with a score (0: not relevant). Ranked by a
    Typesense search over the operations index; in-process word overlap when the index
    is behind or Typesense does not answer."""
    found = search_operations(text)
    if found is not None:
        # Only the hits (at most 250) are sorted; the rest keep catalogue order at score 0.
        position = tools.position if isinstance(tools, ToolList) else ToolList(tools).position
        hits = sorted(((level, -position[oid], oid) for oid, level in found if oid in position), reverse=True)
        ranked = [(level, tools[-negative]) for level, negative, _ in hits]
        hit_ids = {oid for _, _, oid in hits}
        return ranked + [(0, t) for t in tools if t.object_id not in hit_ids]
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
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for i, tool in enumerate(self.tools):
            terms = dict(operation_terms(tool.operation))
            for word in words(tool.service.name):
                terms[word] = max(terms.get(word, 0.0), 1.0)
            for word, weight in terms.items():
                self.postings.setdefault(word, []).append((i, weight))
        self.vocabulary = sorted(self.postings)

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

    def scores(self, text: str) -> list[float]:
        scores = [0.0] * len(self.tools)
        total = len(self.tools) or 1
        for word in words(text):
            for term, factor in self.matches(word):
                postings = self.postings[term]
                idf = math.log(1 + (total - len(postings) + 0.5) / (len(postings) + 0.5))
                for i, weight in postings:
                    scores[i] += factor * idf * weight * (self.K1 + 1) / (weight + self.K1)
        return scores
