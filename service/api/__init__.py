"""The HTTP API."""

from fusiondesk.service.api.app import create_app

__all__ = ["create_app"]
