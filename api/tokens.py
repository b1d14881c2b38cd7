"""Officers' bearer tokens: a post id and an expiry, signed with HMAC-SHA-256 (stdlib).

    sk1.<key id>.<payload, base64url JSON {"post", "iat", "exp"}>.<signature, base64url>

The signature covers everything before it, key id included, so a token cannot be moved to
another key. The key id says which of the listed keys to verify with, which is what lets
keys rotate (docs/api.md). A token names a *post*, not a person: whoever holds the post
now acts with it, and the API looks the holder up in the officer directory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping

VERSION = "sk1"
# Tolerated clock difference between the machine that issued a token and the API.
CLOCK_LEEWAY_SECONDS = 60


class TokenError(ValueError):
    """The token is not acceptable; the message says why (safe to return to the caller)."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed token") from None


def _signature(secret: bytes, signed: str) -> bytes:
    return hmac.new(secret, signed.encode(), hashlib.sha256).digest()


def issue(post_id: str, key_id: str, secret: bytes, now: float, hours: float) -> str:
    """A token for `post_id`, valid `hours` from `now` (seconds since the epoch)."""
    if hours <= 0:
        raise ValueError("a token must be valid for a positive number of hours")
    issued = int(now)
    payload = json.dumps({"post": post_id, "iat": issued, "exp": issued + int(hours * 3600)},
                         ensure_ascii=False, separators=(",", ":")).encode()
    signed = f"{VERSION}.{key_id}.{_b64(payload)}"
    return f"{signed}.{_b64(_signature(secret, signed))}"


def verify(token: str, keys: Mapping[str, bytes], now: float, max_hours: float) -> str:
    """The post id a valid token names; TokenError otherwise (forged, expired, unknown key,
    malformed, or issued for longer than the API allows)."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != VERSION:
        raise TokenError("malformed token")
    _, kid, body, signature = parts
    secret = keys.get(kid)
    if secret is None:
        raise TokenError("token signed with an unknown or retired key")
    expected = _signature(secret, f"{VERSION}.{kid}.{body}")
    if not hmac.compare_digest(expected, _unb64(signature)):
        raise TokenError("token signature does not match")
    try:
        claims = json.loads(_unb64(body))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise TokenError("malformed token") from None
    post, issued, expires = (claims.get(k) if isinstance(claims, dict) else None
                             for k in ("post", "iat", "exp"))
    if not (isinstance(post, str) and post and isinstance(issued, int)
            and isinstance(expires, int)):
        raise TokenError("malformed token")
    if expires <= now:
        raise TokenError("token expired")
    if issued > now + CLOCK_LEEWAY_SECONDS:
        raise TokenError("token issued in the future")
    if expires - issued > max_hours * 3600 + 1:
        raise TokenError("token valid for longer than SANKALP_OFFICER_TOKEN_HOURS allows")
    return post
