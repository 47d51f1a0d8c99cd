"""Scripted agents with `revise=true` (the demo's): readable keys, a critic that reviews
what nobody has reviewed yet (plans first), and a planner that publishes a plan's next
version when a critic asks for one. Database-free: the model answers bundles directly."""

from typing import Any

import pytest

from blackboard.controller.llm import model_from_spec
from blackboard.controller.scripted import ScriptedChatModel

GOAL = {"title": "Explain why the sky is blue"}


def agent(capability: str) -> ScriptedChatModel:
    model = model_from_spec(f"scripted:{capability}?revise=true")
    assert isinstance(model, ScriptedChatModel)
    return model


class Board:
    """What the agents have published so far, as their bundles list it."""

    def __init__(self) -> None:
        self.artifacts: list[dict[str, Any]] = []

    def turn(self, capability: str) -> dict[str, Any]:
        """Let the agent act on everything published; publish what it answers."""
        answer = agent(capability).answer(
            {"goal": GOAL, "phase": "act", "artifacts": list(self.artifacts)}
        )
        if answer["action"] == "abstain":
            return answer
        [draft] = answer["artifacts"]
        versions = [a["version"] for a in self.artifacts if a["key"] == draft["key"]]
        published = {
            **draft,
            "id": f"00000000-0000-4000-8000-{len(self.artifacts) + 1:012d}",
            "version": max(versions, default=0) + 1,
            "role": answer["role"],
        }
        self.artifacts.append(published)
        return published


def test_a_critique_makes_the_planner_publish_the_plans_next_version() -> None:
    board = Board()
    draft = board.turn("planner")
    assert (draft["key"], draft["version"]) == ("plan/main", 1)
    finding = board.turn("research")
    assert finding["key"] == "finding/sky-blue"

    review = board.turn("critique")  # the plan first, though the finding is newer
    assert (review["key"], review["body"]["verdict"]) == ("critique/plan/main", "revise")
    assert review["body"]["target"] == draft["id"] and review["parents"] == [draft["id"]]
    assert "no review step" in review["body"]["issues"][0]

    revised = board.turn("planner")
    assert (revised["key"], revised["version"]) == ("plan/main", 2)
    assert {"critic"} <= {step["role"] for step in revised["body"]["steps"]}
    assert revised["parents"] == [draft["id"], review["id"]]
    assert "revised after review" in revised["body"]["summary"]

    second = board.turn("critique")  # the new version, not the old one again
    assert (second["key"], second["version"]) == ("critique/plan/main", 2)
    assert second["body"]["target"] == revised["id"] and second["body"]["verdict"] == "accept"

    stands = board.turn("planner")
    assert stands["action"] == "abstain" and "no critic asked" in stands["reason"]
    third = board.turn("critique")  # then what else nobody has reviewed
    assert third["body"]["target"] == finding["id"] and third["key"] == "critique/finding/sky-blue"
    result = board.turn("synthesis")
    assert result["key"] == "result/main"


def test_without_revise_the_service_names_the_keys() -> None:
    answer = ScriptedChatModel(capabilities=["planner"]).answer({"goal": GOAL, "artifacts": []})
    assert "key" not in answer["artifacts"][0]


def test_the_spec_takes_a_pace_and_rejects_a_bad_one() -> None:
    model = model_from_spec("scripted:planner?revise=true&think_s=0.25")
    assert isinstance(model, ScriptedChatModel) and model.revise and model.think_s == 0.25
    for bad in ("soon", "-1", "61"):
        with pytest.raises(ValueError, match="think_s must be seconds"):
            model_from_spec(f"scripted:planner?think_s={bad}")
