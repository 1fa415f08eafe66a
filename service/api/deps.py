"""FastAPI dependencies, as aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from fusiondesk.service.runtime import Runtime


def get_runtime(connection: HTTPConnection) -> Runtime:
    """The service's runtime, for HTTP requests and WebSockets alike."""
    runtime: Runtime = connection.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
