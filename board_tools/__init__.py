"""The board's tools as a model sees them: names, argument models, descriptions, and how
a refusal reads. Imports nothing of ours, so that the service and the agents share it."""

from board_tools.catalogue import BY_NAME, TOOLS, ToolSpec
from board_tools.refusal import Refusal

__all__ = ["BY_NAME", "TOOLS", "Refusal", "ToolSpec"]
