"""An agent's reply as the desk receives it: a JSON body ``{"text"}``, or a multipart form
with ``text`` and files (``files``, one or more), each file's type checked by its bytes."""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from fusiondesk.service.api.agent_schemas import MAX_AGENT_TEXT_CHARS, AgentTextIn
from fusiondesk.service.api.chat import IMAGE_SIGNATURES
from fusiondesk.service.api.routes.messages import StrictMultiPartParser
from fusiondesk.service.errors import RequestRejectedError
from fusiondesk.service.handoff.desk import AgentFile
from fusiondesk.service.settings import Limits

PDF = (b"%PDF-", 0, "application/pdf")
ATTACHMENT_SIGNATURES = [*IMAGE_SIGNATURES, PDF]
ACCEPTED_TYPES = ", ".join(media_type for _, _, media_type in ATTACHMENT_SIGNATURES)
MAX_FILE_NAME_CHARS = 200

MULTIPART_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "maxLength": MAX_AGENT_TEXT_CHARS},
        "files": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": f"One or more files ({ACCEPTED_TYPES}), their type read from their "
            "bytes. Every file field is taken, whatever its name.",
        },
    },
    "description": "The reply's text (may be empty when files are sent) and its files; "
    "`LIMITS__MAX_PARTS` files at most, the whole body within `LIMITS__MAX_BODY_BYTES`.",
    "example": {"text": "Here is the label to print.", "files": "(bytes of label.pdf)"},
}


def sniff_attachment_type(data: bytes) -> str:
    """The media type of an agent's file by its leading bytes; 415 if it is not accepted."""
    for signature, offset, media_type in ATTACHMENT_SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return media_type
    raise RequestRejectedError(
        f"This file is not one of the accepted types ({ACCEPTED_TYPES}).",
        code="unsupported_media",
        status=415,
    )


async def read_agent_reply(request: Request, limits: Limits) -> tuple[str, list[AgentFile]]:
    """(text, files) of a reply: JSON ``{"text"}`` or a multipart form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _read_form(request, limits)
    if content_type == "application/x-www-form-urlencoded":  # a plain HTML form: text only
        async with request.form(max_files=0, max_fields=4) as form:
            return await _text_and_files(form)
    if content_type not in {"application/json", ""}:
        raise RequestRejectedError(
            f"Content type {content_type!r} is not accepted; send application/json or "
            "multipart/form-data (or a urlencoded form).",
            code="unsupported_content_type",
            status=415,
        )
    try:
        body = AgentTextIn.model_validate_json(await request.body())
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from error
    return body.text, []


async def _read_form(request: Request, limits: Limits) -> tuple[str, list[AgentFile]]:
    parser = StrictMultiPartParser(
        request.headers, request.stream(), max_files=limits.max_parts, max_fields=4
    )
    try:
        form = await parser.parse()
    except MultiPartException as error:
        # Starlette words a file count over ``max_files`` as "Too many files..."
        too_many = "too many files" in error.message.lower()
        raise RequestRejectedError(
            error.message,
            code="too_many_parts" if too_many else "invalid_multipart",
            status=413 if too_many else 400,
        ) from error
    try:
        return await _text_and_files(form)
    finally:
        await form.close()


async def _text_and_files(form: FormData) -> tuple[str, list[AgentFile]]:
    text = form.get("text")
    text = text.strip() if isinstance(text, str) else ""
    files: list[AgentFile] = []
    for _, value in form.multi_items():
        if isinstance(value, UploadFile):
            data = await value.read()
            files.append(AgentFile(_file_name(value.filename), sniff_attachment_type(data), data))
    if not text and not files:
        raise RequestRejectedError("A reply needs text or at least one file.", code="empty_reply")
    if len(text) > MAX_AGENT_TEXT_CHARS:
        raise RequestRejectedError(
            f"A reply's text may have at most {MAX_AGENT_TEXT_CHARS} characters.",
            code="reply_too_long",
        )
    return text, files


def _file_name(filename: str | None) -> str:
    # The browser's name for the file, without any folder a client sent (either slash).
    name = PureWindowsPath(PurePosixPath(filename or "").name).name.strip()
    return name[:MAX_FILE_NAME_CHARS] or "attachment"
