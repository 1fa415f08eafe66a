"""What a process loads follows the layers: a Celery worker imports the plugin wiring, not the
knowledge base (LangChain), the replies or the runtime; the plugin SDK loads no web or queue
stack. Each check imports in a fresh interpreter, where ``sys.modules`` shows everything the
import pulled in, directly or not. (``lint-imports`` checks the same arrows statically.)"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.paths import ROOT


def _loaded_after(*modules: str) -> set[str]:
    script = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    # From the repository root, ``-c`` imports this checkout's fusiondesk/ first.
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout))


def _under(loaded: set[str], *packages: str) -> list[str]:
    return sorted(m for m in loaded if any(m == p or m.startswith(p + ".") for p in packages))


def test_the_worker_side_loads_no_langchain_replies_or_runtime() -> None:
    loaded = _loaded_after("fusiondesk.workers.worker", "fusiondesk.workers.tasks")
    assert "fusiondesk.workers.tasks" in loaded  # the import really happened
    assert "fusiondesk.service.understanding.wiring" in loaded
    assert [m for m in loaded if m.startswith("langchain")] == []
    assert _under(loaded, "fusiondesk.service.replies", "fusiondesk.service.runtime") == []


def test_the_plugin_sdk_loads_no_web_or_queue_stack() -> None:
    loaded = _loaded_after("fusiondesk.plugins")
    assert "fusiondesk.plugins.registry" in loaded
    assert _under(loaded, "fastapi", "starlette", "celery", "kombu") == []
