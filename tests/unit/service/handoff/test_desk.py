"""The agents' desk on the memory store: the state machine's rules, the compare-and-set under
concurrent claims, the live events, and the policies (acknowledgement, business hours,
reminders, auto-resolve)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest

from fusiondesk.service.api.conversation_schemas import live_event
from fusiondesk.service.conversations.store import (
    ConversationMeta,
    ConversationState,
    InMemoryConversationStore,
    Turn,
)
from fusiondesk.service.handoff.desk import AgentFile, HandoffConflictError, HandoffDesk
from fusiondesk.service.handoff.events import AGENTS, EventBus, conversation_channel
from fusiondesk.service.handoff.hours import is_open
from fusiondesk.service.replies.templates import Reply
from fusiondesk.service.settings import BusinessHours, HandoffSettings, Settings
from fusiondesk.service.understanding.fusion import Prediction

PREDICTION = Prediction("talk_to_human", 0.9, [], False)


def _desk(**handoff: object) -> HandoffDesk:
    settings = Settings(handoff=HandoffSettings.model_validate(handoff))
    return HandoffDesk(InMemoryConversationStore(), EventBus(), settings)


async def _waiting(desk: HandoffDesk, conversation_id: str = "c1") -> None:
    await desk.store.create(conversation_id, ConversationMeta(time.time()))
    await desk.hand_off(conversation_id, "requested", PREDICTION)


def test_swap_state_writes_only_over_the_expected_version() -> None:
    async def run() -> None:
        store = InMemoryConversationStore()
        assert await store.swap_state("c1", 0, ConversationState("waiting", version=1))
        assert not await store.swap_state("c1", 0, ConversationState("agent", version=1))
        assert (await store.state("c1")).state == "waiting"
        assert await store.handed_off() == ["c1"]
        assert await store.swap_state("c1", 1, ConversationState("bot", version=2))
        assert await store.handed_off() == []

    asyncio.run(run())


def test_of_many_simultaneous_claims_exactly_one_wins() -> None:
    async def run() -> None:
        desk = _desk()
        await _waiting(desk)
        outcomes = await asyncio.gather(
            *(desk.claim("c1", f"agent{n}") for n in range(10)), return_exceptions=True
        )
        winners = [o for o in outcomes if isinstance(o, ConversationState)]
        assert len(winners) == 1
        assert all(isinstance(o, HandoffConflictError) for o in outcomes if o not in winners)
        assert (await desk.store.state("c1")).agent == winners[0].agent

    asyncio.run(run())


def test_transitions_follow_the_rules() -> None:
    async def run() -> None:
        desk = _desk()
        await desk.store.create("c1", ConversationMeta(time.time()))
        with pytest.raises(HandoffConflictError):
            await desk.claim("c1", "alice")  # never handed off
        await _waiting(desk)
        await desk.hand_off("c1", "repeated_failure", PREDICTION)  # already waiting: no change
        assert (await desk.store.state("c1")).reason == "requested"
        with pytest.raises(HandoffConflictError):
            await desk.reply("c1", "alice", "not claimed yet")
        await desk.claim("c1", "alice")
        with pytest.raises(HandoffConflictError):
            await desk.resolve("c1", "bob")
        await desk.resolve("c1", "alice")
        with pytest.raises(HandoffConflictError):
            await desk.hand_back("c1", "alice")
        await desk.hand_off("c1", "requested", PREDICTION)  # a resolved one can come back
        assert (await desk.store.state("c1")).state == "waiting"

    asyncio.run(run())


def test_events_go_to_agents_and_to_the_customer() -> None:
    async def run() -> None:
        desk = _desk()
        async with (
            desk.bus.subscribe(AGENTS) as agents,
            desk.bus.subscribe(conversation_channel("c1")) as customer,
        ):
            await _waiting(desk)
            await desk.claim("c1", "alice")
            await desk.reply("c1", "alice", "hello")
            await desk.note("c1", "alice", "internal")
            agent_events = [agents.get_nowait()["event"] for _ in range(agents.qsize())]
            customer_events = [customer.get_nowait()["event"] for _ in range(customer.qsize())]
        assert agent_events == ["handoff", "agent_joined", "agent_message", "note"]
        assert customer_events == ["agent_joined", "agent_message"]

    asyncio.run(run())


def test_a_reply_with_files_keeps_them_and_the_customer_is_told_where() -> None:
    label = AgentFile("label.pdf", "application/pdf", b"%PDF-1.4 label")
    photo = AgentFile("parcel.png", "image/png", b"\x89PNG\r\n\x1a\n...")

    async def run() -> None:
        desk = _desk()
        await _waiting(desk)
        with pytest.raises(HandoffConflictError):  # not claimed: refused before keeping a file
            await desk.reply("c1", "alice", "too early", [label])
        await desk.claim("c1", "alice")
        async with desk.bus.subscribe(conversation_channel("c1")) as customer:
            turn = await desk.reply("c1", "alice", "", [label, photo])
            event = live_event(customer.get_nowait(), notes=False)
        keys = [a["key"] for a in turn.attachments]
        assert len(set(keys)) == 2 and all(k.startswith(turn.message_id) for k in keys)
        assert [await desk.store.media("c1", k) for k in keys] == [
            ("application/pdf", label.data),
            ("image/png", photo.data),
        ]
        stored = (await desk.store.turns("c1"))[-1]
        assert Turn.from_dict(stored.to_dict()).attachments == turn.attachments
        assert event is not None
        (entry,) = event["entries"]
        assert entry["attachments"] == [
            {"key": keys[0], "media_type": "application/pdf", "name": "label.pdf", "size": 14},
            {"key": keys[1], "media_type": "image/png", "name": "parcel.png", "size": 11},
        ]
        kinds = [t.kind for t in await desk.store.turns("c1")]
        assert kinds.count("agent") == 1  # the early, refused reply stored nothing

    asyncio.run(run())


def test_the_acknowledgement_comes_once_and_only_while_waiting() -> None:
    async def run() -> None:
        desk = _desk(acknowledgement="One moment")
        await _waiting(desk)
        state = await desk.store.state("c1")
        assert (await desk.held_reply("c1", state)).text == "One moment"
        assert (await desk.held_reply("c1", await desk.store.state("c1"))).text == ""
        silent = _desk(acknowledgement=None)
        await _waiting(silent)
        assert (await silent.held_reply("c1", await silent.store.state("c1"))).text == ""

    asyncio.run(run())


def test_business_hours_and_the_out_of_hours_reply() -> None:
    hours = BusinessHours(days=[0], opens=clock(9), closes=clock(17), timezone="Europe/Paris")
    monday_10 = datetime(2026, 11, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    monday_18 = datetime(2026, 11, 30, 18, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    tuesday_10 = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Europe/Paris")).timestamp()
    assert is_open(hours, monday_10)
    assert not is_open(hours, monday_18) and not is_open(hours, tuesday_10)
    assert is_open(None, monday_18)
    desk = _desk(business_hours=hours.model_dump(), out_of_hours_reply="We're closed")
    handoff = Reply("A person will reply", handoff=True, answered_by="handoff")
    assert desk.handoff_reply(handoff, monday_10).text == "A person will reply"
    assert desk.handoff_reply(handoff, monday_18).text == "We're closed"


def test_sweep_reminds_once_then_resolves_the_inactive() -> None:
    async def run() -> None:
        desk = _desk(reminder_after_seconds=60, auto_resolve_after_seconds=3600)
        sent: list[dict[str, object]] = []
        desk.webhook_url = "http://hooks.invalid/handoff"
        desk.notifier.send = lambda url, event: sent.append(event)  # type: ignore[assignment,method-assign,return-value]
        await _waiting(desk)
        now = time.time()
        await desk.sweep(now + 30)
        assert sent == []
        await desk.sweep(now + 61)
        await desk.sweep(now + 62)
        assert [event["event"] for event in sent] == ["handoff_reminder"]
        assert sent[0]["conversation_id"] == "c1"
        await desk.sweep(now + 3601)
        assert (await desk.store.state("c1")).state == "resolved"

    asyncio.run(run())


def test_an_evicted_conversation_leaves_no_state_or_media_behind() -> None:
    async def run() -> None:
        store = InMemoryConversationStore(max_conversations=1)
        await store.create("c1", ConversationMeta(1.0))
        await store.swap_state("c1", 0, ConversationState("waiting", version=1))
        await store.keep_media("c1", "m1.0", "image/png", b"png")
        await store.create("c2", ConversationMeta(2.0))  # pushes c1 out
        assert await store.state("c1") == ConversationState()
        assert await store.handed_off() == []
        assert await store.media("c1", "m1.0") is None

    asyncio.run(run())
