"""The chat widget's one script, bundled from its source fragments in ``src/``.

Sites embed the widget with one script tag, so ``GET /widget.js`` serves one file; the
source is kept as small fragments by job instead. The fragments are plain script (no modules,
no build tool, no npm): they share one function scope, in the order of ``SOURCES``, which is
what the bundle wraps them in. Nothing generated is committed: the route bundles on first use,
and ``python -m fusiondesk.service.widget.bundle build/widget.js`` (``make widget``) writes the
file for hosting it elsewhere, a CDN for example.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent / "src"
SOURCES = (
    # config.js first: it returns early when the page already has the widget.
    "config.js",
    "strings.js",
    "styles.js",
    "dom.js",
    "markdown.js",
    "store.js",
    "transport.js",
    "messages.js",
    "render.js",
    "attachments.js",
    "recorder.js",
    # main.js last: it creates the widget, so everything it calls must be defined by then.
    "main.js",
)
"""The fragments in bundle order; a file in ``src/`` that is not listed here is not shipped."""
BANNER = (
    "/*! fusiondesk chat widget — dependency-free, Shadow DOM. Apache-2.0.\n"
    " * Bundled from service/widget/src/ by service/widget/bundle.py. */\n"
)


@cache
def bundle() -> str:
    """The widget script: every fragment, in order, inside one strict-mode function."""
    fragments = [
        f"// src/{name}\n" + (SOURCE_DIR / name).read_text(encoding="utf-8") for name in SOURCES
    ]
    return BANNER + '(function () {\n"use strict";\n' + "\n".join(fragments) + "})();\n"


def main(argv: list[str]) -> int:
    """Writes the bundle to the path given (for hosting the widget on another server)."""
    if len(argv) != 1:
        print("usage: python -m fusiondesk.service.widget.bundle OUTPUT.js", file=sys.stderr)
        return 2
    target = Path(argv[0])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(bundle(), encoding="utf-8")
    print(f"{target}: {len(bundle().encode())} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
