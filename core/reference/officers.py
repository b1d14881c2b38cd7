"""The officer directory: who holds each post on the escalation ladder.

A post is (department, level, unit): the unit is a block at level 1, a tehsil at level 2, a
district at level 3 and the whole state at level 4. There is a post wherever the department
has presence at that level, and one officer per post. Officers are identified by role, never
by person: no names, no phone numbers (those are personal data and change with transfers).

The seed directory is deterministic, so every worker, test and replay sees the same ids. At
run time officers are transferred: a new officer takes a post (`upsert`) or a post falls
vacant (`remove`); `OfficerDirectory` applies such changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType

from core.reference.departments import (
    BLOCK_LEVEL,
    DEPARTMENTS,
    DISTRICT_LEVEL,
    LEVELS,
    STATE_LEVEL,
    TEHSIL_LEVEL,
    department,
)
from core.reference.geography import DISTRICTS, Block, find_block, has_tehsil


class VacantPost(LookupError):
    """No officer holds this post (it does not exist, or its holder was removed)."""


class InvalidPost(ValueError):
    """An officer record names a post that cannot exist (unknown place, or no presence)."""


@dataclass(frozen=True)
class Post:
    """A seat on the ladder; the fields below the post's unit are None."""

    department_code: str
    level: int
    district: str | None
    tehsil: str | None
    block: str | None


@dataclass(frozen=True)
class Officer:
    officer_id: str
    department_code: str
    level: int
    district: str | None  # None at the state level
    tehsil: str | None  # None at the district and state levels
    block: str | None  # None above the block level
    designation: str

    @property
    def post(self) -> Post:
        return Post(self.department_code, self.level, self.district, self.tehsil, self.block)


