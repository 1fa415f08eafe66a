"""mkdocs hooks: fail the build on Markdown that renders wrong without a warning.

mkdocs (strict) catches dead links and anchors, but not an unclosed code fence: everything
after it silently becomes one code block (that is how the README once swallowed its Deploy and
Images sections). The README is not a page of the site, so it is checked here too, with its
relative links, which mkdocs never sees.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

# A fence: up to any indentation (fences inside list items are indented), then three or more
# backticks or tildes. An opening fence may carry an info string ("```bash"); a closing one may not.
FENCE = re.compile(r"^\s*(?P<marker>`{3,}|~{3,})(?P<info>.*)$")
README_LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(?:#[^)\s]*)?\)")


def unclosed_fence(markdown: str) -> int | None:
    """The line number (1-based) of a code fence that is never closed, or None.

    A closing fence uses the opening one's character, at least as many times, and nothing after
    it (CommonMark). A fence with an info string ("```bash") of the same marker inside a block
    cannot close it, so CommonMark reads it as code, but it means the block above was left
    open: a missing fence swaps code and prose for the rest of the file without unbalancing the
    count. A longer outer fence ("````") may still show fences as content.
    """
    opening: tuple[int, str] | None = None  # (line number, marker)
    for number, line in enumerate(markdown.splitlines(), start=1):
        match = FENCE.match(line)
        if match is None:
            continue
        marker, info = match["marker"], match["info"].strip()
        if opening is None:
            if marker[0] == "`" and "`" in info:  # CommonMark: inline code, not a fence
                continue
            opening = (number, marker)
        elif marker[0] == opening[1][0] and len(marker) >= len(opening[1]):
            if info and marker == opening[1]:
                return opening[0]
            if not info:
                opening = None
    return None if opening is None else opening[0]


def check_fences(markdown: str, where: str) -> None:
    line = unclosed_fence(markdown)
    if line is not None:
        raise PluginError(
            f"{where}:{line}: this code fence is never closed "
            "(the file ends, or a later fence line opens another block instead)"
        )


def dead_links(markdown: str, base: Path) -> list[str]:
    """Relative link targets in ``markdown`` that name no file or folder under ``base``."""
    targets = (match["target"] for match in README_LINK.finditer(markdown))
    return [
        target
        for target in targets
        if "://" not in target and not target.startswith("mailto:")
        if not (base / target).exists()
    ]


def on_pre_build(config: Any) -> None:
    readme = Path(config.config_file_path).parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    check_fences(text, str(readme.name))
    missing = dead_links(text, readme.parent)
    if missing:
        raise PluginError(f"{readme.name}: links to missing files: {', '.join(missing)}")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    check_fences(markdown, f"docs/{page.file.src_uri}")
    return markdown
