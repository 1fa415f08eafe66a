"""What several commands share: settings from their options and the loggers they quiet.

Only the standard library and click at import: the settings (pydantic) load inside.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fusiondesk.service.settings import Settings

PER_CLIP_LOGGERS = ("faster_whisper",)
"""Libraries that log a line per item at INFO (faster-whisper: one per transcribed clip)."""


def settings_from(**overrides: Any) -> Settings:
    """The settings (environment, .env), with the options the user gave on top."""
    from fusiondesk.service.settings import Settings

    return Settings(**{key: value for key, value in overrides.items() if value is not None})


@contextmanager
def quiet_per_clip_logs() -> Iterator[None]:
    """While featurising a dataset, keep per-clip INFO lines out of the progress bar."""
    loggers = [logging.getLogger(name) for name in PER_CLIP_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.level, logging.WARNING))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
