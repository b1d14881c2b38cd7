"""Officers' bearer tokens (api/tokens.py): what verifies, and every way one is refused."""

from __future__ import annotations

import base64
import json

import pytest

from api.tokens import TokenError, issue, verify

NOW = 1_780_000_000.0
KEYS = {"k1": b"first-secret-0123456789", "k2": b"second-secret-0123456789"}
POST = "JSV/L1/Lahaul & Spiti/Lahaul"


def test_a_token_names_its_post_until_it_expires():
    token = issue(POST, "k1", KEYS["k1"], NOW, hours=12)
    assert verify(token, KEYS, NOW, max_hours=12) == POST
    assert verify(token, KEYS, NOW + 12 * 3600 - 1, max_hours=12) == POST
    with pytest.raises(TokenError, match="expired"):
        verify(token, KEYS, NOW + 12 * 3600, max_hours=12)


def test_a_forged_or_tampered_token_is_refused():
    token = issue(POST, "k1", KEYS["k1"], NOW, hours=1)
    version, kid, body, signature = token.split(".")
    other_post = base64.urlsafe_b64encode(json.dumps(
        {"post": "JSV/L1/Shimla/Theog", "iat": int(NOW), "exp": int(NOW) + 3600}
    ).encode()).rstrip(b"=").decode()
    forged_by_guess = issue(POST, "k1", b"not-the-real-secret-000", NOW, hours=1)
    for bad in (f"{version}.{kid}.{other_post}.{signature}",  # someone else's post
                f"{version}.k2.{body}.{signature}",  # moved to another key
                forged_by_guess):
        with pytest.raises(TokenError, match="signature"):
            verify(bad, KEYS, NOW, max_hours=12)


@pytest.mark.parametrize("token", [
    "", "sk1", "sk1.k1.e30", "sk2.k1.e30.AAAA", "Bearer x", "sk1.k1.%%%.AAAA",
    "sk1.k1.e30.AAAA.extra", "a" * 5000,
])
def test_malformed_tokens_are_refused_with_a_reason(token):
    with pytest.raises(TokenError):
        verify(token, KEYS, NOW, max_hours=12)


def test_a_token_of_a_retired_key_is_refused_and_rotation_keeps_both_in_force():
    old = issue(POST, "k1", KEYS["k1"], NOW, hours=1)
    new = issue(POST, "k2", KEYS["k2"], NOW, hours=1)
    # During rotation both keys are listed: both tokens verify.
    assert verify(old, KEYS, NOW, 12) == verify(new, KEYS, NOW, 12) == POST
    # The old key removed from the file: its tokens stop working at once.
    retired = {"k2": KEYS["k2"]}
    with pytest.raises(TokenError, match="unknown or retired key"):
        verify(old, retired, NOW, 12)
    assert verify(new, retired, NOW, 12) == POST


def test_tokens_issued_for_longer_than_allowed_or_in_the_future_are_refused():
    long = issue(POST, "k1", KEYS["k1"], NOW, hours=48)
    with pytest.raises(TokenError, match="longer"):
        verify(long, KEYS, NOW, max_hours=12)
    future = issue(POST, "k1", KEYS["k1"], NOW + 3600, hours=1)
    with pytest.raises(TokenError, match="future"):
        verify(future, KEYS, NOW, max_hours=12)


def test_a_valid_signature_over_a_payload_that_is_not_a_claim_set_is_refused():
    import hashlib
    import hmac

    for payload in (b"[]", b'{"post": 7, "iat": 1, "exp": 2}', b"\xff"):
        body = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        signed = f"sk1.k1.{body}"
        signature = base64.urlsafe_b64encode(
            hmac.new(KEYS["k1"], signed.encode(), hashlib.sha256).digest()).rstrip(b"=")
        with pytest.raises(TokenError, match="malformed"):
            verify(f"{signed}.{signature.decode()}", KEYS, NOW, 12)
