"""The agents, driven in-process on Faust's in-memory tables (`agent.test_context()`,
store memory://): what they send, store and dead-letter, the outbox re-sent on a
redelivery, and the read frontier's repeats and jumps. Seconds, not a broker: the
integration and fault tests prove the same paths on a real Kafka."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from faust.types import TP

from agents import stored
from agents.deadlines import fire_due, rebuild_index
from agents.factory import create_worker
from agents.worker import Worker
from core.reference import CATEGORIES
from core.routing import route_new
from schemas.events import (
    CitizenFeedback,
    ClockTick,
    CommandRejected,
    ComplaintAssigned,
    ComplaintRegistered,
    ComplaintSubmitted,
    Event,
    OfficerActed,
    SlaWarning,
    decode,
)
from streams.settings import Settings

T0 = datetime(2026, 3, 2, 4, 30, tzinfo=UTC)  # Monday 10:00 IST
SHIMLA_THEOG = ("Shimla", "Theog")
CATEGORY = "drinking_water_supply"


class FakeConsumer:
    """Stands in for the Faust consumer (agents/faust_adapter.ConsumerAccess): the offsets
    it last committed, and the seeks asked of it."""

    def __init__(self) -> None:
        self.committed: dict[Any, int] = {}
        self.log_start_offset = 0
        self.seeks: list[tuple[Any, int]] = []
        self.cap = None

    def committed_offset(self, tp: Any) -> int | None:
        return self.committed.get(tp)

    async def broker_committed(self, tp: Any) -> int | None:
        return None

    async def log_start(self, tp: Any) -> int:
        return self.log_start_offset

    async def seek(self, tp: Any, offset: int) -> None:
        self.seeks.append((tp, offset))

    def cap_commits(self, cap: Any) -> None:
        self.cap = cap


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: bytes

    def event(self) -> Event:
        return decode(self.value)


@dataclass
class Rig:
    worker: Worker
    consumer: FakeConsumer
    sent: list[Sent] = field(default_factory=list)

    def on(self, topic: str) -> list[Sent]:
        return [s for s in self.sent if s.topic == self.worker.settings.topic(topic)]

    def events(self) -> list[Event]:
        return [s.event() for s in self.on("complaints.events.v1")]

    def dead_letters(self) -> list[dict]:
        return [json.loads(s.value) for s in self.on("complaints.deadletter.v1")]

    def take(self) -> list[Sent]:
        out, self.sent = self.sent, []
        return out


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    yield make_rig(tmp_path)


def make_rig(tmp_path: Path, **overrides: Any) -> Rig:
    settings = Settings.from_env({}).with_overrides(
        kafka_bootstrap_servers="127.0.0.1:1",  # never contacted: nothing here connects
        table_store="memory://", worker_data_dir=tmp_path, clock="event",
        topic_prefix="unit.", app_id="unit", metrics_port=0, **overrides)
    consumer = FakeConsumer()
    worker = create_worker(settings, consumer=consumer, with_smoke=False)
    rig = Rig(worker, consumer)

    async def record(topic: Any, key: bytes | None, value: bytes) -> asyncio.Future:
        rig.sent.append(Sent(topic.get_topic_name(), key, value))
        acknowledged = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)  # as the broker's acknowledgement would
        return acknowledged

    worker.send = record  # type: ignore[method-assign]
    return rig


@asynccontextmanager
async def driving(rig: Rig, agent: str) -> AsyncIterator[Any]:
    async with rig.worker.agents[agent].test_context() as test_agent:
        yield test_agent


async def put(agent: Any, value: bytes, key: bytes | None, *, offset: int | None = None,
              partition: int = 0) -> None:
    """Deliver one message at `offset` (the next one by default) and let the agent finish."""
    if offset is not None:
        agent.sent_offset = offset
    await agent.put(value, key=key, partition=partition)
    for _ in range(5):
        await asyncio.sleep(0)


def registered(cid: str = "HP-1", at: datetime = T0, event_id: str = "reg-1") -> bytes:
    district, block = SHIMLA_THEOG
    return ComplaintRegistered(
        event_id=event_id, complaint_id=cid, occurred_at=at, channel="phone_1100",
        category=CATEGORY, district=district, block=block, text="पानी नहीं आ रहा",
        citizen_ref="ref-1").to_json()


def submitted(cid: str, phone: str = "9816000001", category: str = CATEGORY,
              at: datetime = T0) -> bytes:
    district, block = SHIMLA_THEOG
    return ComplaintSubmitted(
        event_id=f"sub-{cid}", complaint_id=cid, occurred_at=at, channel="phone_1100",
        category=category, district=district, block=block, text="सड़क टूटी है",
        citizen_phone=phone, citizen_name="परीक्षण नागरिक").to_json()


def same_output(sent: Sent) -> tuple:
    """What a consumer compares: the bytes, but for a dead letter its id and reason (its
    received_at is the moment it was written)."""
    if sent.topic.endswith("deadletter.v1"):
        letter = json.loads(sent.value)
        return sent.topic, letter["event_id"], letter["reason"]
    return sent.topic, sent.value


def commands_tp(rig: Rig, partition: int = 0) -> TP:
    return TP(rig.worker.topics.commands.get_topic_name(), partition)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# --- lifecycle ------------------------------------------------------------------------


def test_a_registration_is_stored_scheduled_and_published(rig):
    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, registered(), b"HP-1")

    run(scenario())
    events = rig.events()
    assert [type(e) for e in events] == [ComplaintAssigned]
    [state] = [json.loads(s.value) for s in rig.on("complaints.state.v1")]
    assert (state["complaint_id"], state["status"], state["level"]) == ("HP-1", "assigned", 1)
    raw = rig.worker.tables.complaints["HP-1"]
    state, outbox = stored.decode(raw)
    assert state.status == "assigned"
    assert [entry["offset"] for entry in outbox] == [0]
    # the first warning's moment, stored with the state and in the timer's index
    wake = stored.wake_of(raw, rig.worker.context.policy)
    assert wake is not None and wake == rig.worker.time_index.when("HP-1")
    assert len(rig.worker.time_index) == 1


def test_a_redelivered_command_sends_its_stored_outputs_again_and_decides_nothing(rig):
    """After a crash the table may be ahead of what was published: the redelivery finds
    its offset in the outbox and sends the same events (same ids) and snapshot again."""
    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, registered(), b"HP-1")
            first = rig.take()
            rig.worker.reader.forget()  # a restart: the frontier starts from the commit
            await put(agent, registered(), b"HP-1", offset=0)
            return first

    first = run(scenario())
    again = rig.take()
    assert [(s.topic, s.key, s.value) for s in again] == [
        (s.topic, s.key, s.value) for s in first]
    assert stored.decode(rig.worker.tables.complaints["HP-1"])[0].version == 1


def test_the_outbox_keeps_only_what_is_not_yet_committed(rig):
    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, registered(), b"HP-1")
            for offset in (1, 2):
                await put(agent, ClockTick(event_id=f"t{offset}", complaint_id="HP-1",
                                           occurred_at=T0 + timedelta(days=offset * 3)
                                           ).to_json(), b"HP-1")
            rig.consumer.committed[commands_tp(rig)] = 3
            await put(agent, ClockTick(event_id="t3", complaint_id="HP-1",
                                       occurred_at=T0 + timedelta(days=12)).to_json(), b"HP-1")

    run(scenario())
    _, outbox = stored.decode(rig.worker.tables.complaints["HP-1"])
    assert [entry["offset"] for entry in outbox] == [2, 3]


def test_a_repeat_is_skipped_and_a_jump_reads_again_from_the_first_missed_offset(rig):
    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, registered("HP-1"), b"HP-1")
            await put(agent, registered("HP-2", event_id="reg-2"), b"HP-2")
            rig.take()
            await put(agent, registered("HP-2", event_id="reg-2"), b"HP-2", offset=1)
            repeat = rig.take()
            await put(agent, registered("HP-9", event_id="reg-9"), b"HP-9", offset=7)
            jump = rig.take()
            return repeat, jump

    repeat, jump = run(scenario())
    tp = commands_tp(rig)
    assert repeat == []  # offset 1 was handled already
    assert jump == []  # offset 7 arrived while 2 was expected: not handled ...
    assert rig.consumer.seeks == [(tp, 2)]  # ... the consumer reads again from 2
    assert "HP-9" not in rig.worker.tables.complaints
    jumps = rig.worker.metrics.registry.get_sample_value(
        "sankalp_worker_offset_jumps_total", {"topic": "complaints.commands.v1"})
    assert jumps == 1
    # and Faust may not commit past the frontier, whatever it proposes
    assert rig.consumer.cap(tp, 8) == 2
    assert rig.consumer.cap(tp, 1) == 1


def test_bad_input_gets_a_dead_letter_with_the_reason_and_the_agent_carries_on(rig):
    big = b"{" + b" " * (rig.worker.settings.max_payload_bytes + 10) + b"}"

    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, b"not json", b"HP-1")
            await put(agent, registered("HP-1"), b"HP-OTHER")
            await put(agent, big, b"HP-1")
            await put(agent, registered("HP-1"), b"HP-1")

    run(scenario())
    reasons = [d["reason"] for d in rig.dead_letters()]
    assert len(reasons) == 3
    assert "JSON" in reasons[0] or "json" in reasons[0]
    assert reasons[1] == "the message key must be the complaint_id"
    assert "SANKALP_MAX_PAYLOAD_BYTES" in reasons[2]
    assert [d["source_offset"] for d in rig.dead_letters()] == [0, 1, 2]
    # keyed by the complaint id when one can be read (the wrong key's payload names
    # HP-1), else by the original key (unparsable, or oversized and never parsed)
    assert [s.key for s in rig.on("complaints.deadletter.v1")] == [b"HP-1"] * 3
    assert [d["key"] for d in rig.dead_letters()] == ["HP-1"] * 3
    assert stored.decode(rig.worker.tables.complaints["HP-1"])[0].status == "assigned"


def test_a_refused_command_is_dead_lettered_and_refused_again_on_redelivery(rig):
    stranger = OfficerActed(event_id="act-1", complaint_id="HP-1",
                            occurred_at=T0 + timedelta(hours=1), officer_id="OFF-STRANGER",
                            action="resolution_proposed").to_json()

    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, registered(), b"HP-1")
            rig.take()
            await put(agent, stranger, b"HP-1")
            first = rig.take()
            rig.worker.reader.forget()  # a restart: the group had committed offset 1
            rig.consumer.committed[commands_tp(rig)] = 1
            await put(agent, stranger, b"HP-1", offset=1)
            return first

    first = run(scenario())
    again = rig.take()
    assert [type(s.event()) for s in first if s.topic.endswith("events.v1")] == [
        CommandRejected]
    letters = [json.loads(s.value) for s in first if s.topic.endswith("deadletter.v1")]
    assert [d["reason"] for d in letters] == ["refused: only the responsible officer may act"]
    assert [same_output(s) for s in again] == [same_output(s) for s in first]
    assert not any(s.topic.endswith("state.v1") for s in first)  # nothing a reader sees


def test_the_timer_sends_a_tick_for_each_due_complaint(rig):
    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, registered(), b"HP-1")
            rig.take()
            rig.worker.clock.observe(T0 + timedelta(days=30))
            ticks = await fire_due(rig.worker)
            sent = rig.take()
            for s in sent:
                await put(agent, s.value, s.key)
            return ticks, sent

    ticks, sent = run(scenario())
    assert ticks == 1
    [tick] = [decode(s.value) for s in sent]
    assert isinstance(tick, ClockTick) and tick.complaint_id == "HP-1"
    assert any(isinstance(e, SlaWarning) for e in rig.events())


# --- intake ---------------------------------------------------------------------------


def test_intake_rekeys_a_valid_submission_by_the_callers_pseudonym(rig):
    async def scenario():
        async with driving(rig, "intake_validate") as agent:
            await put(agent, submitted("HP-7"), b"HP-7")
            await put(agent, submitted("HP-8", category="no_such_category"), b"HP-8")

    run(scenario())
    [forwarded] = rig.on("complaints.intake-by-citizen.v1")
    assert forwarded.key is not None and b"9816000001" not in forwarded.key
    [letter] = rig.dead_letters()
    assert "no_such_category" in letter["reason"]
    assert "9816000001" not in letter["reason"]


def test_intake_registers_links_a_duplicate_and_limits_a_caller(rig):
    limit = rig.worker.intake_rules.daily_limit
    categories = [c.code for c in CATEGORIES][:limit + 1]

    async def scenario():
        async with driving(rig, "intake_register") as agent:
            for n, category in enumerate(categories):
                await put(agent, submitted(f"HP-{n}", category=category,
                                           at=T0 + timedelta(minutes=n)), b"ref-1")
            await put(agent, submitted("HP-DUP", category=categories[0],
                                       at=T0 + timedelta(hours=1)), b"ref-2")
            await put(agent, submitted("HP-DUP2", category=categories[0],
                                       at=T0 + timedelta(hours=2)), b"ref-2")

    run(scenario())
    commands = [decode(s.value) for s in rig.on("complaints.commands.v1")]
    assert [c.complaint_id for c in commands] == [*(f"HP-{n}" for n in range(limit)), "HP-DUP"]
    assert all(isinstance(c, ComplaintRegistered) and c.citizen_ref in ("ref-1", "ref-2")
               for c in commands)
    contacts = rig.on("citizens.contacts.v1")
    assert len(contacts) == limit + 1  # the phone goes only to the private topic
    assert all(b"9816000001" not in s.value for s in rig.sent
               if not s.topic.endswith("citizens.contacts.v1"))
    [linked] = rig.events()
    assert (linked.EVENT_TYPE, linked.complaint_id) == ("complaint.duplicate_linked", "HP-DUP2")
    [letter] = rig.dead_letters()
    assert letter["reason"] == f"caller limit: more than {limit} complaints today"
    # refused on the caller-keyed topic, yet keyed by the complaint, not the pseudonym
    [sent] = rig.on("complaints.deadletter.v1")
    assert sent.key == f"HP-{limit}".encode() and letter["key"] == f"HP-{limit}"


def test_a_dead_letter_is_keyed_by_the_complaint_id_it_can_read(rig):
    """Whatever topic refused it, a letter sits under the complaint's key when the payload
    names one (even an invalid payload), and under the original key when it does not."""
    unknown_field = json.loads(submitted("HP-5"))
    unknown_field["priority"] = "high"

    async def scenario():
        async with driving(rig, "intake_validate") as agent:
            await put(agent, json.dumps(unknown_field).encode(), b"HP-5")
            await put(agent, submitted("HP-6"), b"wrong-key")
            await put(agent, b"{broken", b"HP-7")
            await put(agent, b'{"complaint_id": 12}', None)

    run(scenario())
    keys = [(s.key, json.loads(s.value)["key"]) for s in rig.on("complaints.deadletter.v1")]
    assert keys == [(b"HP-5", "HP-5"), (b"HP-6", "HP-6"), (b"HP-7", "HP-7"), (None, None)]


# --- commands that overtake their registration ------------------------------------------


def officer_of(rig: Rig) -> str:
    district, block = SHIMLA_THEOG
    return route_new(rig.worker.context.directory, CATEGORY, district, block).officer_id


def test_a_command_before_its_registration_is_held_then_applied_in_order(rig):
    """The officer's proposal overtook the registration: it is held in the complaint's
    table value (changelog-backed: a restart finds it), nothing is refused, and the
    registration applies it right after, as of its own time."""
    acted = OfficerActed(event_id="act-1", complaint_id="HP-1",
                         occurred_at=T0 + timedelta(hours=3), officer_id=officer_of(rig),
                         action="resolution_proposed").to_json()

    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, acted, b"HP-1")
            held = rig.take()
            raw = rig.worker.tables.complaints["HP-1"]
            # a restart: memory is rebuilt from the stored values alone
            rig.worker.reader.forget()
            rig.consumer.committed[commands_tp(rig)] = 1
            rig.worker.held_counts.clear()
            rig.worker.index_needs_rebuild = True
            rebuild_index(rig.worker)
            counted = dict(rig.worker.held_counts)
            await put(agent, registered(), b"HP-1")
            return held, raw, counted

    held, raw, counted = run(scenario())
    assert held == []  # no refusal, no dead letter, no state: held
    assert stored.decode(raw)[0] is None
    [kept] = stored.decode_held(raw)
    assert (kept.offset, kept.command.event_id) == (0, "act-1")
    assert counted == {0: 1}
    assert stored.wake_of(raw, rig.worker.context.policy) == (
        T0 + timedelta(hours=3) + rig.worker.held_max_age)
    kinds = [e.EVENT_TYPE for e in rig.events()]
    assert kinds == ["complaint.assigned", "complaint.officer_action", "callback.requested"]
    state, _ = stored.decode(rig.worker.tables.complaints["HP-1"])
    assert state.status == "resolution_proposed" and state.updated_at == T0 + timedelta(hours=3)
    assert stored.decode_held(rig.worker.tables.complaints["HP-1"]) == ()
    assert rig.worker.held_counts == {0: 0}
    assert rig.dead_letters() == []


def test_a_held_command_whose_registration_never_comes_is_dead_lettered_where_it_came(rig):
    ghost = OfficerActed(event_id="act-9", complaint_id="HP-9", occurred_at=T0,
                         officer_id="OFF-X", action="acknowledged").to_json()

    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, registered(), b"HP-1")
            await put(agent, ghost, b"HP-9")
            rig.take()
            rig.worker.clock.observe(T0 + rig.worker.held_max_age)
            await fire_due(rig.worker)  # the expiry's tick, through the partition
            for s in rig.take():
                await put(agent, s.value, s.key)

    run(scenario())
    [letter] = rig.dead_letters()
    assert (letter["source_offset"], letter["key"]) == (1, "HP-9")
    assert letter["reason"].startswith("refused: no such complaint is registered (held")
    assert json.loads(base64.b64decode(letter["original_base64"]))["event_id"] == "act-9"
    [rejected] = rig.events()
    assert isinstance(rejected, CommandRejected) and rejected.rejected_event_id == "act-9"
    assert stored.decode_held(rig.worker.tables.complaints["HP-9"]) == ()
    assert rig.worker.held_counts == {0: 0}


def test_past_the_partitions_bound_a_command_is_refused_at_once(tmp_path):
    rig = make_rig(tmp_path, held_commands_per_partition=1)

    def ghost(n: int) -> bytes:
        return CitizenFeedback(event_id=f"fb-{n}", complaint_id=f"HP-{n}", occurred_at=T0,
                               outcome="satisfied").to_json()

    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, ghost(1), b"HP-1")
            await put(agent, ghost(2), b"HP-2")

    run(scenario())
    [letter] = rig.dead_letters()
    assert letter["key"] == "HP-2" and "SANKALP_HELD_COMMANDS_PER_PARTITION" in letter["reason"]
    assert "HP-2" not in rig.worker.tables.complaints
    assert len(stored.decode_held(rig.worker.tables.complaints["HP-1"])) == 1


# --- the escalation subscribers' topic ---------------------------------------------------


def test_escalations_go_to_their_own_topic_too_with_the_same_bytes(rig):
    """An escalation and, once escalated, the close: on complaints.escalations.v1 as on
    the events topic (same records, same ids, keyed by the complaint); nothing else. A
    redelivery re-sends them there too (the same outbox entry)."""
    async def scenario():
        async with driving(rig, "lifecycle") as agent:
            await put(agent, registered(), b"HP-1")
            await put(agent, registered("HP-2", event_id="reg-2"), b"HP-2")
            await put(agent, ClockTick(event_id="late", complaint_id="HP-1",
                                       occurred_at=T0 + timedelta(days=90)).to_json(), b"HP-1")
            state, _ = stored.decode(rig.worker.tables.complaints["HP-1"])
            for n, (cid, officer, at) in enumerate((
                    (b"HP-1", state.officer_id, T0 + timedelta(days=90, hours=1)),
                    (b"HP-2", officer_of(rig), T0 + timedelta(hours=1)))):
                await put(agent, OfficerActed(
                    event_id=f"fix-{n}", complaint_id=cid.decode(), occurred_at=at,
                    officer_id=officer, action="resolution_proposed").to_json(), cid)
                await put(agent, CitizenFeedback(
                    event_id=f"ok-{n}", complaint_id=cid.decode(),
                    occurred_at=at + timedelta(hours=1), outcome="satisfied").to_json(), cid)
            first = rig.take()
            rig.worker.reader.forget()  # a restart before the tick's offset was committed
            rig.consumer.committed[commands_tp(rig)] = 2
            await put(agent, ClockTick(event_id="late", complaint_id="HP-1",
                                       occurred_at=T0 + timedelta(days=90)).to_json(), b"HP-1",
                      offset=2)
            return first

    first = run(scenario())
    on_events = {s.value for s in first if s.topic.endswith("complaints.events.v1")}
    escalated = [s for s in first if s.topic.endswith("complaints.escalations.v1")]
    kinds = [(s.key, s.event().EVENT_TYPE) for s in escalated]
    assert kinds[-1] == (b"HP-1", "complaint.closed")  # HP-2, never escalated: not there
    assert {k for k in kinds[:-1]} == {(b"HP-1", "complaint.escalated"),
                                       (b"HP-1", "complaint.overdue_at_state")}
    assert all(s.value in on_events for s in escalated)
    again = [s for s in rig.take() if s.topic.endswith("complaints.escalations.v1")]
    assert [s.value for s in again] == [s.value for s in escalated[:-1]]
