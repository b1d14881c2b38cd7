"""Himachal Pradesh: 12 districts, their tehsils and their development blocks.

The escalation ladder is Block (1) -> Tehsil (2) -> District (3) -> State (4), so every block
names exactly one parent tehsil of the same district. Blocks and tehsils are different
administrative grids in reality (a block can straddle tehsils); the parent chosen here is the
tehsil with the same name or, failing that, the one holding the block headquarters.

Block names follow the widely published list of the 78 blocks (docs/domain.md, "Where it
comes from"). That list also names a Mandi block
"Darang" next to "Drang": two spellings of one place (the Drang/Darang salt mines, the Darang
assembly seat, the Drang block office at Padhar), which is why it counts 79 names for 78 blocks.
Drang is kept; "Darang" is accepted as another spelling by `find_block`.

The tehsils (113, the reported count) are tehsils and sub-tehsils of Himachal Pradesh: for
Shimla and Kangra the names of the published lists, elsewhere names we believe real but have not
checked against a notification; comments mark the sub-tehsils and the block-to-tehsil choices
that are judgement calls. Where the real count per district differs (sub-tehsils keep being
upgraded and added), an operator edits this table; no other code depends on particular names.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from types import MappingProxyType


class UnknownLocation(ValueError):
    """A district, tehsil or block name that Himachal Pradesh does not have."""


@dataclass(frozen=True)
class Block:
    name: str
    district: str
    tehsil: str  # the parent tehsil: level 2 of this block's escalation ladder


@dataclass(frozen=True)
class District:
    name: str
    population_weight: float  # share of the state's 2011 population; weights sum to 1
    tehsils: tuple[str, ...]
    blocks: tuple[Block, ...]


# district -> (2011 census population, tehsils, {block: parent tehsil}).
# Populations are the Census of India 2011 district totals; they only serve as relative
# weights (for example, to spread simulated complaints realistically across the state).
_HIMACHAL: dict[str, tuple[int, tuple[str, ...], dict[str, str]]] = {
    "Bilaspur": (
        381_956,
        # Bharari, Kalol and Namhol are sub-tehsils.
        ("Bilaspur Sadar", "Ghumarwin", "Jhandutta", "Shri Naina Devi Ji", "Bharari", "Kalol",
         "Namhol"),
        {
            "Bilaspur Sadar": "Bilaspur Sadar",
            "Ghumarwin": "Ghumarwin",
            "Jhandutta": "Jhandutta",
            "Swarghat": "Shri Naina Devi Ji",  # Swarghat lies in the Naina Devi tehsil
        },
    ),
    "Chamba": (
        519_080,
        # Holi and Sihunta are sub-tehsils; Bhattiyat has its headquarters at Chowari.
        ("Chamba", "Bharmour", "Bhattiyat", "Churah", "Dalhousie", "Pangi", "Salooni", "Holi",
         "Sihunta"),
        {
            "Bharmour": "Bharmour",
            "Bhattiyat": "Bhattiyat",
            "Chamba": "Chamba",
            "Mehla": "Chamba",  # Mehla is a few km from Chamba town
            "Pangi": "Pangi",
            "Salooni": "Salooni",
            "Tissa": "Churah",  # Tissa is the headquarters of the Churah tehsil
        },
    ),
    "Hamirpur": (
        454_768,
        # Dhatwal and Galore are sub-tehsils.
        ("Hamirpur", "Barsar", "Bhoranj", "Nadaun", "Sujanpur", "Dhatwal", "Galore"),
        {
            "Bamsan": "Hamirpur",  # block office at Tauni Devi, near Hamirpur town
            "Bhoranj": "Bhoranj",
            "Bijhar": "Dhatwal",  # the Dhatwal sub-tehsil sits at Bijhar
            "Hamirpur": "Hamirpur",
            "Nadaun": "Nadaun",
            "Sujanpur": "Sujanpur",
        },
    ),
    "Kangra": (
        1_510_075,
        # The 21 names of the published list.
        ("Palampur", "Nurpur", "Dharamshala", "Dehra Gopipur", "Jawali", "Kangra", "Baijnath",
         "Indora", "Nagrota Bagwan", "Shahpur", "Fatehpur", "Jaisinghpur", "Jawalamukhi",
         "Khundian", "Jaswan", "Rakkar", "Baroh", "Dhira", "Thural", "Harchakian", "Multhan"),
        {
            "Baijnath": "Baijnath",
            "Bhawarna": "Palampur",  # Bhawarna, Panchrukhi and Sulah: Palampur area
            "Dehra": "Dehra Gopipur",
            "Dharamshala": "Dharamshala",
            "Fatehpur": "Fatehpur",
            "Indora": "Indora",
            "Kangra": "Kangra",
            "Lambagaon": "Jaisinghpur",  # Jaisinghpur sub-division
            "Nagrota Bagwan": "Nagrota Bagwan",
            "Nagrota Surian": "Jawali",  # Jawali sub-division
            "Nurpur": "Nurpur",
            "Panchrukhi": "Palampur",
            "Pragpur": "Dehra Gopipur",  # judgement call: Jaswan is as near
            "Rait": "Shahpur",  # Rait falls in the Shahpur area
            "Sulah": "Palampur",
        },
    ),
    "Kinnaur": (
        84_121,
        # Nichar has its headquarters at Bhabanagar; Moorang is the least certain name here.
        ("Kalpa", "Sangla", "Nichar", "Pooh", "Moorang"),
        {"Kalpa": "Kalpa", "Nichar": "Nichar", "Pooh": "Pooh"},
    ),
    "Kullu": (
        437_903,
        # Bhuntar and Sainj are the newer tehsils.
        ("Kullu", "Manali", "Banjar", "Anni", "Nirmand", "Sainj", "Bhuntar"),
        {
            "Anni": "Anni",
            "Banjar": "Banjar",
            "Kullu": "Kullu",
            "Naggar": "Manali",  # Naggar is on the Kullu-Manali left bank, Manali sub-division
            "Nirmand": "Nirmand",
        },
    ),
    "Lahaul & Spiti": (
        31_564,
        # Lahaul's tehsil has its headquarters at Keylong, Spiti's at Kaza.
        ("Lahaul", "Udaipur", "Spiti"),
        {"Lahaul": "Lahaul", "Spiti": "Spiti"},
    ),
    "Mandi": (
        999_777,
        # Baldwara, Kotli, Aut and Lad Bharol are tehsils/sub-tehsils carved out since 2000.
        ("Mandi Sadar", "Balh", "Sundernagar", "Karsog", "Chachyot", "Thunag", "Jogindernagar",
         "Padhar", "Sarkaghat", "Dharampur", "Baldwara", "Kotli", "Aut", "Lad Bharol"),
        {
            "Balh": "Balh",
            "Chauntra": "Jogindernagar",
            "Dharampur": "Dharampur",
            "Drang": "Padhar",  # the Drang block office is at Padhar; also spelt Darang
            "Gohar": "Chachyot",  # Chachyot tehsil has its headquarters at Gohar
            "Gopalpur": "Sarkaghat",  # the Gopalpur block office is at Sarkaghat
            "Karsog": "Karsog",
            "Mandi Sadar": "Mandi Sadar",
            "Seraj": "Thunag",  # Seraj valley; tehsil headquarters at Thunag
            "Sundernagar": "Sundernagar",
        },
    ),
    "Shimla": (
        814_010,
        # The 11 names of the published list, then Rohru, Nankhari, Nerwa, Kupvi and Tikkar.
        ("Rampur", "Kumarsain", "Sunni", "Shimla Rural", "Shimla Urban", "Theog", "Chaupal",
         "Jubbal", "Kotkhai", "Chirgaon", "Dodra Kawar", "Rohru", "Nankhari", "Nerwa", "Kupvi",
         "Tikkar"),
        {
            "Basantpur": "Sunni",  # Basantpur is in the Sunni area
            "Chaupal": "Chaupal",
            "Chirgaon": "Chirgaon",
            "Jubbal-Kotkhai": "Jubbal",  # judgement call: Kotkhai fits too
            "Mashobra": "Shimla Rural",  # the rural belt around Shimla
            "Nankhari": "Nankhari",
            "Narkanda": "Kumarsain",  # Narkanda falls in the Kumarsain tehsil
            "Rampur": "Rampur",
            "Rohru": "Rohru",
            "Theog": "Theog",
        },
    ),
    "Sirmaur": (
        529_855,
        # Dadahu, Kamrau and Nohradhar are sub-tehsils.
        ("Nahan", "Paonta Sahib", "Pachhad", "Rajgarh", "Sangrah", "Shillai", "Dadahu",
         "Kamrau", "Nohradhar"),
        {
            "Nahan": "Nahan",
            "Pachhad": "Pachhad",
            "Paonta Sahib": "Paonta Sahib",
            "Rajgarh": "Rajgarh",
            "Sangrah": "Sangrah",
            "Shillai": "Shillai",
        },
    ),
    "Solan": (
        580_320,
        # Krishangarh, Ramshehar and Darlaghat are sub-tehsils.
        ("Solan", "Kandaghat", "Kasauli", "Arki", "Nalagarh", "Baddi", "Krishangarh",
         "Ramshehar", "Darlaghat"),
        {
            "Dharampur": "Kasauli",  # Dharampur lies in the Kasauli tehsil
            "Kandaghat": "Kandaghat",
            "Kunihar": "Arki",  # Kunihar is in the Arki sub-division
            "Nalagarh": "Nalagarh",
            "Solan": "Solan",
        },
    ),
    "Una": (
        521_173,
        # Bharwain is a sub-tehsil.
        ("Una", "Amb", "Bangana", "Haroli", "Gagret", "Bharwain"),
        {"Amb": "Amb", "Bangana": "Bangana", "Gagret": "Gagret", "Haroli": "Haroli",
         "Una": "Una"},
    ),
}

_STATE_POPULATION = sum(population for population, _, _ in _HIMACHAL.values())


def _district(name: str, population: int, tehsils: tuple[str, ...],
              blocks: dict[str, str]) -> District:
    return District(
        name=name,
        population_weight=population / _STATE_POPULATION,
        tehsils=tehsils,
        blocks=tuple(Block(block, name, tehsil) for block, tehsil in blocks.items()),
    )


DISTRICTS: tuple[District, ...] = tuple(
    _district(name, population, tehsils, blocks)
    for name, (population, tehsils, blocks) in _HIMACHAL.items()
)

BLOCKS: tuple[Block, ...] = tuple(b for d in DISTRICTS for b in d.blocks)


@functools.lru_cache(maxsize=4096)
def _key(name: str) -> str:
    """Spelling-tolerant key: case, '&' vs 'and', hyphens and spaces do not matter.

    Callers type "Lahaul and Spiti", "lahaul & spiti" or "Jubbal Kotkhai"; they all mean one
    place, and an exact-match lookup would bounce real complaints to the dead-letter queue.
    """
    name = name.casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", name).split())


# Other spellings callers use for a block: (district, spelling) -> block name.
_BLOCK_ALIASES: dict[tuple[str, str], str] = {
    ("Mandi", "Darang"): "Drang",
}

_DISTRICT_BY_KEY: MappingProxyType[str, District] = MappingProxyType(
    {_key(d.name): d for d in DISTRICTS}
)
_BLOCK_BY_KEY: MappingProxyType[tuple[str, str], Block] = MappingProxyType(
    {(_key(b.district), _key(b.name)): b for b in BLOCKS}
    | {
        (_key(dist), _key(alias)): b
        for (dist, alias), name in _BLOCK_ALIASES.items()
        for b in BLOCKS
        if (b.district, b.name) == (dist, name)
    }
)


def district(name: str) -> District:
    """The district called `name` (spelling-tolerant), or UnknownLocation."""
    found = _DISTRICT_BY_KEY.get(_key(name))
    if found is None:
        known = ", ".join(d.name for d in DISTRICTS)
        raise UnknownLocation(f"unknown district {name!r}; Himachal Pradesh has: {known}")
    return found


def find_block(district_name: str, block: str) -> Block:
    """The development block `block` of `district_name`, or UnknownLocation.

    Block names are unique only within a district (Mandi and Solan both have a Dharampur),
    so the district is always part of the lookup.
    """
    home = district(district_name)
    found = _BLOCK_BY_KEY.get((_key(home.name), _key(block)))
    if found is None:
        known = ", ".join(b.name for b in home.blocks)
        raise UnknownLocation(
            f"unknown block {block!r} in district {home.name}; its blocks are: {known}"
        )
    return found


def has_tehsil(district_name: str, tehsil: str) -> bool:
    """Whether `tehsil` is a tehsil of `district_name` (exact names, as stored)."""
    home = _DISTRICT_BY_KEY.get(_key(district_name))
    return home is not None and tehsil in home.tehsils
