"""Business hours: whether people answer handed-off conversations at a given moment."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fusiondesk.service.settings import BusinessHours


def is_open(hours: BusinessHours | None, moment: float) -> bool:
    """True at any moment when no hours are set; else within ``opens``..``closes`` on ``days``
    in the hours' time zone."""
    if hours is None:
        return True
    local = datetime.fromtimestamp(moment, ZoneInfo(hours.timezone))
    return local.weekday() in hours.days and hours.opens <= local.time() < hours.closes
