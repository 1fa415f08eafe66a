"""``fusiondesk plugin new``: writes a separate, installable plugin package from templates.

The templates (``templates/*.tmpl``, ``string.Template`` syntax) produce a package whose plugin
fills in the whole contract with a small model-free encoder, so it installs, passes the SDK's
contract tests and serves at once; its author then swaps in a real model.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from importlib.resources import files
from pathlib import Path
from string import Template

from fusiondesk.plugins.base import NAME_PATTERN
from fusiondesk.service.errors import FusionDeskError

TEMPLATES = files("fusiondesk.service.scaffold") / "templates"

OUTPUTS = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "gitignore.tmpl": ".gitignore",
    "package_init.py.tmpl": "{package}/__init__.py",
    "plugin.py.tmpl": "{package}/plugin.py",
    "py.typed.tmpl": "{package}/py.typed",
    "test_plugin.py.tmpl": "tests/test_plugin.py",
}
"""Template file → path in the new package."""


class ScaffoldError(FusionDeskError):
    code = "invalid_scaffold"


@dataclass(frozen=True)
class PluginSkeleton:
    """The names a new plugin package is built from; all derive from the plugin name."""

    name: str
    modality: str
    part_type: str

    @property
    def package(self) -> str:
        return f"fusiondesk_{self.name}"

    @property
    def distribution(self) -> str:
        return f"fusiondesk-{self.name.replace('_', '-')}"

    @property
    def class_name(self) -> str:
        return "".join(word.capitalize() for word in self.name.split("_")) + "Plugin"

    def substitutions(self) -> dict[str, str]:
        return {
            "name": self.name,
            "name_upper": self.name.upper(),
            "modality": self.modality,
            "part_type": self.part_type,
            "package": self.package,
            "distribution": self.distribution,
            "class_name": self.class_name,
            "fusiondesk_version": version("fusiondesk"),
        }


def scaffold_plugin(
    name: str, parent: Path, *, modality: str | None = None, part_type: str | None = None
) -> Path:
    """Write the package for plugin ``name`` under ``parent``; return its directory."""
    skeleton = PluginSkeleton(name, modality or name, part_type or name)
    for label, value in (
        ("name", skeleton.name),
        ("modality", skeleton.modality),
        ("part type", skeleton.part_type),
    ):
        if not NAME_PATTERN.match(value):
            raise ScaffoldError(
                f"The plugin {label} {value!r} must be a lowercase identifier like 'my_modality'."
            )
    target = parent / skeleton.distribution
    if target.exists():
        raise ScaffoldError(f"{target} already exists; choose another name or --dir.")
    values = skeleton.substitutions()
    for template_name, output in OUTPUTS.items():
        text = Template((TEMPLATES / template_name).read_text(encoding="utf-8")).substitute(values)
        path = target / output.format(package=skeleton.package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
