"""Every tool of the catalogue is carried out by both backends, under the issue's names."""

from agents.toolbox import ROUTES
from api.mcp.service import ServiceBackend
from board_tools import TOOLS

NAMES = [
    "list_boards", "list_types", "get_type", "publish_artifact", "get_artifact",
    "list_artifacts", "key_history", "read_events", "claim_role", "renew_claim",
    "release_claim", "abstain", "post_task", "claim_task", "complete_task", "my_turns",
    "complete_turn", "abstain_turn",
]  # fmt: skip


def test_each_tool_has_a_service_method_and_a_rest_route() -> None:
    assert [spec.name for spec in TOOLS] == NAMES
    assert all(callable(getattr(ServiceBackend, name, None)) for name in NAMES)
    assert sorted(ROUTES) == sorted(NAMES)


def test_board_id_comes_first_wherever_a_tool_takes_one() -> None:
    for spec in TOOLS:
        fields = list(spec.args.model_json_schema()["properties"])
        assert "board_id" not in fields or fields[0] == "board_id", spec.name
