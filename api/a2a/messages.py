"""An A2A message as a task to post: which board, and the task's draft.

`contextId` names the board. The first line of the text parts is the task's title; the
data parts (JSON objects) are merged into its spec, and text beyond the title line is
kept there as `text`. `wants_type` (default `result`), `required_capabilities` and
`max_attempts` come from the message's metadata, or else the request's. The result is
JSON: a request whose `acceptedOutputModes` leave it out is refused.
"""

from typing import Any
from uuid import UUID

from a2a.types.a2a_pb2 import SendMessageRequest
from a2a.utils.errors import ContentTypeNotSupportedError
from google.protobuf.json_format import MessageToDict
from pydantic import ValidationError

from api.a2a.errors import field_errors, invalid_params, shaped, validation_error
from blackboard.drafts import TaskDraft
from blackboard.errors import FieldError

DEFAULT_WANTS_TYPE = "result"
RESULT_MODE = "application/json"
_FROM_METADATA = ("wants_type", "required_capabilities", "max_attempts")


def board_of(request: SendMessageRequest) -> UUID:
    """The board the message's `contextId` names."""
    context_id = request.message.context_id
    if not context_id:
        raise invalid_params(
            "contextId is missing: set it to the id of the board to post the task on",
            [FieldError("/message/contextId", "required: a board id")],
        )
    try:
        return UUID(context_id)
    except ValueError:
        raise invalid_params(
            "contextId must be a board id",
            [FieldError("/message/contextId", "not a board id (a UUID)")],
        ) from None


def task_draft(request: SendMessageRequest) -> TaskDraft:
    """The task the message asks for."""
    accepted = request.configuration.accepted_output_modes
    if accepted and RESULT_MODE not in accepted and "*/*" not in accepted:
        detail = f"a task's result is {RESULT_MODE}, which acceptedOutputModes leaves out"
        raise ContentTypeNotSupportedError(
            detail,
            data=shaped("ValidationFailed", detail, errors=field_errors(
                [FieldError("/configuration/acceptedOutputModes", f"must include {RESULT_MODE}")]
            )),
        )  # fmt: skip
    message = request.message
    if message.task_id:
        raise invalid_params(
            "a posted task takes no further messages: send a new message without taskId",
            [FieldError("/message/taskId", "must be empty")],
        )
    texts: list[str] = []
    spec: dict[str, Any] = {}
    for i, part in enumerate(message.parts):
        kind = part.WhichOneof("content")
        if kind == "text":
            texts.append(part.text)
        elif kind == "data" and part.data.WhichOneof("kind") == "struct_value":
            spec.update(MessageToDict(part.data.struct_value))
        else:
            raise invalid_params(
                "only text parts and data parts holding a JSON object make a task",
                [FieldError(f"/message/parts/{i}", "neither text nor a JSON object")],
            )
    text = "\n".join(texts).strip()
    title = text.splitlines()[0].strip() if text else ""
    if not title:
        raise invalid_params(
            "the message needs a text part: its first line is the task's title",
            [FieldError("/message/parts", "no text")],
        )
    if text != title:
        spec.setdefault("text", text)
    metadata = {
        **MessageToDict(request.metadata),
        **MessageToDict(message.metadata),
    }
    fields = {k: metadata[k] for k in _FROM_METADATA if k in metadata}
    fields.setdefault("wants_type", DEFAULT_WANTS_TYPE)
    try:
        return TaskDraft.model_validate({"title": title, "spec": spec, **fields})
    except ValidationError as exc:
        raise validation_error(exc, _source) from None


def _source(field: str) -> str:
    return "/message/parts" if field in ("title", "spec") else f"/message/metadata/{field}"
