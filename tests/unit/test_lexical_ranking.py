"""The in-process lexical ranking a plan builds on, and the words it ranks by. BM25
scores asked for the candidates only are the scores those operations have among all of
them; a ranking lists every operation once, the found ones first and the rest in
catalogue order; ids written as tokens give the request no words. Over the Rooms spec
written in test_plans_states_and_destinations, in memory."""

from assistants.grounding.reading import read_request
from operations.ranking import LexicalIndex, rank_tools
from tests.unit.test_assistant_generality import tools_of
from tests.unit.test_plans_states_and_destinations import ROOMS


def test_scores_of_candidates_are_their_scores_among_all_operations():
    tools = tools_of(ROOMS)
    index = LexicalIndex(tools)
    text = "add a member to the room's playlist"
    everyone = index.scores(text, tools)
    candidates = [tool for tool in tools if tool.operation["operation_id"] in {"addRoomMember", "createMember", "listRooms"}]
    assert index.scores(text, candidates) == {tool.name: everyone[tool.name] for tool in candidates}
    by_id = {tool.operation["operation_id"]: everyone[tool.name] for tool in tools}
    # addRoomMember has "add", "member" and "room"; createMember only "member"; searchSongs
    # only the service's name ("Rooms"), which every operation has and so counts least.
    assert by_id["addRoomMember"] > by_id["createMember"] > by_id["searchSongs"]


def test_a_ranking_lists_every_operation_once_found_first_then_in_catalogue_order():
    tools = tools_of(ROOMS)
    ranked = rank_tools(tools, "search songs by title", index=False)
    assert sorted(tool.name for _, tool in ranked) == sorted(tool.name for tool in tools)
    assert ranked[0][1].operation["operation_id"] == "searchSongs"
    unscored = [tool for score, tool in ranked if score == 0]
    assert unscored == [tool for tool in tools if tool in unscored]  # catalogue order
    assert [score for score, _ in ranked] == sorted((score for score, _ in ranked), reverse=True)


def test_ids_written_as_tokens_are_read_as_ids_and_give_the_request_no_words():
    text = "fetch the call CA5ef8732a3c49700934481addd5ce1659 of account AC3bf0fd9e1b2c4a6bb07eec8a73b5c9a1"
    request = read_request(text)
    assert request.ids == {"call": "CA5ef8732a3c49700934481addd5ce1659", "account": "AC3bf0fd9e1b2c4a6bb07eec8a73b5c9a1"}
    assert request.words == {"fetch", "call", "account"}  # not "ef", "addd", "bf" from the ids' letters
    # A URI keeps its words: it says what kind of thing it is.
    assert "track" in read_request("play track spotify:track:4aawyAB9vmqN3uQ7FjRGTy").words
