"""Model folders a plugin assembles once (joined, unpacked, verified) into its cache."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path


def move_into_place(staged: Path, target: Path, is_sound: Callable[[Path], bool]) -> None:
    """Replace ``target`` with the ``staged`` folder in one rename, so a reader never sees half
    a model; when another process put its own copy there meanwhile, keep theirs if sound."""
    shutil.rmtree(target, ignore_errors=True)
    try:
        os.rename(staged, target)
    except OSError:
        if not is_sound(target):
            raise
