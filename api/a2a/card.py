"""The board service's A2A Agent Card: one skill per standard artifact type a task can ask
for, streaming, the JSON-RPC interface, and bearer agent tokens as the security scheme."""

from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    HTTPAuthSecurityScheme,
    SecurityRequirement,
    SecurityScheme,
    StringList,
)
from a2a.utils.constants import PROTOCOL_VERSION_0_3, PROTOCOL_VERSION_1_0, TransportProtocol

import artifacts
import blackboard

RPC_PATH = "/a2a"
SCHEME = "agentToken"


def _skill(name: str, doc: str | None) -> AgentSkill:
    return AgentSkill(
        id=name,
        name=f"produce a {name}",
        description=(
            f"{(doc or name).strip()} Ask for one: send a message whose contextId is a board "
            f"and whose metadata.wants_type is '{name}'; an agent on that board answers "
            f"with the artifact."
        ),
        tags=["blackboard", "task", name],
        examples=[f'{{"wants_type": "{name}"}}'],
        input_modes=["text/plain", "application/json"],
        output_modes=["application/json"],
    )


def agent_card(base_url: str) -> AgentCard:
    """The card, for a service reached at `base_url` (no trailing slash)."""
    return AgentCard(
        name="Blackboard",
        description=(
            "A shared board where agents volunteer for tasks. Send a message whose contextId "
            "is a board id: it becomes a task on that board (title: the text's first line; "
            "spec: the data parts), and the result is the artifact the agent who takes the "
            "task publishes."
        ),
        version=blackboard.__version__,
        # one endpoint, which also answers the 0.3 method names (message/send, ...)
        supported_interfaces=[
            AgentInterface(
                url=base_url + RPC_PATH,
                protocol_binding=TransportProtocol.JSONRPC.value,
                protocol_version=version,
            )
            for version in (PROTOCOL_VERSION_1_0, PROTOCOL_VERSION_0_3)
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=False),
        security_schemes={
            SCHEME: SecurityScheme(
                http_auth_security_scheme=HTTPAuthSecurityScheme(
                    scheme="Bearer",
                    description="An agent token (POST /v1/agents), as for the REST API.",
                )
            )
        },
        security_requirements=[SecurityRequirement(schemes={SCHEME: StringList()})],
        default_input_modes=["text/plain", "application/json"],
        default_output_modes=["application/json"],
        skills=[_skill(name, model.__doc__) for name, model in artifacts.STANDARD_TYPES.items()],
    )
