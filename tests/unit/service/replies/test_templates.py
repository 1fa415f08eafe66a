"""Reply templates: entities fill the variations that name them; groups always render."""

from __future__ import annotations

import pytest

from fusiondesk.service.errors import DatasetError
from fusiondesk.service.replies.domain import Domain
from fusiondesk.service.replies.templates import TemplateResponder


def test_entities_fill_the_variations_that_use_them(domain: Domain) -> None:
    templates = TemplateResponder(domain)
    assert templates.entities("where is order 123456?") == {"order_number": "123456"}
    assert templates.entities("My order #98765 and me@example.com") == {
        "order_number": "98765",
        "email": "me@example.com",
    }
    response = domain.intents["order_status"]
    with_number = {
        templates.intent_reply(response, {"order_number": "98765"}, seed=str(seed)).text
        for seed in range(40)
    }
    # Every variation using the entity appears, the one without fields never does (less
    # specific).
    assert with_number == {
        "Order #98765 is on its way.",
        "Order #98765 left our warehouse.",
    }
    both = templates.intent_reply(response, {"order_number": "98765", "email": "a@b.co"}, seed="1")
    assert both.text == "Order #98765 will reach you soon; we'll write to a@b.co."
    assert both.quick_replies == ["Track my order", "Talk to a person"]


def test_a_missing_entity_uses_a_variation_without_it_or_the_missing_phrasing(
    domain: Domain,
) -> None:
    templates = TemplateResponder(domain)
    status = templates.intent_reply(domain.intents["order_status"], {}, seed="1")
    assert status.text == "Your order is on its way."
    cancel = templates.intent_reply(domain.intents["cancel_order"], {}, seed="1")
    assert cancel.text == "Please send the number of the order to cancel."


def test_a_group_that_cannot_be_filled_is_an_error_not_a_blank_reply(domain: Domain) -> None:
    # Domain validation rules this out; a domain built around it must still fail loudly.
    response = domain.intents["cancel_order"].model_copy(update={"entity_missing": []})
    with pytest.raises(DatasetError, match="can be filled"):
        TemplateResponder(domain).intent_reply(response, {}, seed="1")
