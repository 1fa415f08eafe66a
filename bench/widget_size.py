"""Size of the chat widget's script, raw and as browsers download it (gzip).

Target (issue 8): widget.js <= 40 KB gzipped.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

WIDGET = Path(__file__).resolve().parents[1] / "service" / "widget" / "widget.js"
TARGET_GZIP_BYTES = 40 * 1024


def main() -> int:
    raw = WIDGET.read_bytes()
    packed = gzip.compress(raw, compresslevel=9)
    print(f"{'file':<28}{'raw KB':>10}{'gzip KB':>10}{'target KB':>11}{'ok':>5}")
    ok = len(packed) <= TARGET_GZIP_BYTES
    print(
        f"{'service/widget/widget.js':<28}{len(raw) / 1024:>10.1f}{len(packed) / 1024:>10.1f}"
        f"{TARGET_GZIP_BYTES / 1024:>11.0f}{'yes' if ok else 'NO':>5}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
