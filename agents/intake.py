"""Intake: validate, pseudonymise, de-duplicate, limit per caller, register.

Stage 1 (`intake_validate`, keyed by complaint_id): a submission that is not valid goes to
the dead letters with the reason; a valid one is re-keyed by the caller's pseudonym.
Stage 2 (`intake_register`, keyed by the pseudonym): one caller's submissions in order, so
duplicates and the daily limit are decided without races. Registered complaints go to the
lifecycle as ComplaintRegistered (no personal data); the phone and name go only to the
private contacts topic, for call-backs.
"""

from __future__ import annotations

from agents.offsets import in_order
from agents.runtime import (
    ahead_of_clock,
    by_citizen_topic,
    callers_table,
    commands_topic,
    contacts_topic,
    dead_letter,
    events_topic,
    intake_rules,
    observe_latency,
    oversized,
    submitted_topic,
)
from core.intake import CallerHistory, citizen_ref, decide_submission
from core.lifecycle import derived_id
from core.routing import RoutingError, locate, sla_days_for
from schemas.contacts import CitizenContact
from schemas.events import ComplaintRegistered, ComplaintSubmitted, DuplicateLinked, decode
from schemas.records import InvalidEvent
from streams.app import app, settings
from streams.topics import COMPLAINTS_SUBMITTED, INTAKE_BY_CITIZEN


def validate(raw: bytes, key: bytes | None) -> ComplaintSubmitted:
    submitted = decode(raw, allowed=(ComplaintSubmitted,))
    assert isinstance(submitted, ComplaintSubmitted)
    if reason := ahead_of_clock(submitted.occurred_at):
        raise InvalidEvent(reason)
    if key is None or key.decode(errors="replace") != submitted.complaint_id:
        raise InvalidEvent("the message key must be the complaint_id")
    try:
        sla_days_for(submitted.category)
        locate(submitted.district, submitted.block)
    except RoutingError as exc:
        raise InvalidEvent(str(exc)) from None
    return submitted


@app.agent(submitted_topic)
async def intake_validate(stream):
    async for event in in_order(stream.events(), COMPLAINTS_SUBMITTED.name):
        if reason := oversized(event.message):
            await dead_letter(event.message, reason)
            continue
        try:
            submitted = validate(event.value, event.message.key)
        except InvalidEvent as exc:
            await dead_letter(event.message, str(exc))
            continue
        ref = citizen_ref(submitted.citizen_phone, settings.citizen_ref_key)
        await by_citizen_topic.send(key=ref.encode(), value=event.value)


@app.agent(by_citizen_topic)
async def intake_register(stream):
    async for event in in_order(stream.events(), INTAKE_BY_CITIZEN.name):
        submitted = decode(event.value, allowed=(ComplaintSubmitted,))
        assert isinstance(submitted, ComplaintSubmitted)
        ref = event.message.key.decode()
        history = CallerHistory.from_dict(callers_table.get(ref))
        decision = decide_submission(history, submitted, intake_rules)
        if not decision.repeated:
            callers_table[ref] = decision.history.to_dict()
        key = submitted.complaint_id.encode()
        outcome = decision.submission.outcome
        if outcome == "registered":
            registered = ComplaintRegistered(
                event_id=derived_id(submitted.event_id, "registered"),
                complaint_id=submitted.complaint_id,
                occurred_at=submitted.occurred_at,
                channel=submitted.channel,
                category=submitted.category,
                district=submitted.district,
                block=submitted.block,
                text=submitted.text,
                citizen_ref=ref,
            )
            contact = CitizenContact(complaint_id=submitted.complaint_id, citizen_ref=ref,
                                     citizen_phone=submitted.citizen_phone,
                                     citizen_name=submitted.citizen_name)
            await contacts_topic.send(key=key, value=contact.to_json())
            await commands_topic.send(key=key, value=registered.to_json())
        elif outcome == "duplicate":
            linked = DuplicateLinked(
                event_id=derived_id(submitted.event_id, "duplicate"),
                complaint_id=submitted.complaint_id,
                occurred_at=submitted.occurred_at,
                duplicate_of=decision.submission.linked_to or "",
                channel=submitted.channel,
            )
            await events_topic.send(key=key, value=linked.to_json())
        else:
            await dead_letter(event.message, f"caller limit: more than "
                                             f"{intake_rules.daily_limit} complaints today")
        observe_latency("intake", event.message)
