"""The bundled demo domain: an online shop's customer-service intents and replies.

This package's top holds only where the demo's files are: the API imports it for the demo's
domain, and the training it takes to build the demo model (``fusiondesk.service.demo.model``)
would cost every API start a couple of seconds of imports.
"""

from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).parent
DEMO_INTENTS = DEMO_DIR / "intents.jsonl"
DEMO_DOMAIN = DEMO_DIR / "domain.yaml"
