"""The one place where exceptions become HTTP responses: ``{"error": {"code", "message"}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from fusiondesk.plugins import InputError, InputTooLargeError, UnsupportedInputError
from fusiondesk.service.api.ratelimit import retry_after_header
from fusiondesk.service.errors import FusionDeskError, NotReadyError, RateLimitedError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def input_error_status(error: InputError) -> int:
    if isinstance(error, InputTooLargeError):
        return 413
    if isinstance(error, UnsupportedInputError):
        return 415
    return 422


async def _fusiondesk_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, FusionDeskError)
    headers = None
    if isinstance(error, NotReadyError):
        headers = {"Retry-After": RETRY_AFTER_SECONDS}
    elif isinstance(error, RateLimitedError):
        headers = {"Retry-After": retry_after_header(error.retry_after_seconds)}
    return error_response(error.status, error.code, error.message, headers)


async def _input_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InputError)
    return error_response(input_error_status(error), error.code, error.message)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = []
    for problem in error.errors()[:5]:
        where = ".".join(str(step) for step in problem.get("loc", ()) if step != "body")
        problems.append(f"{where or 'body'}: {problem.get('msg', 'invalid')}")
    return error_response(422, "invalid_request", "; ".join(problems) or "Invalid request.")


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = {
        400: "invalid_body",
        404: "not_found",
        405: "method_not_allowed",
        413: "body_too_large",
    }.get(error.status_code, "http_error")
    return error_response(error.status_code, code, str(error.detail), error.headers)


async def _unexpected_error(request: Request, error: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "Something went wrong on our side.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(FusionDeskError, _fusiondesk_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
