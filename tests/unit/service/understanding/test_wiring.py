"""Executors are found by name in the ``fusiondesk.executors`` entry points, like plugins."""

from __future__ import annotations

import asyncio

import pytest

from fusiondesk.plugins import PluginRegistry
from fusiondesk.service.errors import ConfigurationError
from fusiondesk.service.settings import Settings
from fusiondesk.service.understanding.executor import InlineExecutor
from fusiondesk.service.understanding.wiring import build_executor


def test_the_inline_executor_is_found_by_name(settings: Settings) -> None:
    registry = PluginRegistry()
    executor = build_executor(settings.model_copy(update={"executor": "inline"}), registry)
    assert isinstance(executor, InlineExecutor) and executor.registry is registry


def test_the_celery_executor_is_found_by_name_and_built_from_settings(settings: Settings) -> None:
    from fusiondesk.workers.executor import CeleryExecutor

    celery = settings.model_copy(update={"executor": "celery"})
    executor = build_executor(celery, PluginRegistry())
    try:
        assert isinstance(executor, CeleryExecutor) and executor.settings is celery
    finally:
        asyncio.run(executor.close())


def test_an_unknown_executor_is_a_configuration_error_naming_the_installed_ones(
    settings: Settings,
) -> None:
    # model_copy skips validation: a name no entry point has, as a third-party setting could be.
    unknown = settings.model_copy(update={"executor": "gpu-farm"})
    with pytest.raises(ConfigurationError, match=r"'gpu-farm'.*installed: celery, inline"):
        build_executor(unknown, PluginRegistry())


def test_the_inline_executor_keeps_no_dead_letters_and_reports_no_families() -> None:
    executor = InlineExecutor(PluginRegistry())
    assert asyncio.run(executor.dead_letters(10)) is None
    assert list(executor.metrics()) == []
