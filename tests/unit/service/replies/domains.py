"""Domain files shared by the reply tests: version 1, and version 2 with every feature."""

from __future__ import annotations

from pathlib import Path

DOMAIN_V1 = """
version: 1
fallback: ["Sorry, could you rephrase?"]
handoff: ["Handing you over."]
intents:
  order_status:
    replies: ["Check 'My orders'.", "Tracking is in your email."]
    quick_replies: ["Track my order"]
  talk_to_human:
    replies: ["Of course."]
    action: handoff
"""

DOMAIN_V2 = """
version: 2
entities:
  order_number:
    pattern: '#\\s?(\\d{5,8})\\b|\\border\\s+(\\d{5,8})\\b'
  email: {pattern: '[\\w.+-]+@[\\w-]+\\.[\\w.]+'}
fallback: ["Sorry, could you rephrase?", "I didn't catch that."]
handoff: ["Handing you over."]
knowledge:
  paths: ["faq/*.md"]
intents:
  order_status:
    replies:
      - "Order #{order_number} is on its way."
      - "Order #{order_number} left our warehouse."
      - "Order #{order_number} will reach you soon; we'll write to {email}."
      - "Your order is on its way."
    entity_missing: ["Which order? Please send its number."]
    quick_replies: ["Track my order", "Talk to a person"]
  cancel_order:
    replies: ["Cancelling order #{order_number}."]
    entity_missing: ["Please send the number of the order to cancel."]
  order_lookup:
    replies: ["Looking it up."]
    action: webhook
    webhook: crm
  talk_to_human:
    replies: ["Of course, a person will reply."]
    action: handoff
"""


def write(tmp_path: Path, text: str, name: str = "domain.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
