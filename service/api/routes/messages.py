from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from fusiondesk.plugins import Part
from fusiondesk.service.api.chat import check_part_count, load_json
from fusiondesk.service.api.deps import RuntimeDep
from fusiondesk.service.api.openapi import AUTH_ERRORS, error_responses
from fusiondesk.service.api.schemas import (
    MessageEnvelope,
    MessageIn,
    MessageOut,
    PartOut,
    RankedIntentOut,
    SourceOut,
)
from fusiondesk.service.api.security import (
    ChatPrincipal,
    authorize_conversation,
    conversation_token,
)
from fusiondesk.service.errors import RequestRejectedError
from fusiondesk.service.observability import record_message
from fusiondesk.service.runtime import HandledMessage

router = APIRouter(prefix="/v1/messages", tags=["messages"])

ERRORS = error_responses(400, *AUTH_ERRORS, 404, 413, 415, 422, 503)

FORM_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded"}
MULTIPART_SCHEMA = {
    "type": "object",
    "required": ["conversation_id"],
    "properties": {
        "conversation_id": {"type": "string"},
        "message_id": {"type": "string"},
        "text": {"type": "string", "description": "Adds a text part."},
        "audio": {"type": "string", "format": "binary", "description": "Adds an audio part."},
        "image": {"type": "string", "format": "binary", "description": "Adds an image part."},
    },
    "description": "Every file field becomes a part whose type is the field's name.",
}


@router.post(
    "",
    summary="Send a customer message; get its intent and the reply",
    response_model=MessageOut,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": MessageIn.model_json_schema()},
                "multipart/form-data": {"schema": MULTIPART_SCHEMA},
            },
        }
    },
)
async def post_message(
    request: Request, runtime: RuntimeDep, principal: ChatPrincipal
) -> MessageOut:
    limits = runtime.settings.limits
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in FORM_TYPES:
        envelope, parts = await _read_form(request, limits.max_parts)
    elif content_type in {"application/json", ""}:
        envelope = _validate(MessageIn, await request.body())
        parts = [part.to_part() for part in envelope.parts]
    else:
        raise RequestRejectedError(
            f"Content type {content_type!r} is not accepted; send application/json or "
            "multipart/form-data (or a urlencoded form).",
            code="unsupported_content_type",
            status=415,
        )
    if not parts:
        raise RequestRejectedError("The message has no parts.", code="empty_message")
    check_part_count(runtime, parts)
    access = await authorize_conversation(
        runtime, envelope.conversation_id, principal, conversation_token(request), create=True
    )
    try:
        handled = await runtime.handle(envelope.conversation_id, parts, envelope.message_id)
    except BaseException:
        if access.new_token is not None:
            # The error answer cannot carry the token: free the id rather than keep it
            # claimed by a token nobody has.
            await runtime.store.delete_if_empty(envelope.conversation_id)
        raise
    out = to_message_out(handled)
    out.token = access.new_token
    if not handled.replayed:  # a retry's answer was counted when it was made
        record_message("http", out.intent, out_of_scope=out.out_of_scope, handoff=out.handoff)
    return out


Envelope = TypeVar("Envelope", bound=MessageEnvelope)


def _validate(model: type[Envelope], body: bytes | dict[str, Any]) -> Envelope:
    try:
        if isinstance(body, dict):
            return model.model_validate(body)
        return model.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from error


async def _read_form(request: Request, max_parts: int) -> tuple[MessageEnvelope, list[Part]]:
    """Form fields ``conversation_id``, ``message_id``, ``text`` and ``message`` (JSON with
    further parts); every uploaded file becomes a part whose type is its field name."""
    if not request.headers.get("content-type", "").lower().startswith("multipart/"):
        # ``async with`` closes the uploads' spooled temporary files once read.
        async with request.form(max_files=max_parts, max_fields=max_parts + 8) as form:
            return await _parts_of_form(form)
    parser = StrictMultiPartParser(
        request.headers, request.stream(), max_files=max_parts, max_fields=max_parts + 8
    )
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise RequestRejectedError(error.message, code="invalid_multipart", status=400) from error
    try:
        return await _parts_of_form(form)
    finally:
        await form.close()


class StrictMultiPartParser(MultiPartParser):
    """Starlette decodes a text field that is not valid in its charset as Latin-1: mojibake
    would be classified and stored as the customer's words. Such a field is refused."""

    def on_part_end(self) -> None:
        if self._current_part.file is None:
            try:
                self._current_part.data.decode(self._charset)
            except (UnicodeDecodeError, LookupError) as error:
                name = self._current_part.field_name
                raise MultiPartException(
                    f"Field {name!r} is not valid {self._charset} text."
                ) from error
        super().on_part_end()


async def _parts_of_form(form: FormData) -> tuple[MessageEnvelope, list[Part]]:
    fields: dict[str, Any] = {}
    if isinstance(message := form.get("message"), str):
        fields = load_json(message, "Field 'message' is not valid JSON.")
        if not isinstance(fields, dict):
            raise RequestRejectedError("Field 'message' must be a JSON object.")
    for name in ("conversation_id", "message_id"):
        if isinstance(value := form.get(name), str):
            fields[name] = value
    if isinstance(text := form.get("text"), str):
        fields["parts"] = [*fields.get("parts", []), {"type": "text", "text": text}]
    envelope = _validate(MessageEnvelope, fields)
    parts = [part.to_part() for part in envelope.parts]
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            parts.append(
                Part(
                    type=name,
                    data=await value.read(),
                    media_type=value.content_type,
                    filename=value.filename,
                )
            )
    return envelope, parts


def to_message_out(handled: HandledMessage) -> MessageOut:
    prediction = handled.understanding.prediction
    return MessageOut(
        conversation_id=handled.conversation_id,
        message_id=handled.message_id,
        intent=prediction.intent,
        confidence=prediction.confidence,
        ranking=[
            RankedIntentOut(intent=r.intent, confidence=r.confidence) for r in prediction.ranking
        ],
        out_of_scope=prediction.out_of_scope,
        reply=handled.reply.text,
        quick_replies=handled.reply.quick_replies,
        handoff=handled.reply.handoff,
        answered_by=handled.reply.answered_by,
        sources=[
            SourceOut(title=s.title, file=Path(s.file).name, score=s.score)
            for s in handled.reply.sources
        ],
        parts=[
            PartOut(
                type=p.type,
                plugin=p.plugin,
                slots=p.slots,
                details=p.details,
                prediction=(
                    None
                    if p.prediction is None
                    else RankedIntentOut(
                        intent=p.prediction.intent, confidence=p.prediction.confidence
                    )
                ),
            )
            for p in handled.understanding.parts
        ],
        timings_ms=handled.understanding.timings_ms,
    )
