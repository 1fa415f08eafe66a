"""The API's start (``fusiondesk serve``: the demo check, then the app) imports what serving
needs, not the training stack.

Every second of imports is a second of every restart (a deploy, a crash) in which messages
wait: the demo package once pulled training, scikit-learn and SciPy into the API (about 1.8 s
of a 14 s start at load 5). A fresh interpreter, so modules other tests imported don't count.
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.paths import ROOT

TRAINING_ONLY = ("fusiondesk.service.training", "sklearn", "scipy", "matplotlib")


def test_starting_the_api_leaves_the_training_stack_out() -> None:
    probe = (
        "import json, sys; import fusiondesk.service.api.app, fusiondesk.service.demo.model; "
        f"print(json.dumps([name for name in {list(TRAINING_ONLY)!r} if name in sys.modules]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
