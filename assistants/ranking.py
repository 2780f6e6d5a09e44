"""The one ranking of operations for a request: used by the offline assistant (its
candidates), the OpenAI backend (the first round's tools and its `search_operations`
tool) and MCP's `search_operations`. The lexical ranking (operations.ranking: the
Typesense index, or word overlap) picks the candidates; the request's reading
(assistants.grounding) orders them."""

from operations.ranking import rank_tools

from .grounding import mark_head, read_request, score_operation

# How much a Typesense rank adds to the in-process score: it breaks ties, it does not
# overrule the words of the request.
PRIOR_WEIGHT = 0.5
# Beyond this many operations only the ranking's best are read closely.
CANDIDATES = 60


def rank_for_request(tools: list, user_input: str) -> list[tuple[float, object]]:
    """All `tools` with a score, the ones the request most likely means first: the
    offline assistant's reading of the request over the lexical ranking's candidates,
    then the rest of that ranking (score 0: not relevant)."""
    ranked = rank_tools(tools, user_input)
    best = max((score for score, _ in ranked), default=0) or 1
    request = read_request(user_input)
    mark_head(request, [tool for _, tool in ranked[:CANDIDATES]])
    # A model fills inputs itself: missing ones weigh little here.
    scored = sorted(
        ((score_operation(tool, request, PRIOR_WEIGHT * score / best, missing_weight=0.25).score, -i, tool)
         for i, (score, tool) in enumerate(ranked[:CANDIDATES])),
        key=lambda item: (item[0], item[1]), reverse=True,
    )
    return ([(max(score, 0.0), tool) for score, _, tool in scored]
            + [(0.0, tool) for _, tool in ranked[CANDIDATES:]])
