"""Departments of the Government of Himachal Pradesh connected to the helpline.

A department has a responsible officer at some of the four escalation levels:
Block (1), Tehsil (2), District (3), State (4). Every department has one at the district and
the state; field departments (the ones citizens meet in their village: water, roads,
electricity, revenue, health...) also at the block and the tehsil; a second group works from
sub-division / tehsil offices (sub-treasuries, fire stations, transport licensing) and has no
block-level officer. A complaint to a department with no officer at a level skips that level
upward: a district-only department's complaint starts at the district.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

BLOCK_LEVEL = 1
TEHSIL_LEVEL = 2
DISTRICT_LEVEL = 3
STATE_LEVEL = 4
LEVELS: tuple[int, ...] = (BLOCK_LEVEL, TEHSIL_LEVEL, DISTRICT_LEVEL, STATE_LEVEL)

_FIELD = frozenset(LEVELS)
_TEHSIL = frozenset({TEHSIL_LEVEL, DISTRICT_LEVEL, STATE_LEVEL})
_DISTRICT = frozenset({DISTRICT_LEVEL, STATE_LEVEL})


class UnknownDepartment(ValueError):
    """A department code that is not in the directory."""


@dataclass(frozen=True)
class Department:
    code: str  # stable short code, uppercase ASCII: it is part of officer ids and events
    name: str
    levels: frozenset[int]

    def __post_init__(self) -> None:
        if not (self.code.isascii() and self.code.isalnum() and self.code.isupper()):
            raise ValueError(f"department code {self.code!r} must be uppercase ASCII")
        # Levels 3 and 4 always exist: the ladder must have somewhere to go.
        if not {DISTRICT_LEVEL, STATE_LEVEL} <= self.levels <= _FIELD:
            raise ValueError(f"department {self.code}: levels {sorted(self.levels)} invalid")


# The departments the helpline was reported to connect, plus other departments of the Government
# of Himachal Pradesh
# (56 were connected at launch, 74 after a year, as reported). Codes never change once issued.
# The number of officers follows from the tiers: a field department has about 200 posts, a
# tehsil-level one about 126, a district-only one 13, which lands near the reported 6,500.
DEPARTMENTS: tuple[Department, ...] = (
    # Field departments: an officer at every block and tehsil.
    Department("JSV", "Jal Shakti Vibhag (drinking water, irrigation, sewerage)", _FIELD),
    Department("PWD", "Public Works Department", _FIELD),
    Department("HPSEBL", "Himachal Pradesh State Electricity Board Ltd.", _FIELD),
    Department("REV", "Revenue", _FIELD),
    Department("HFW", "Health & Family Welfare", _FIELD),
    Department("EED", "Elementary Education", _FIELD),
    Department("HED", "Higher Education", _FIELD),
    Department("RD", "Rural Development", _FIELD),
    Department("PR", "Panchayati Raj", _FIELD),
    Department("POL", "Police", _FIELD),
    Department("FCS", "Food, Civil Supplies & Consumer Affairs", _FIELD),
    Department("UD", "Urban Development (municipal bodies)", _FIELD),
    Department("FOR", "Forests", _FIELD),
    Department("AGR", "Agriculture", _FIELD),
    Department("HORT", "Horticulture", _FIELD),
    Department("AH", "Animal Husbandry", _FIELD),
    Department("SJE", "Social Justice & Empowerment (pensions)", _FIELD),
    Department("WCD", "Women & Child Development", _FIELD),
    Department("COOP", "Cooperation", _FIELD),
    Department("AYUSH", "Ayush (Ayurveda)", _FIELD),
    Department("DTG", "Digital Technologies & Governance (Information Technology)", _FIELD),
    Department("DENT", "Dental Health Services", _FIELD),
    # Sub-division / tehsil offices, no block-level officer.
    Department("TRN", "Transport (registration and licensing)", _TEHSIL),
    Department("HRTC", "Himachal Road Transport Corporation (buses)", _TEHSIL),
    Department("LAB", "Labour & Employment", _TEHSIL),
    Department("EXC", "State Taxes & Excise", _TEHSIL),
    Department("FIRE", "Fire Services", _TEHSIL),
    Department("HG", "Home Guards & Civil Defence", _TEHSIL),
    Department("TRES", "Treasuries, Accounts & Lotteries", _TEHSIL),
    Department("MIN", "Industries - Geological Wing (Mining)", _TEHSIL),
    Department("TCP", "Town & Country Planning", _TEHSIL),
    Department("FISH", "Fisheries", _TEHSIL),
    Department("TD", "Tribal Development", _TEHSIL),
    Department("ELEC", "Election", _TEHSIL),
    Department("LM", "Legal Metrology (weights and measures)", _TEHSIL),
    # District and state only.
    Department("IND", "Industries", _DISTRICT),
    Department("TOUR", "Tourism", _DISTRICT),
    Department("ME", "Medical Education & Research", _DISTRICT),
    Department("TE", "Technical Education, Vocational & Industrial Training", _DISTRICT),
    Department("YSS", "Youth Services & Sports", _DISTRICT),
    Department("HOUS", "Housing", _DISTRICT),
    Department("LAC", "Language, Art & Culture", _DISTRICT),
    Department("PER", "Personnel", _DISTRICT),
    Department("FIN", "Finance", _DISTRICT),
    Department("PLAN", "Planning", _DISTRICT),
    Department("HOME", "Home", _DISTRICT),
    Department("LAW", "Law", _DISTRICT),
    Department("PARL", "Parliamentary Affairs", _DISTRICT),
    Department("PRNT", "Printing & Stationery", _DISTRICT),
    Department("EST", "Environment, Science, Technology & Climate Change", _DISTRICT),
    Department("DM", "Disaster Management", _DISTRICT),
    Department("MPP", "Multi-Purpose Projects & Power", _DISTRICT),
    Department("NCE", "Non-Conventional Energy (HIMURJA)", _DISTRICT),
    Department("CAV", "Civil Aviation", _DISTRICT),
    Department("GAD", "General Administration", _DISTRICT),
    Department("VIG", "Vigilance", _DISTRICT),
    Department("PRIS", "Prisons & Correctional Services", _DISTRICT),
    Department("SW", "Sainik Welfare", _DISTRICT),
    Department("IPR", "Information & Public Relations", _DISTRICT),
    Department("ESA", "Economics & Statistics", _DISTRICT),
)

_BY_CODE: MappingProxyType[str, Department] = MappingProxyType(
    {d.code: d for d in DEPARTMENTS}
)


def department(code: str) -> Department:
    """The department with this code (surrounding spaces and case are forgiven)."""
    found = _BY_CODE.get(code.strip().upper())
    if found is None:
        raise UnknownDepartment(f"unknown department code {code!r}")
    return found


def first_level_with_officer(department_code: str, from_level: int) -> int:
    """The lowest level >= from_level where the department has an officer.

    Never dead-ends: every department has an officer at the state level (4).
    """
    if from_level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {from_level!r}")
    levels = department(department_code).levels
    return min(level for level in levels if level >= from_level)
