"""Bodies of the agents' desk (``/v1/agent/*``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fusiondesk.service.api.conversation_schemas import TurnOut
from fusiondesk.service.conversations.store import ConversationState

MAX_AGENT_TEXT_CHARS = 4000


class AgentTextIn(BaseModel):
    """An agent's reply to the customer, or an internal note."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"text": "Hi, I'm Alice. Let me look at your order."}]},
    )

    text: str = Field(min_length=1, max_length=MAX_AGENT_TEXT_CHARS)


class StateOut(BaseModel):
    """Who answers the conversation."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "pV1bq3mE5pXcN0cV6mI0-w",
                    "state": "agent",
                    "agent": "alice",
                    "reason": "requested",
                    "intent": "human_agent",
                    "confidence": 0.93,
                    "handed_off_at": 1764000000.0,
                }
            ]
        }
    )

    conversation_id: str
    state: str = Field(description="`bot`, `waiting`, `agent` or `resolved`.")
    agent: str | None = None
    reason: str | None = Field(default=None, description="`requested` or `repeated_failure`.")
    intent: str | None = None
    confidence: float | None = None
    handed_off_at: float | None = None

    @classmethod
    def of(cls, conversation_id: str, state: ConversationState) -> StateOut:
        return cls(
            conversation_id=conversation_id,
            state=state.state,
            agent=state.agent,
            reason=state.reason,
            intent=state.intent,
            confidence=state.confidence,
            handed_off_at=state.handed_off_at,
        )


class QueueEntryOut(BaseModel):
    conversation_id: str
    state: str
    agent: str | None
    reason: str | None
    intent: str | None
    confidence: float | None
    last_message: str | None
    handed_off_at: float
    waiting_seconds: float


class QueueOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversations": [
                        {
                            "conversation_id": "pV1bq3mE5pXcN0cV6mI0-w",
                            "state": "waiting",
                            "agent": None,
                            "reason": "requested",
                            "intent": "human_agent",
                            "confidence": 0.93,
                            "last_message": "can I talk to a person",
                            "handed_off_at": 1764000000.0,
                            "waiting_seconds": 42.5,
                        }
                    ]
                }
            ]
        }
    )

    conversations: list[QueueEntryOut] = Field(
        description="Waiting conversations first, then claimed ones; oldest handoff first."
    )


class AgentConversationOut(BaseModel):
    """A conversation as an agent reads it: every entry (customer, bot, agent, note) with
    what the bot understood (parts, transcript, OCR text, intent ranking)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "conversation_id": "pV1bq3mE5pXcN0cV6mI0-w",
                    "state": {"conversation_id": "pV1bq3mE5pXcN0cV6mI0-w", "state": "waiting"},
                    "turns": [
                        {
                            "message_id": "m1",
                            "role": "customer",
                            "sequence": 1,
                            "created_at": 1764000000.0,
                            "transcript": "I want to talk to a person",
                            "intent": "human_agent",
                            "confidence": 0.93,
                            "ranking": [{"intent": "human_agent", "confidence": 0.93}],
                        },
                        {
                            "message_id": "a1",
                            "role": "agent",
                            "agent": "alice",
                            "sequence": 2,
                            "created_at": 1764000030.0,
                            "text": "Hi, I'm Alice.",
                        },
                    ],
                }
            ]
        }
    )

    conversation_id: str
    state: StateOut
    turns: list[TurnOut]


class AgentEntryOut(TurnOut):
    """An agent's reply or note as stored in the history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message_id": "5f0c8e0d2b7a4e1f9c3d6a8b7e2f1d0c",
                    "role": "agent",
                    "agent": "alice",
                    "sequence": 3,
                    "created_at": 1764000030.0,
                    "text": "Hi, I'm Alice. Let me look at your order.",
                }
            ]
        }
    )


def entries_out(entries: list[dict[str, Any]]) -> list[TurnOut]:
    return [TurnOut.model_validate(entry) for entry in entries]
