"""Routing and the escalation ladder: which department, which place, which officer.

The ladder is Block (1) -> Tehsil (2) -> District (3) -> State (4). A department with no
officer at a level is skipped upward, so the ladder never dead-ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.reference import Block, category, department, find_block, first_level_with_officer

STATE_LEVEL = 4
LEVEL_NAMES = {1: "block", 2: "tehsil", 3: "district", 4: "state"}


class Directory(Protocol):
    """Who holds a post now (the directory changes at run time: transfers of officers)."""

    def responsible(self, department_code: str, level: int, block: Block): ...


class RoutingError(ValueError):
    """The complaint cannot be routed (unknown category, department or place)."""


@dataclass(frozen=True)
class Route:
    department: str
    district: str
    tehsil: str
    block: str
    level: int
    officer_id: str
    sla_days: int


def locate(district: str, block: str) -> Block:
    try:
        return find_block(district, block)
    except ValueError as exc:
        raise RoutingError(str(exc)) from None


def sla_days_for(category_code: str) -> int:
    try:
        return category(category_code).sla_working_days
    except ValueError as exc:
        raise RoutingError(str(exc)) from None


def check_department(code: str) -> str:
    try:
        return department(code).code
    except ValueError as exc:
        raise RoutingError(str(exc)) from None


def officer_at(directory: Directory, department_code: str, level: int, place: Block) -> str:
    officer = directory.responsible(department_code, level, place)
    if officer is None:
        raise RoutingError(
            f"no officer holds the post {department_code} level {level} for {place.name}"
        )
    return officer.officer_id


def assign(directory: Directory, department_code: str, place: Block, at_least_level: int,
           sla_days: int) -> Route:
    level = first_level_with_officer(department_code, at_least_level)
    return Route(
        department=department_code,
        district=place.district,
        tehsil=place.tehsil,
        block=place.name,
        level=level,
        officer_id=officer_at(directory, department_code, level, place),
        sla_days=sla_days,
    )


def route_new(directory: Directory, category_code: str, district: str, block: str) -> Route:
    """Category -> department; location -> block, tehsil, district; the first-level officer."""
    try:
        cat = category(category_code)
    except ValueError as exc:
        raise RoutingError(str(exc)) from None
    return assign(directory, cat.department_code, locate(district, block), 1,
                  cat.sla_working_days)


def next_level(department_code: str, level: int) -> int | None:
    """The level above on this department's ladder, or None at the state level."""
    if level >= STATE_LEVEL:
        return None
    return first_level_with_officer(department_code, level + 1)
