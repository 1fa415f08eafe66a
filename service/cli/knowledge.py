"""``fusiondesk knowledge``: which knowledge-base entries answer a question."""

from __future__ import annotations

from pathlib import Path

import click

from fusiondesk.service.cli.common import settings_from


@click.command()
@click.argument("questions", nargs=-1)
@click.option("--domain", type=click.Path(exists=True, path_type=Path), help="Domain file.")
def knowledge(questions: tuple[str, ...], domain: Path | None) -> None:
    """Build (or load) the knowledge index and show which entries answer QUESTIONS."""
    import asyncio

    from fusiondesk.service.replies.domain import Domain
    from fusiondesk.service.replies.knowledge import open_knowledge_base
    from fusiondesk.service.serving import domain_path

    settings = settings_from(domain_path=domain)
    knowledge_base = open_knowledge_base(settings, Domain.load(domain_path(settings)))
    if knowledge_base is None:
        raise click.ClickException("No knowledge files: see the domain's `knowledge` section.")
    for question in questions:
        hits = asyncio.run(knowledge_base.search(question))
        click.echo(f"{question}")
        if not hits:
            click.echo("  (nothing above the score threshold: the fallback answers)")
        for hit in hits:
            click.echo(f"  {hit.score:.3f}  {hit.title}  [{Path(hit.file).name}]")
