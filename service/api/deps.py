"""FastAPI dependencies, as aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from fusiondesk.service.runtime import Runtime


def runtime_of(connection: HTTPConnection) -> Runtime:
    """The service's runtime, for HTTP requests and WebSockets alike."""
    runtime: Runtime = connection.app.state.runtime
    return runtime


async def get_runtime(connection: HTTPConnection) -> Runtime:
    """``runtime_of`` as a dependency. ``async`` though it awaits nothing: FastAPI runs a plain
    function dependency in its thread pool, a thread hop on every request."""
    return runtime_of(connection)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
