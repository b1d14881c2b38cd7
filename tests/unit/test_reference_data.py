"""Reference data for Himachal Pradesh: places, departments, categories and the officer directory.

The counts are those docs/domain.md gives (12 districts, 78 blocks, about 113 tehsils, 56+
departments, about 6,500 officers). The central property: for every category and every block,
the escalation ladder finds an officer at every level it climbs to — it never dead-ends.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.reference import (
    BLOCKS,
    CATEGORIES,
    DEPARTMENTS,
    DISTRICTS,
    LEVELS,
    InvalidPost,
    Officer,
    OfficerDirectory,
    Post,
    UnknownCategory,
    UnknownDepartment,
    UnknownLocation,
    VacantPost,
    build_officer_directory,
    category,
    department,
    district,
    find_block,
    first_level_with_officer,
    officer_for,
)

# The development blocks exactly as the published list gives them (docs/domain.md). It also
# lists "Darang" for Mandi, a second spelling of Drang (79 names for the 78 blocks it counts):
# see geography.py.
DOMAIN_BLOCKS: dict[str, tuple[str, ...]] = {
    "Bilaspur": ("Bilaspur Sadar", "Ghumarwin", "Jhandutta", "Swarghat"),
    "Chamba": ("Bharmour", "Bhattiyat", "Chamba", "Mehla", "Pangi", "Salooni", "Tissa"),
    "Hamirpur": ("Bamsan", "Bhoranj", "Bijhar", "Hamirpur", "Nadaun", "Sujanpur"),
    "Kangra": ("Baijnath", "Bhawarna", "Dehra", "Dharamshala", "Fatehpur", "Indora", "Kangra",
               "Lambagaon", "Nagrota Bagwan", "Nagrota Surian", "Nurpur", "Panchrukhi",
               "Pragpur", "Rait", "Sulah"),
    "Kinnaur": ("Kalpa", "Nichar", "Pooh"),
    "Kullu": ("Anni", "Banjar", "Kullu", "Naggar", "Nirmand"),
    "Lahaul & Spiti": ("Lahaul", "Spiti"),
    "Mandi": ("Balh", "Chauntra", "Dharampur", "Drang", "Gohar", "Gopalpur", "Karsog",
              "Mandi Sadar", "Seraj", "Sundernagar"),
    "Shimla": ("Basantpur", "Chaupal", "Chirgaon", "Jubbal-Kotkhai", "Mashobra", "Nankhari",
               "Narkanda", "Rampur", "Rohru", "Theog"),
    "Sirmaur": ("Nahan", "Pachhad", "Paonta Sahib", "Rajgarh", "Sangrah", "Shillai"),
    "Solan": ("Dharampur", "Kandaghat", "Kunihar", "Nalagarh", "Solan"),
    "Una": ("Amb", "Bangana", "Gagret", "Haroli", "Una"),
}

DOMAIN_TEHSILS = {
    "Shimla": ("Rampur", "Kumarsain", "Sunni", "Shimla Rural", "Shimla Urban", "Theog",
               "Chaupal", "Jubbal", "Kotkhai", "Chirgaon", "Dodra Kawar"),
    "Kangra": ("Palampur", "Nurpur", "Dharamshala", "Dehra Gopipur", "Jawali", "Kangra",
               "Baijnath", "Indora", "Nagrota Bagwan", "Shahpur", "Fatehpur", "Jaisinghpur",
               "Jawalamukhi", "Khundian", "Jaswan", "Rakkar", "Baroh", "Dhira", "Thural",
               "Harchakian", "Multhan"),
}

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
OFFICER_ID = re.compile(r"^OFF-[A-Z0-9]+-L[1-4]-[A-Z0-9-]+$")

# Built once: the directory is immutable data; tests that mutate build their own wrapper.
SEED = build_officer_directory()


# -- geography ------------------------------------------------------------------------------

def test_twelve_districts():
    assert [d.name for d in DISTRICTS] == list(DOMAIN_BLOCKS)


def test_the_78_blocks_are_the_ones_domain_md_lists():
    assert len(BLOCKS) == 78
    assert {(b.district, b.name) for b in BLOCKS} == {
        (d, b) for d, blocks in DOMAIN_BLOCKS.items() for b in blocks
    }
    for d in DISTRICTS:
        assert all(b.district == d.name for b in d.blocks)


def test_darang_is_another_spelling_of_drang():
    assert find_block("Mandi", "Darang") == find_block("Mandi", "Drang")


def test_tehsils_count_and_unique_within_district():
    total = sum(len(d.tehsils) for d in DISTRICTS)
    assert 100 <= total <= 125
    for d in DISTRICTS:
        assert d.tehsils, d.name
        assert len(set(d.tehsils)) == len(d.tehsils), d.name


def test_domain_md_tehsils_are_present():
    for name, tehsils in DOMAIN_TEHSILS.items():
        assert set(tehsils) <= set(district(name).tehsils)


def test_every_block_has_a_parent_tehsil_in_its_district():
    for d in DISTRICTS:
        for b in d.blocks:
            assert b.tehsil in d.tehsils, (d.name, b.name, b.tehsil)


def test_population_weights():
    assert sum(d.population_weight for d in DISTRICTS) == pytest.approx(1.0)
    by_weight = sorted(DISTRICTS, key=lambda d: d.population_weight)
    assert by_weight[-1].name == "Kangra"
    assert by_weight[0].name == "Lahaul & Spiti"
    assert all(d.population_weight > 0 for d in DISTRICTS)


def test_find_block_tolerates_spelling_and_rejects_unknown_places():
    assert find_block("lahaul and spiti", "SPITI").tehsil == "Spiti"
    assert find_block(" Shimla ", "jubbal kotkhai").name == "Jubbal-Kotkhai"
    # Block names repeat across districts; the district decides.
    assert find_block("Solan", "Dharampur").tehsil == "Kasauli"
    assert find_block("Mandi", "Dharampur").tehsil == "Dharampur"
    with pytest.raises(UnknownLocation, match="Theog"):
        find_block("Shimla", "Atlantis")  # the message lists the district's real blocks
    with pytest.raises(UnknownLocation, match="district"):
        find_block("Gotham", "Theog")
    assert issubclass(UnknownLocation, ValueError)


@given(st.sampled_from(BLOCKS), st.data())
def test_find_block_ignores_case_and_separators(block, data):
    def respell(name: str) -> str:
        flip = data.draw(st.booleans())
        spaced = name.replace("-", data.draw(st.sampled_from([" ", "-", "  "])))
        return spaced.upper() if flip else spaced.lower()

    assert find_block(respell(block.district), respell(block.name)) == block


# -- departments and categories -------------------------------------------------------------

def test_at_least_56_departments_with_unique_codes():
    codes = [d.code for d in DEPARTMENTS]
    assert len(codes) >= 56
    assert len(set(codes)) == len(codes)
    for d in DEPARTMENTS:
        assert re.fullmatch(r"[A-Z0-9]+", d.code), d.code
        assert {3, 4} <= d.levels <= set(LEVELS), d.code
    names = [d.name for d in DEPARTMENTS]
    assert len(set(names)) == len(names)


def test_department_tiers():
    field = [d for d in DEPARTMENTS if 1 in d.levels]
    tehsil_only = [d for d in DEPARTMENTS if 2 in d.levels and 1 not in d.levels]
    assert 18 <= len(field) <= 26
    assert 8 <= len(tehsil_only) <= 16
    assert all(2 in d.levels for d in field)  # a block officer always has a tehsil above
    for code in ("JSV", "PWD", "HPSEBL", "REV", "RD", "PR", "POL", "FCS", "HFW", "EED", "FOR"):
        assert department(code).levels == frozenset(LEVELS), code


def test_department_lookup():
    assert department("JSV").name.startswith("Jal Shakti")
    assert department(" hpsebl ").code == "HPSEBL"
    with pytest.raises(UnknownDepartment, match="XYZ"):
        department("XYZ")
    assert issubclass(UnknownDepartment, ValueError)


def test_first_level_with_officer_skips_absent_levels_upward():
    assert [first_level_with_officer("JSV", lv) for lv in LEVELS] == [1, 2, 3, 4]
    assert [first_level_with_officer("HRTC", lv) for lv in LEVELS] == [2, 2, 3, 4]
    assert [first_level_with_officer("SW", lv) for lv in LEVELS] == [3, 3, 3, 4]
    for bad in (0, 5):
        with pytest.raises(ValueError):
            first_level_with_officer("JSV", bad)
    with pytest.raises(UnknownDepartment):
        first_level_with_officer("NOPE", 1)


def test_at_least_40_categories_well_formed():
    assert len(CATEGORIES) >= 40
    codes = [c.code for c in CATEGORIES]
    assert len(set(codes)) == len(codes)
    for c in CATEGORIES:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", c.code), c.code
        assert department(c.department_code).code == c.department_code
        assert isinstance(c.sla_working_days, int)
        assert 7 <= c.sla_working_days <= 14, c.code
        assert c.priority in ("critical", "high", "general")
        assert c.name_en.isascii() and c.name_en.strip()


def test_category_names_in_hindi_are_devanagari():
    for c in CATEGORIES:
        assert DEVANAGARI.search(c.name_hi), c.code


def test_brief_categories_exist_with_realistic_time_limits():
    for code in ("drinking_water_supply", "electricity_supply_interruption", "road_repair",
                 "land_records_mutation", "old_age_pension", "ration_card", "hospital_services",
                 "school_teacher_absence", "street_light", "garbage_collection",
                 "hrtc_bus_service", "forest_fire", "crop_damage_compensation",
                 "police_fir_not_registered"):
        category(code)
    assert category("drinking_water_supply").sla_working_days == 7
    assert category("electricity_supply_interruption").sla_working_days == 7
    assert category("old_age_pension").sla_working_days == 14
    assert category("land_records_mutation").sla_working_days == 14
    assert category("drinking_water_supply").department_code == "JSV"
    assert category("hrtc_bus_service").department_code == "HRTC"
    with pytest.raises(UnknownCategory, match="teleportation"):
        category("teleportation")
    assert issubclass(UnknownCategory, ValueError)


def test_categories_cover_every_tier_of_department():
    starts = {first_level_with_officer(c.department_code, 1) for c in CATEGORIES}
    assert starts == {1, 2, 3}


# -- officer directory ----------------------------------------------------------------------

def test_directory_size_and_unique_ids():
    assert 5_500 <= len(SEED) <= 7_500
    ids = [o.officer_id for o in SEED]
    assert len(set(ids)) == len(ids)
    assert len({o.post for o in SEED}) == len(SEED)
    for o in SEED:
        assert OFFICER_ID.fullmatch(o.officer_id), o.officer_id


def test_directory_is_deterministic():
    assert build_officer_directory() == build_officer_directory() == SEED


def test_officer_records_name_only_their_unit():
    for o in SEED:
        assert o.level in LEVELS
        assert (o.district is None) == (o.level == 4)
        assert (o.tehsil is None) == (o.level >= 3)
        assert (o.block is None) == (o.level >= 2)
        assert o.designation and not re.search(r"\d", o.designation)
        assert o.level in department(o.department_code).levels


def test_one_post_per_department_level_and_unit():
    n_blocks, n_tehsils = len(BLOCKS), sum(len(d.tehsils) for d in DISTRICTS)
    per_level = {1: n_blocks, 2: n_tehsils, 3: len(DISTRICTS), 4: 1}
    expected = sum(per_level[lv] for d in DEPARTMENTS for lv in d.levels)
    assert len(SEED) == expected


def test_officer_ids_follow_the_post():
    ids = {o.officer_id: o for o in SEED}
    theog = ids["OFF-JSV-L1-SHIMLA-THEOG"]
    assert (theog.district, theog.tehsil, theog.block) == ("Shimla", "Theog", "Theog")
    assert theog.designation == "Junior Engineer"
    assert ids["OFF-JSV-L2-SHIMLA-THEOG"].block is None
    assert ids["OFF-JSV-L3-SHIMLA"].tehsil is None
    assert ids["OFF-JSV-L4-STATE"].district is None
    assert ids["OFF-RD-L1-KANGRA-NAGROTA-BAGWAN"].designation == "Block Development Officer"
    assert ids["OFF-REV-L2-SHIMLA-THEOG"].designation == "Tehsildar"
    assert "OFF-SW-L3-LAHAUL-SPITI" in ids
    assert "OFF-SW-L1-LAHAUL-SPITI-SPITI" not in ids  # no block officer: district-only


def test_the_ladder_never_dead_ends():
    """For EVERY category and EVERY block, every level the ladder climbs to has an officer."""
    directory = OfficerDirectory(SEED)
    for cat in CATEGORIES:
        dept = cat.department_code
        for block in BLOCKS:
            for wanted in LEVELS:
                level = first_level_with_officer(dept, wanted)
                assert level >= wanted
                officer = directory.responsible(dept, level, block)
                assert officer is not None, (cat.code, block, wanted)
                assert (officer.department_code, officer.level) == (dept, level)
                if level <= 3:
                    assert officer.district == block.district
                if level <= 2:
                    assert officer.tehsil == block.tehsil
                if level == 1:
                    assert officer.block == block.name


def test_responsible_matches_officer_for_on_the_index():
    directory = OfficerDirectory(SEED)
    block = find_block("Shimla", "Theog")
    for level in LEVELS:
        via_index = officer_for(directory.index, "JSV", level, "Shimla", "Theog", "Theog")
        assert directory.responsible("JSV", level, block) == via_index
    with pytest.raises(VacantPost):
        officer_for(directory.index, "SW", 1, "Shimla", "Theog", "Theog")


def _transferred(officer: Officer, suffix: str) -> Officer:
    return dataclasses.replace(officer, officer_id=f"{officer.officer_id}-{suffix}")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(SEED), min_size=1, max_size=8, unique=True))
def test_transfer_replaces_the_holder_of_the_post(posts):
    directory = OfficerDirectory(SEED)
    for old in posts:
        new = _transferred(old, "T1")
        assert directory.upsert(new) == old
        assert directory.holder(old.post) == new
        assert old.officer_id not in directory and directory.get(new.officer_id) == new
    assert len(directory) == len(SEED)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(SEED))
def test_remove_leaves_the_post_vacant_until_filled(officer):
    directory = OfficerDirectory(SEED)
    assert directory.remove(officer.officer_id) == officer
    assert directory.holder(officer.post) is None
    assert directory.remove(officer.officer_id) is None
    with pytest.raises(VacantPost):
        officer_for(directory.index, officer.department_code, officer.level, officer.district,
                    officer.tehsil, officer.block)
    assert directory.upsert(_transferred(officer, "NEW")) is None
    assert directory.holder(officer.post).officer_id == f"{officer.officer_id}-NEW"


def test_moving_an_officer_vacates_the_old_post():
    directory = OfficerDirectory(SEED)
    ids = {o.officer_id: o for o in SEED}
    mover = ids["OFF-HFW-L1-CHAMBA-PANGI"]
    target = ids["OFF-HFW-L1-CHAMBA-TISSA"]
    moved = dataclasses.replace(mover, block="Tissa", tehsil="Churah")
    assert directory.upsert(moved) == target
    assert directory.holder(mover.post) is None
    assert directory.holder(target.post) == moved
    assert len(directory) == len(SEED) - 1


@pytest.mark.parametrize("post", [
    Post("SW", 1, "Shimla", "Theog", "Theog"),  # no block-level presence
    Post("JSV", 2, "Shimla", "Atlantis", None),  # unknown tehsil
    Post("JSV", 1, "Shimla", "Rampur", "Theog"),  # Theog block's tehsil is Theog
    Post("JSV", 3, "Gotham", None, None),  # unknown district
    Post("JSV", 3, "Shimla", "Theog", None),  # finer unit than the level
    Post("XYZ", 4, None, None, None),  # unknown department
])
def test_upsert_rejects_posts_that_cannot_exist(post):
    directory = OfficerDirectory(SEED)
    bogus = Officer("OFF-BOGUS", post.department_code, post.level, post.district, post.tehsil,
                    post.block, "Nobody")
    with pytest.raises(InvalidPost):
        directory.upsert(bogus)
    assert "OFF-BOGUS" not in directory and len(directory) == len(SEED)


def test_directory_rejects_duplicate_seed_rows():
    with pytest.raises(ValueError, match="duplicate"):
        OfficerDirectory([SEED[0], SEED[0]])
