"""Operations relevant to a text, by their words: a Typesense search over the
operations index (prompts.search_index), or in-process word overlap when the index is
behind or Typesense does not answer. The lexical ground the assistants' ranking of a
request (assistants.ranking) builds on."""

from prompts.search_index import search_operations
from prompts.words import words

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
    """Tools scored by word overlap with `text`, best first (ties keep catalogue order)."""
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
