"""The API's keys files, rate limits and post holders (api/keys.py, api/ratelimit.py,
api/posts.py)."""

from __future__ import annotations

import os

import pytest

from api.keys import (
    KeyFileError,
    WatchedFile,
    key_digest,
    parse_channel_keys,
    parse_signing_keys,
    signing_key,
)
from api.posts import PostHolders, posts, unknown_post_message
from api.ratelimit import RateLimiter
from schemas.directory import OfficerPost

SECRET = "s3cret-never-shown-0001"


def test_channel_keys_name_their_client_channel_and_rate():
    clients = parse_channel_keys(f"""
        # client        channel     key
        portal-web      portal      {SECRET}   200
        callcentre-1100 phone_1100  another-key-0123456789
    """)
    assert clients[key_digest(SECRET)].name == "portal-web"
    assert clients[key_digest(SECRET)].rate == 200.0
    assert clients[key_digest("another-key-0123456789")].channel == "phone_1100"
    assert SECRET not in repr(clients)


@pytest.mark.parametrize(("text", "reason"), [
    (f"portal-web portal {SECRET} 1 2", "expected `client channel key [rate]`"),
    (f"Portal portal {SECRET}", "client name"),
    (f"portal-web fax {SECRET}", "channel 'fax'"),
    ("portal-web portal short", "shorter than 16"),
    (f"portal-web portal {SECRET} fast", "rate 'fast'"),
    (f"portal-web portal {SECRET} -3", "rate '-3'"),
    (f"a portal {SECRET}\nb app {SECRET}", "already listed"),
])
def test_a_bad_channel_keys_file_names_the_line_never_the_key(text, reason):
    with pytest.raises(KeyFileError) as caught:
        parse_channel_keys(text)
    assert reason in str(caught.value) and SECRET not in str(caught.value)


def test_signing_keys_keep_their_order_and_the_signing_one_can_be_chosen():
    keys = parse_signing_keys(f"2026-03 {SECRET}\n2025-12 older-secret-0123456789\n")
    assert list(keys) == ["2026-03", "2025-12"]
    assert signing_key(keys, "") == ("2026-03", SECRET.encode())
    assert signing_key(keys, "2025-12")[0] == "2025-12"
    with pytest.raises(KeyFileError, match="not in the officer keys file"):
        signing_key(keys, "2024-01")
    with pytest.raises(KeyFileError, match="no officer signing keys"):
        signing_key({}, "")
    for bad in (f"k1 {SECRET}\nk1 {SECRET}x", "k1", f"bad/id {SECRET}", "k1 short"):
        with pytest.raises(KeyFileError) as caught:
            parse_signing_keys(bad)
        assert SECRET not in str(caught.value)


def test_a_watched_file_reloads_a_change_and_keeps_the_old_keys_on_a_bad_one(tmp_path):
    path = tmp_path / "channel.keys"
    path.write_text(f"portal-web portal {SECRET}\n")
    watched = WatchedFile(path, parse_channel_keys, {}, "channel keys")
    assert key_digest(SECRET) in watched.value
    assert not watched.refresh()  # unchanged
    path.write_text("portal-web portal rotated-key-0123456789\n")
    os.utime(path, ns=(1, 1))  # a different stamp, whatever the clock's resolution
    assert watched.refresh()
    assert key_digest(SECRET) not in watched.value
    assert key_digest("rotated-key-0123456789") in watched.value
    path.write_text("garbage\n")
    os.utime(path, ns=(2, 2))
    assert not watched.refresh()
    assert key_digest("rotated-key-0123456789") in watched.value
    with pytest.raises(KeyFileError, match="cannot read"):
        WatchedFile(tmp_path / "missing", parse_channel_keys, {}, "channel keys")


def test_a_flood_from_one_key_is_limited_and_the_others_are_not():
    now = [0.0]
    limiter = RateLimiter(rate=2, burst=3, clock=lambda: now[0])
    assert [limiter.retry_after("flood") for _ in range(4)] == [0, 0, 0, 1]
    assert limiter.retry_after("quiet") == 0
    now[0] = 0.5  # one token back at 2/s
    assert limiter.retry_after("flood") == 0
    assert limiter.retry_after("flood") == 1
    # A key with its own, higher rate (the keys file's column) also bursts further.
    assert all(limiter.retry_after("bulk", rate=50) == 0 for _ in range(50))
    with pytest.raises(ValueError):
        RateLimiter(rate=0, burst=1)


def test_post_ids_are_the_directory_topics_keys():
    theog = posts()["JSV/L1/Shimla/Theog"]
    assert theog.officer_id == "OFF-JSV-L1-SHIMLA-THEOG"
    assert posts()["JSV/L4/-/STATE"].level == 4
    assert "JSV/L1/Shimla/Theog" in unknown_post_message("JSV/L1/Shimla/Theogg")
    assert "look like" in unknown_post_message("nonsense")


def test_a_transfer_on_the_directory_topic_changes_who_acts_for_a_post():
    holders = PostHolders()
    assert holders.holder("JSV/L1/Shimla/Theog") == "OFF-JSV-L1-SHIMLA-THEOG"
    seed = posts()["JSV/L1/Shimla/Theog"]

    def record(post_id: str, officer_id: str) -> OfficerPost:
        o = posts()[post_id]
        return OfficerPost(post_id=post_id, department=o.department_code, level=o.level,
                           district=o.district, tehsil=o.tehsil, block=o.block,
                           officer_id=officer_id, designation=o.designation)

    holders.apply(record("JSV/L1/Shimla/Theog", "OFF-JSV-NEW-JE"))
    assert holders.holder("JSV/L1/Shimla/Theog") == "OFF-JSV-NEW-JE"
    # The same officer moved to another post: the first post falls vacant.
    holders.apply(record("JSV/L1/Shimla/Rampur", "OFF-JSV-NEW-JE"))
    assert holders.holder("JSV/L1/Shimla/Theog") is None
    assert holders.holder("JSV/L1/Shimla/Rampur") == "OFF-JSV-NEW-JE"
    assert seed.officer_id == "OFF-JSV-L1-SHIMLA-THEOG"  # the reference data is untouched
