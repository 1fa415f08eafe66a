"""Errors of the fusiondesk core. The HTTP layer maps them to responses in one place.

Hierarchy::

    FusionDeskError                 base; carries a stable ``code`` and an HTTP ``status``
    ├── ModelNotFoundError          no trained model where one was expected (503 when serving)
    ├── NotReadyError               models still loading (503)
    │   ├── StoreUnavailableError   Redis (store, locks, rate limits) unreachable (503)
    │   └── ShuttingDownError       the process is stopping; retry with the same id (503)
    ├── RequestRejectedError        a request the client must change (4xx, status per instance)
    ├── UnauthorizedError           no API key, or an unknown one (401)
    ├── ForbiddenError              the key lacks the scope the route needs (403)
    ├── ConversationNotFoundError   no such conversation, or not the caller's (404)
    ├── RateLimitedError            over a rate limit (429, with Retry-After)
    ├── DatasetError                a training or evaluation file cannot be read
    └── ConfigurationError          settings name something unusable (500)

Plugin input errors (``fusiondesk.plugins.errors.InputError``) are mapped beside these.
"""

from __future__ import annotations


class FusionDeskError(Exception):
    code = "internal_error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class ModelNotFoundError(FusionDeskError):
    code = "model_not_found"
    status = 503


class NotReadyError(FusionDeskError):
    code = "not_ready"
    status = 503


class StoreUnavailableError(NotReadyError):
    """Redis did not answer (down, restarting, paused): a retry soon will likely succeed."""

    code = "store_unavailable"


class ShuttingDownError(NotReadyError):
    """The process stopped before the message was answered; the next one answers a retry."""

    code = "shutting_down"


class RequestRejectedError(FusionDeskError):
    code = "invalid_request"
    status = 422


class UnauthorizedError(FusionDeskError):
    code = "unauthorized"
    status = 401


class ForbiddenError(FusionDeskError):
    code = "forbidden"
    status = 403


class ConversationNotFoundError(FusionDeskError):
    """Also answers for a conversation that exists but is not the caller's, so that ids cannot
    be probed."""

    code = "not_found"
    status = 404


class RateLimitedError(FusionDeskError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after_seconds: float) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class DatasetError(FusionDeskError):
    code = "invalid_dataset"
    status = 422


class ConfigurationError(FusionDeskError):
    """Settings name something that cannot be used (a missing package, an unknown webhook)."""

    code = "invalid_configuration"
    status = 500
