"""Reference data for Himachal Pradesh: places, departments, complaint categories, officers.

Pure data and pure functions (standard library only): the routing and escalation rules in
`core` read them, and so do the simulator and the tests. Names and counts follow
the sources docs/domain.md describes; officers are identified by post, never by personal details.
"""

from core.reference.categories import (
    CATEGORIES,
    MAX_SLA_WORKING_DAYS,
    MIN_SLA_WORKING_DAYS,
    PRIORITIES,
    Category,
    Priority,
    UnknownCategory,
    category,
)
from core.reference.departments import (
    BLOCK_LEVEL,
    DEPARTMENTS,
    DISTRICT_LEVEL,
    LEVELS,
    STATE_LEVEL,
    TEHSIL_LEVEL,
    Department,
    UnknownDepartment,
    department,
    first_level_with_officer,
)
from core.reference.geography import (
    BLOCKS,
    DISTRICTS,
    Block,
    District,
    UnknownLocation,
    district,
    find_block,
    has_tehsil,
)
from core.reference.officers import (
    InvalidPost,
    Officer,
    OfficerDirectory,
    Post,
    VacantPost,
    build_officer_directory,
    designation,
    officer_for,
    officer_id,
    post_for,
    post_of,
    validate_post,
)

__all__ = [
    "BLOCKS",
    "BLOCK_LEVEL",
    "CATEGORIES",
    "DEPARTMENTS",
    "DISTRICTS",
    "DISTRICT_LEVEL",
    "LEVELS",
    "MAX_SLA_WORKING_DAYS",
    "MIN_SLA_WORKING_DAYS",
    "PRIORITIES",
    "STATE_LEVEL",
    "TEHSIL_LEVEL",
    "Block",
    "Category",
    "Department",
    "District",
    "InvalidPost",
    "Officer",
    "OfficerDirectory",
    "Post",
    "Priority",
    "UnknownCategory",
    "UnknownDepartment",
    "UnknownLocation",
    "VacantPost",
    "build_officer_directory",
    "category",
    "department",
    "designation",
    "district",
    "find_block",
    "first_level_with_officer",
    "has_tehsil",
    "officer_for",
    "officer_id",
    "post_for",
    "post_of",
    "validate_post",
]
