"""Intake: validate, pseudonymise, de-duplicate, limit per caller, register.

Stage 1 (`intake_validate`, keyed by complaint_id): a submission that is not valid goes to
the dead letters with the reason; a valid one is re-keyed by the caller's pseudonym.
Stage 2 (`intake_register`, keyed by the pseudonym): one caller's submissions in order, so
duplicates and the daily limit are decided without races. Registered complaints go to the
lifecycle as ComplaintRegistered (no personal data); the phone and name go only to the
private contacts topic, for call-backs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents import stored
from core.intake import (
    check_routable,
    citizen_ref,
    decide_submission,
    duplicate_link,
    limit_reason,
    registration,
)
from core.routing import RoutingError
from schemas.contacts import CitizenContact
from schemas.events import ComplaintSubmitted, decode
from schemas.records import InvalidEvent
from streams.topics import COMPLAINTS_SUBMITTED, INTAKE_BY_CITIZEN

if TYPE_CHECKING:
    from agents.worker import Worker


def validate(w: Worker, raw: bytes, key: bytes | None) -> ComplaintSubmitted:
    submitted = decode(raw, allowed=(ComplaintSubmitted,))
    assert isinstance(submitted, ComplaintSubmitted)
    if reason := w.ahead_of_clock(submitted.occurred_at):
        raise InvalidEvent(reason)
    if key is None or key.decode(errors="replace") != submitted.complaint_id:
        raise InvalidEvent("the message key must be the complaint_id")
    try:
        check_routable(submitted)
    except RoutingError as exc:
        raise InvalidEvent(str(exc)) from None
    return submitted


async def handle_submission(w: Worker, event: Any) -> None:
    """Stage 1: a valid submission goes on, re-keyed by the caller's pseudonym."""
    if reason := w.oversized(event.message):
        await w.dead_letter(event.message, reason)
        return
    try:
        submitted = validate(w, event.value, event.message.key)
    except InvalidEvent as exc:
        await w.dead_letter(event.message, str(exc))
        return
    ref = citizen_ref(submitted.citizen_phone, w.settings.citizen_ref_key)
    await w.send(w.topics.by_citizen, ref.encode(), event.value)


async def handle_caller_submission(w: Worker, event: Any) -> None:
    """Stage 2: one caller's submissions in order: register, link a duplicate, or refuse
    one over the daily limit."""
    submitted = decode(event.value, allowed=(ComplaintSubmitted,))
    assert isinstance(submitted, ComplaintSubmitted)
    ref = event.message.key.decode()
    history = stored.decode_caller(w.tables.callers.get(ref))
    decision = decide_submission(history, submitted, w.intake_rules)
    if not decision.repeated:
        w.tables.callers[ref] = stored.encode_caller(decision.history)
    key = submitted.complaint_id.encode()
    outcome = decision.submission.outcome
    if outcome == "registered":
        contact = CitizenContact(complaint_id=submitted.complaint_id, citizen_ref=ref,
                                 citizen_phone=submitted.citizen_phone,
                                 citizen_name=submitted.citizen_name)
        await w.send(w.topics.contacts, key, contact.to_json())
        await w.send(w.topics.commands, key, registration(submitted, ref).to_json())
    elif outcome == "duplicate":
        linked = duplicate_link(submitted, decision.submission.linked_to or "")
        await w.send(w.topics.events, key, linked.to_json())
    else:
        await w.dead_letter(event.message, limit_reason(w.intake_rules),
                            submitted.complaint_id)
    w.observe_latency("intake", event.message)


def attach(w: Worker) -> None:
    async def intake_validate(stream: Any) -> None:
        async for event in w.inputs(stream, COMPLAINTS_SUBMITTED):
            await handle_submission(w, event)

    async def intake_register(stream: Any) -> None:
        async for event in w.inputs(stream, INTAKE_BY_CITIZEN):
            await handle_caller_submission(w, event)

    w.agents["intake_validate"] = w.app.agent(
        w.topics.submitted, name="intake_validate")(intake_validate)
    w.agents["intake_register"] = w.app.agent(
        w.topics.by_citizen, name="intake_register")(intake_register)
