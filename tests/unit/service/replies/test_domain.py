"""The domain file: validation at load, the old ``slot_missing`` key, knowledge paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from fusiondesk.service.errors import DatasetError
from fusiondesk.service.replies.domain import Domain, copy_domain
from tests.unit.service.replies.domains import DOMAIN_V2, write


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ('replies: ["Order {order_id}"]', "undeclared entities"),
        ('replies: ["Order {order_number}"]', "add `entity_missing`"),
        ('replies: ["Hi"]\n    action: webhook', "go together"),
        ("quick_replies: []", "at least one reply"),
        ('replies: ["Hi"]\n    entity_missing: ["Order {order_number}?"]', "uses no entity"),
        ('replies: ["Hi"]\n    quick_reply: ["typo"]', "Extra inputs"),
    ],
)
def test_a_broken_domain_is_refused_at_load(tmp_path: Path, mistake: str, message: str) -> None:
    text = f"""
version: 2
entities: {{order_number: {{pattern: '(\\d+)'}}}}
fallback: ["Sorry?"]
handoff: ["Over to a person."]
intents:
  broken:
    {mistake}
"""
    with pytest.raises(DatasetError, match=message):
        Domain.load(write(tmp_path, text))


def test_bad_entity_regex_and_escaping_knowledge_paths_are_refused(tmp_path: Path) -> None:
    base = 'fallback: ["Sorry?"]\nhandoff: ["Over."]\n'
    with pytest.raises(DatasetError, match="invalid regular expression"):
        Domain.load(write(tmp_path, base + "entities: {n: {pattern: '(unclosed'}}"))
    with pytest.raises(DatasetError, match="leaves the domain's folder"):
        Domain.load(write(tmp_path, base + "knowledge: {paths: ['../secrets/*.md']}"))


def test_knowledge_files_resolve_beside_the_domain_and_travel_with_it(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "faq").mkdir(parents=True)
    (source / "faq" / "a.md").write_text("## Q\n\nA.\n", encoding="utf-8")
    (source / "faq" / "notes.txt").write_text("ignored by the glob", encoding="utf-8")
    domain = Domain.load(write(source, DOMAIN_V2))
    assert domain.knowledge_files() == [(source / "faq" / "a.md").resolve()]
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    copy_domain(source / "domain.yaml", model_dir)
    copied = Domain.load(model_dir / "domain.yaml")
    assert copied.knowledge_files() == [(model_dir / "faq" / "a.md").resolve()]


def test_a_domain_saved_with_the_old_slot_missing_key_still_loads(tmp_path: Path) -> None:
    old = DOMAIN_V2.replace("entity_missing:", "slot_missing:")
    assert "entity_missing" not in old
    response = Domain.load(write(tmp_path, old)).intents["cancel_order"]
    assert response.entity_missing == ["Please send the number of the order to cancel."]
    both = DOMAIN_V2.replace(
        '    entity_missing: ["Please', '    slot_missing: ["Hm?"]\n    entity_missing: ["Please'
    )
    with pytest.raises(DatasetError, match="slot_missing"):
        Domain.load(write(tmp_path, both))
