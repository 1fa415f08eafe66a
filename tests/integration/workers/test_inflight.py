"""The liveness and sweep of ``fusiondesk.workers.inflight`` on a real Redis.

A database of its own (the fleet's workers use database 0), a short beat so that each test
takes about a second, and a recording restore in place of kombu's: what is tested here is who
gets swept and when. The default-settings tests (test_defaults.py) run the whole path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import kombu
import pytest
import redis
from kombu.transport import redis as kombu_redis

from fusiondesk.workers.inflight import (
    ALIVE_KEY_PREFIX,
    OWNERS_KEY,
    Liveness,
    inflight_key,
    track_deliveries,
)
from fusiondesk.workers.local import LocalRedis

pytestmark = [pytest.mark.integration]

BEAT_S = 0.2
TTL_S = 3 * BEAT_S


@pytest.fixture
def client(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    with redis.Redis(port=redis_server.port, db=7) as client:
        client.flushdb()
        yield client
        client.flushdb()


def _liveness(client: redis.Redis, owner: str, restored: list[str]) -> Liveness:
    return Liveness(client, owner, BEAT_S, TTL_S, restored.append)


def _hold(client: redis.Redis, owner: str, *tags: str) -> None:
    client.sadd(inflight_key(owner), *tags)


def test_a_dead_owners_messages_go_back_and_a_live_owners_stay(client: redis.Redis) -> None:
    restored: list[str] = []  # either running owner may be the one that sweeps
    sweeper = _liveness(client, "sweeper@t/1", restored)
    busy = _liveness(client, "busy@t/1", restored)
    dead = _liveness(client, "dead@t/1", [])
    for owner in (busy, dead):
        owner.beat()
    _hold(client, "busy@t/1", "b1")
    _hold(client, "dead@t/1", "d1", "d2")
    sweeper_thread, busy_thread = sweeper.start(), busy.start()
    try:
        started = time.monotonic()
        while client.scard(inflight_key("dead@t/1")):
            assert time.monotonic() - started < 5 * TTL_S, "the dead owner was not swept"
            time.sleep(0.02)
        # Its heartbeat expires after a TTL; the sweeper must have been in contact for one too.
        assert time.monotonic() - started >= TTL_S - BEAT_S
        assert sorted(restored) == ["d1", "d2"]
        assert b"dead@t/1" not in client.smembers(OWNERS_KEY)
        time.sleep(2 * TTL_S)  # the busy owner keeps beating from its own thread: never swept
        assert client.smembers(inflight_key("busy@t/1")) == {b"b1"}
        assert sorted(restored) == ["d1", "d2"]
    finally:
        sweeper.withdraw()
        busy.withdraw()
        sweeper_thread.join(1)
        busy_thread.join(1)


def test_no_sweep_until_in_contact_for_a_whole_ttl(client: redis.Redis) -> None:
    """After a Redis restart every heartbeat may have expired; live owners beat again first."""
    restored: list[str] = []
    sweeper = _liveness(client, "sweeper@t/2", restored)
    _hold(client, "quiet@t/2", "q1")
    client.sadd(OWNERS_KEY, "quiet@t/2")
    sweeper.beat()
    assert sweeper.sweep() == 0  # never in contact yet (run() keeps that clock)
    sweeper._in_contact_since = time.monotonic()
    assert sweeper.sweep() == 0
    sweeper._in_contact_since = time.monotonic() - TTL_S
    assert sweeper.sweep() == 1 and restored == ["q1"]


def test_one_sweeper_per_beat_across_the_fleet(client: redis.Redis) -> None:
    first_restored: list[str] = []
    second_restored: list[str] = []
    first = _liveness(client, "first@t/3", first_restored)
    second = _liveness(client, "second@t/3", second_restored)
    for owner in (first, second):
        owner.beat()
        owner._in_contact_since = time.monotonic() - TTL_S
    _hold(client, "gone@t/3", "g1")
    client.sadd(OWNERS_KEY, "gone@t/3")
    assert first.sweep() == 1
    _hold(client, "gone@t/3", "g2")  # a late tag, still there for the next beat
    client.sadd(OWNERS_KEY, "gone@t/3")
    assert second.sweep() == 0  # the lock is the first's for this beat
    time.sleep(BEAT_S)
    assert second.sweep() == 1
    assert (first_restored, second_restored) == (["g1"], ["g2"])


def test_withdraw_gives_back_what_the_owner_holds(client: redis.Redis) -> None:
    restored: list[str] = []
    owner = _liveness(client, "leaving@t/4", restored)
    owner.beat()
    _hold(client, "leaving@t/4", "l1")
    assert owner.withdraw() == 1
    assert restored == ["l1"]
    assert not client.exists(ALIVE_KEY_PREFIX + "leaving@t/4", inflight_key("leaving@t/4"))
    assert b"leaving@t/4" not in client.smembers(OWNERS_KEY)


def test_a_delivery_is_recorded_with_kombus_own_copy_and_a_dead_owners_goes_back(
    redis_server: LocalRedis, client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through a real kombu consumer: the tag is held exactly while kombu holds the message."""
    for method in ("append", "ack", "reject"):  # track_deliveries patches kombu for the process
        monkeypatch.setattr(kombu_redis.QoS, method, getattr(kombu_redis.QoS, method))
    track_deliveries(client, "taker@t/5")
    held = inflight_key("taker@t/5")
    with kombu.Connection(f"redis://127.0.0.1:{redis_server.port}/7") as connection:
        queue = connection.SimpleQueue("inflight-test")
        try:
            queue.put({"n": 1})
            first = queue.get(timeout=5)
            tag = first.delivery_tag
            assert client.smembers(held) == {tag.encode()}
            assert client.hexists("unacked", tag) and client.zscore("unacked_index", tag)

            # Its owner dies holding it: the sweep puts it back through kombu's restore.
            restore = connection.default_channel.qos.restore_by_tag
            owner = Liveness(client, "taker@t/5", BEAT_S, TTL_S, restore)
            assert owner.return_messages("taker@t/5") == 1
            again = queue.get(timeout=5)
            assert again.payload == {"n": 1}
            assert client.smembers(held) == {again.delivery_tag.encode()}

            again.ack()
            assert not client.exists(held)
            assert not client.hexists("unacked", again.delivery_tag)
        finally:
            queue.close()
