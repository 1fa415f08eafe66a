"""Size of the chat widget's script as served (the bundle of service/widget/src/), raw and as
browsers download it (gzip).

Target (issue 8): widget.js <= 40 KB gzipped.
"""

from __future__ import annotations

import gzip
import sys

from fusiondesk.service.widget.bundle import bundle

TARGET_GZIP_BYTES = 40 * 1024


def gzipped_bytes(script: bytes) -> int:
    """What a browser downloads: the response at the strongest gzip level a server would use."""
    return len(gzip.compress(script, compresslevel=9))


def main() -> int:
    raw = bundle().encode("utf-8")
    packed = gzipped_bytes(raw)
    ok = packed <= TARGET_GZIP_BYTES
    verdict = "yes" if ok else "NO"
    print(f"{'script':<12}{'raw bytes':>11}{'gzip bytes':>12}{'target':>9}{'ok':>5}")
    print(f"{'widget.js':<12}{len(raw):>11}{packed:>12}{TARGET_GZIP_BYTES:>9}{verdict:>5}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
