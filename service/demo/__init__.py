"""The bundled demo domain: an online shop's customer-service intents and replies."""

from __future__ import annotations

from pathlib import Path

from plugins import PluginRegistry
from service.fusion.model import CONFIG_FILE
from service.responder import copy_domain
from service.training import TrainingOptions, train_from_file

DEMO_DIR = Path(__file__).parent
DEMO_INTENTS = DEMO_DIR / "intents.jsonl"
DEMO_DOMAIN = DEMO_DIR / "domain.yaml"


def ensure_demo_model(
    model_dir: Path, registry: PluginRegistry, cache_dir: Path | None, *, progress: bool = True
) -> bool:
    """Train the demo model into ``model_dir`` unless a model is there. True if it trained."""
    if (model_dir / CONFIG_FILE).is_file():
        return False
    train_from_file(
        DEMO_INTENTS,
        model_dir,
        registry,
        TrainingOptions(),
        cache_dir=cache_dir,
        progress=progress,
    )
    copy_domain(DEMO_DOMAIN, model_dir)
    return True
