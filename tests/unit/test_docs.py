"""The documentation: the fence check of docs/hooks.py, and the real strict mkdocs build."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.paths import ROOT


def _load_hooks() -> ModuleType:
    # docs/ is not a package: mkdocs loads the hooks file by path, and so does this test.
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _load_hooks()

CLOSED = "# Title\n\n```bash\nmake run\n```\n\nText.\n"


def test_closed_fences_pass() -> None:
    assert hooks.unclosed_fence(CLOSED) is None
    assert hooks.unclosed_fence("~~~\n```not a close\n~~~\n") is None
    # A longer outer fence may show a fenced example as content.
    assert hooks.unclosed_fence("````md\n```bash\nls\n```\n````\n") is None
    # Backticks in the info string: inline code, not a fence.
    assert hooks.unclosed_fence("```a` b\ntext\n") is None
    # Fences inside list items are indented.
    assert hooks.unclosed_fence("* step:\n\n  ```bash\n  ls\n  ```\n") is None


def test_a_fence_left_open_at_the_end_is_found() -> None:
    assert hooks.unclosed_fence("# Title\n\n```bash\nmake run\n\n## Next\n") == 3


def test_a_fence_left_open_before_the_next_block_is_found() -> None:
    # The old README's bug: the count of fences stays even, but everything is swapped.
    page = "```bash\nls\n## Deploy\n\n```bash\nmake run\n```\n"
    assert hooks.unclosed_fence(page) == 1


def test_the_hook_names_the_page_and_the_line() -> None:
    page = type("Page", (), {"file": type("File", (), {"src_uri": "api.md"})()})()
    assert hooks.on_page_markdown(CLOSED, page=page, config=None, files=None) == CLOSED
    with pytest.raises(hooks.PluginError, match=r"docs/api\.md:3: "):
        hooks.on_page_markdown("Intro\n\n```json\n{}\n", page=page, config=None, files=None)


def test_readme_links_are_checked(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "api.md").write_text("# API\n")
    readme = "[API](docs/api.md#errors) [gone](docs/gone.md) [site](https://example.com)"
    assert hooks.dead_links(readme, tmp_path) == ["docs/gone.md"]


def _build(root: Path, site_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_the_documentation_builds_strictly(tmp_path: Path) -> None:
    result = _build(ROOT, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "architecture" / "index.html").is_file()
    assert not (tmp_path / "hooks.py").exists()  # the hook is not published


@pytest.mark.slow
def test_a_dead_link_fails_the_build(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "docs", copy / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("mkdocs.yml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    page = copy / "docs" / "index.md"
    page.write_text(page.read_text() + "\nSee [the FAQ](faq.md#top).\n")
    result = _build(copy, tmp_path / "site")
    assert result.returncode != 0
    assert "faq.md" in result.stderr
