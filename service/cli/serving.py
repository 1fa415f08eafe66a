"""``fusiondesk serve`` and ``fusiondesk keys``: running the service and its API keys."""

from __future__ import annotations

import ipaddress
import json
import math
import secrets
from pathlib import Path

import click

from fusiondesk.service.cli.common import settings_from


@click.command()
@click.option("--host", help="Interface to listen on (FUSIONDESK_HOST).")
@click.option("--port", type=int, help="Port (FUSIONDESK_PORT).")
@click.option("--model-dir", type=click.Path(path_type=Path), help="Model to serve.")
@click.option(
    "--insecure-expose",
    is_flag=True,
    help="Serve on a non-loopback address with auth off (anyone who reaches it is admin).",
)
def serve(
    host: str | None, port: int | None, model_dir: Path | None, insecure_expose: bool
) -> None:
    """Start the HTTP/WebSocket service (trains the demo model first if none exists)."""
    import uvicorn

    from fusiondesk.service.api import create_app
    from fusiondesk.service.cli.graceful import SHUTDOWN_MARGIN_S, GracefulServer
    from fusiondesk.service.demo.model import ensure_demo_model
    from fusiondesk.service.observability import configure_logging
    from fusiondesk.service.understanding.wiring import build_registry

    settings = settings_from(host=host, port=port, model_dir=model_dir)
    _refuse_open_exposure(settings.host, settings.auth.required, insecure_expose)
    if settings.model_dir is None:
        target = settings.resolved_model_dir
        click.echo(f"Serving the demo model from {target}")
        if ensure_demo_model(
            target,
            build_registry(settings),
            settings.cache_dir,
            attachments_per_intent=settings.demo_attachments_per_intent,
        ):
            click.echo("Trained the demo model.")
    click.echo(f"fusiondesk on http://{settings.host}:{settings.port} (docs at /docs)")
    configure_logging(settings.log_format, off_thread=True)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # our handler: JSON lines with request ids, secrets masked
        access_log=False,  # uvicorn's would log query strings (?key=, ?token=)
        # Uvicorn trusts X-Forwarded-For from 127.0.0.1 by default: any local process (or a
        # proxy that forwards what clients send) could then pick its IP for the rate limits.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        ws_max_size=settings.limits.max_body_bytes,
        # Chat events are a few hundred bytes: compressing each one costs the event loop more
        # CPU than it saves bandwidth (media goes up uncompressed anyway, it is compressed).
        ws_per_message_deflate=False,
        # A second past our own cut-off, by which the cut-off messages have had their 503s.
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s + SHUTDOWN_MARGIN_S),
    )
    GracefulServer(config, app, settings.shutdown_grace_s).run()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def _refuse_open_exposure(host: str, auth_required: bool, insecure_expose: bool) -> None:
    """An API reachable from other machines with auth off lets anyone swap the model and read
    every conversation: refuse it unless the operator says, in so many words, to do it."""
    if auth_required or is_loopback(host):
        return
    if not insecure_expose:
        raise click.ClickException(
            f"Refusing to serve on {host} with auth off: set FUSIONDESK_AUTH__REQUIRED=true "
            "and FUSIONDESK_AUTH__API_KEYS (`fusiondesk keys new`), bind 127.0.0.1, or pass "
            "--insecure-expose."
        )
    click.secho(
        f"WARNING: serving on {host} WITHOUT AUTHENTICATION (--insecure-expose): anyone who "
        "can reach this port can read every conversation and load models.",
        fg="red",
        bold=True,
        err=True,
    )


@click.group()
def keys() -> None:
    """API keys: settings hold only their sha256."""


@keys.command("new")
@click.option("--name", required=True, help="Shown in logs and metrics.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["chat", "admin", "agent"]),
    default=["chat"],
)
@click.option("--public", is_flag=True, help="A chat widget key, limited to its conversations.")
def new_key(name: str, scopes: tuple[str, ...], public: bool) -> None:
    """Make a random key; prints it once and the entry for FUSIONDESK_AUTH__API_KEYS."""
    from fusiondesk.service.api.security import sha256_hex

    key = secrets.token_urlsafe(32)
    entry = {"name": name, "sha256": sha256_hex(key), "scopes": list(scopes), "public": public}
    click.echo(f"key: {key}")
    click.echo(f"settings entry: {json.dumps(entry)}")