def post_of(department_code: str, level: int, district: str | None, tehsil: str | None,
            block: str | None) -> Post:
    """The post at `level` for a place; the place's finer parts are dropped above their level.

    So a complaint's full location (district, tehsil, block) names its post at any level.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    return Post(
        department_code,
        level,
        district if level <= DISTRICT_LEVEL else None,
        tehsil if level <= TEHSIL_LEVEL else None,
        block if level == BLOCK_LEVEL else None,
    )


def post_for(department_code: str, level: int, block: Block) -> Post:
    """The post responsible at `level` for a complaint from `block`."""
    return post_of(department_code, level, block.district, block.tehsil, block.name)


def _id_part(text: str) -> str:
    # Officer ids are ASCII uppercase with '-' for anything else, so they are safe as Kafka
    # keys, Postgres text and file names: "Lahaul & Spiti" -> "LAHAUL-SPITI".
    return re.sub(r"[^A-Z0-9]+", "-", text.upper()).strip("-")


def officer_id(post: Post) -> str:
    """The seed id of the officer holding `post`, e.g. OFF-JSV-L1-SHIMLA-THEOG."""
    if post.level == STATE_LEVEL:
        parts = ["STATE"]
    elif post.level == DISTRICT_LEVEL:
        parts = [post.district or ""]
    elif post.level == TEHSIL_LEVEL:
        parts = [post.district or "", post.tehsil or ""]
    else:
        parts = [post.district or "", post.block or ""]
    unit = "-".join(_id_part(p) for p in parts)
    return f"OFF-{_id_part(post.department_code)}-L{post.level}-{unit}"


# Designations by level; departments whose field titles differ override them below.
_DEFAULT_DESIGNATIONS: dict[int, str] = {
    BLOCK_LEVEL: "Block-level Officer",
    TEHSIL_LEVEL: "Sub-Divisional Officer",
    DISTRICT_LEVEL: "District Head",
    STATE_LEVEL: "Secretary / Head of Department",
}
_ENGINEERS = ("Junior Engineer", "Assistant Engineer", "Executive Engineer", "Engineer-in-Chief")
# (level 1, level 2, level 3, level 4); None keeps the default for that level.
_DESIGNATIONS: dict[str, tuple[str | None, str | None, str | None, str | None]] = {
    "JSV": _ENGINEERS,
    "PWD": _ENGINEERS,
    "HPSEBL": ("Junior Engineer (Electrical)", "Assistant Engineer (Electrical)",
               "Executive Engineer (Electrical)", "Chief Engineer (Operations)"),
    "REV": ("Naib Tehsildar", "Tehsildar", "Deputy Commissioner", None),
    "RD": ("Block Development Officer", "Sub-Divisional Officer (Civil)",
           "Project Officer, DRDA", None),
    "PR": ("Block Development Officer (Panchayat Samiti)", "Sub-Divisional Officer (Civil)",
           "District Panchayat Officer", "Director, Panchayati Raj"),
    "POL": ("Station House Officer", "Sub-Divisional Police Officer",
            "Superintendent of Police", "Director General of Police"),
    "FCS": ("Inspector, Food & Supplies", None, "District Food & Supplies Controller", None),
    "HFW": ("Block Medical Officer", "Senior Medical Officer", "Chief Medical Officer",
            "Director of Health Services"),
    "EED": ("Block Elementary Education Officer", None,
            "Deputy Director of Elementary Education", "Director of School Education"),
    "HED": ("Principal, Government Senior Secondary School", None,
            "Deputy Director of Higher Education", "Director of School Education"),
    "UD": ("Secretary, Nagar Panchayat", "Executive Officer, Municipal Council",
           "Project Officer, District Urban Development Agency", None),
    "FOR": ("Range Forest Officer", "Divisional Forest Officer", "Conservator of Forests",
            "Principal Chief Conservator of Forests"),
    "AGR": ("Agriculture Development Officer", "Subject Matter Specialist (Agriculture)",
            "Deputy Director of Agriculture", "Director of Agriculture"),
    "HORT": ("Horticulture Development Officer", "Subject Matter Specialist (Horticulture)",
             "Deputy Director of Horticulture", "Director of Horticulture"),
    "AH": ("Veterinary Officer", "Senior Veterinary Officer",
           "Deputy Director of Animal Husbandry", "Director of Animal Husbandry"),
    "SJE": ("Welfare Extension Officer", "Tehsil Welfare Officer", "District Welfare Officer",
            None),
    "WCD": ("Child Development Project Officer", None, "District Programme Officer", None),
    "COOP": ("Cooperative Inspector", "Assistant Registrar, Cooperative Societies",
             "Deputy Registrar, Cooperative Societies", "Registrar, Cooperative Societies"),
    "AYUSH": ("Block Ayurvedic Medical Officer", None, "District Ayurvedic Officer",
              "Director of Ayush"),
    "DTG": ("Block e-Governance Coordinator", None, "District e-Governance Manager", None),
    "DENT": ("Dental Surgeon", "Senior Dental Surgeon", None, None),
    "TRN": (None, "Registering & Licensing Authority", "Regional Transport Officer", None),
    "HRTC": (None, "Regional Manager (Depot)", "Divisional Manager", "Managing Director"),
    "LAB": (None, "Labour Inspector", "Labour Officer", None),
    "EXC": (None, "Excise & Taxation Officer", "Deputy Commissioner, State Taxes & Excise",
            None),
    "FIRE": (None, "Station Fire Officer", "Divisional Fire Officer", None),
    "HG": (None, "Company Commander", "Commandant, Home Guards", None),
    "TRES": (None, "Sub-Treasury Officer", "District Treasury Officer", None),
    "MIN": (None, "Mining Inspector", "Mining Officer", None),
    "TCP": (None, "Assistant Town Planner", "Town Planner", None),
    "FISH": (None, "Fisheries Officer", "Assistant Director of Fisheries", None),
    "ELEC": (None, "Electoral Registration Officer", "District Election Officer", None),
    "LM": (None, "Inspector, Legal Metrology", "Assistant Controller, Legal Metrology", None),
}
# Secretariat departments act in the districts through the Deputy Commissioner's office.
for _code in ("PER", "FIN", "PLAN", "HOME", "LAW", "PARL", "PRNT", "GAD", "DM"):
    _DESIGNATIONS[_code] = (None, None, "Deputy Commissioner's Office", None)


def designation(department_code: str, level: int) -> str:
    """The title of the officer at `level` in this department (no personal names)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    specific = _DESIGNATIONS.get(department_code, (None, None, None, None))[level - 1]
    return specific or _DEFAULT_DESIGNATIONS[level]


def _seed_officer(post: Post) -> Officer:
    return Officer(officer_id(post), post.department_code, post.level, post.district,
                   post.tehsil, post.block, designation(post.department_code, post.level))


def _posts() -> Iterator[Post]:
    # Department by department; state first, then each district with its tehsils and blocks.
    # Only the literal tables' order is used (never set iteration), so the order is stable.
    for dept in DEPARTMENTS:
        levels = dept.levels
        yield post_of(dept.code, STATE_LEVEL, None, None, None)
        for dist in DISTRICTS:
            yield post_of(dept.code, DISTRICT_LEVEL, dist.name, None, None)
            if TEHSIL_LEVEL in levels:
                for tehsil in dist.tehsils:
                    yield post_of(dept.code, TEHSIL_LEVEL, dist.name, tehsil, None)
            if BLOCK_LEVEL in levels:
                for blk in dist.blocks:
                    yield post_for(dept.code, BLOCK_LEVEL, blk)


def build_officer_directory() -> tuple[Officer, ...]:
    """One officer for every post; the same officers in the same order on every call."""
    return tuple(_seed_officer(post) for post in _posts())


@cache
def _possible_posts() -> frozenset[Post]:
    return frozenset(_posts())


def validate_post(post: Post) -> None:
    """Raise InvalidPost unless the post can exist: known place, department present there."""
    if post in _possible_posts():
        return
    # Not a post: find the reason, for a message an operator can act on.
    try:
        dept = department(post.department_code)
    except ValueError as exc:
        raise InvalidPost(str(exc)) from None
    if post.department_code != dept.code:
        raise InvalidPost(f"department code {post.department_code!r} is not canonical")
    if post.level not in dept.levels:
        raise InvalidPost(f"department {dept.code} has no officer at level {post.level}")
    if post != post_of(post.department_code, post.level, post.district, post.tehsil,
                       post.block):
        raise InvalidPost(f"post {post} names a unit finer than its level")
    if post.level == STATE_LEVEL:
        return
    if post.district is None or not any(d.name == post.district for d in DISTRICTS):
        raise InvalidPost(f"post {post}: unknown district {post.district!r}")
    if post.level == TEHSIL_LEVEL and (
        post.tehsil is None or not has_tehsil(post.district, post.tehsil)
    ):
        raise InvalidPost(f"post {post}: no tehsil {post.tehsil!r} in {post.district}")
    if post.level == BLOCK_LEVEL:
        try:
            blk = find_block(post.district, post.block or "")
        except ValueError as exc:
            raise InvalidPost(str(exc)) from None
        if (blk.name, blk.tehsil) != (post.block, post.tehsil):
            raise InvalidPost(f"post {post}: block {blk.name} belongs to tehsil {blk.tehsil}")
    raise InvalidPost(f"post {post} does not exist")  # e.g. a block spelt differently


def officer_for(directory_index: Mapping[Post, Officer], department_code: str, level: int,
                district: str | None, tehsil: str | None, block: str | None) -> Officer:
    """The officer holding the post at `level` for this place, or VacantPost."""
    post = post_of(department_code, level, district, tehsil, block)
    found = directory_index.get(post)
    if found is None:
        raise VacantPost(f"no officer holds {post}")
    return found


class OfficerDirectory:
    """Who holds each post now. Keys are posts, values officers; transfers change it."""

    def __init__(self, officers: Iterable[Officer] | None = None) -> None:
        self._by_post: dict[Post, Officer] = {}
        self._by_id: dict[str, Officer] = {}
        for officer in build_officer_directory() if officers is None else officers:
            if officer.officer_id in self._by_id or officer.post in self._by_post:
                raise ValueError(f"officer {officer.officer_id}: duplicate id or post")
            self.upsert(officer)

    @property
    def index(self) -> Mapping[Post, Officer]:
        """A read-only live view, post -> officer (the `officer_for` argument)."""
        return MappingProxyType(self._by_post)

    def __len__(self) -> int:
        return len(self._by_post)

    def __iter__(self) -> Iterator[Officer]:
        return iter(self._by_post.values())

    def __contains__(self, officer_id: object) -> bool:
        return officer_id in self._by_id

    def get(self, officer_id: str) -> Officer | None:
        return self._by_id.get(officer_id)

    def holder(self, post: Post) -> Officer | None:
        return self._by_post.get(post)

    def responsible(self, department_code: str, level: int, block: Block) -> Officer | None:
        """The officer for a complaint from `block` at `level`; None if the post is vacant.

        Level 1 is the block's officer, 2 the officer of the block's tehsil, 3 the district's,
        4 the state's. Callers pick the level with `first_level_with_officer`, so a post that
        does not exist is never asked for; a vacancy after `remove` does return None.
        """
        return self._by_post.get(post_for(department_code, level, block))

    def upsert(self, officer: Officer) -> Officer | None:
        """Put `officer` in its post; returns the officer it displaced (a transfer), if any.

        If the same officer id held another post before, that post falls vacant: one person,
        one post.
        """
        validate_post(officer.post)
        previous_self = self._by_id.get(officer.officer_id)
        if previous_self is not None and previous_self.post != officer.post:
            del self._by_post[previous_self.post]
        displaced = self._by_post.get(officer.post)
        if displaced is not None and displaced.officer_id == officer.officer_id:
            displaced = None  # the same officer, record updated in place
        elif displaced is not None:
            del self._by_id[displaced.officer_id]
        self._by_post[officer.post] = officer
        self._by_id[officer.officer_id] = officer
        return displaced

    def remove(self, officer_id: str) -> Officer | None:
        """Take the officer out of the directory; their post falls vacant. None if unknown."""
        officer = self._by_id.pop(officer_id, None)
        if officer is not None:
            del self._by_post[officer.post]
        return officer
