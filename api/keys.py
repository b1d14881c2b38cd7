"""The API's secrets, each from a file (a mounted secret): the channels' API keys and the
keys that sign officers' tokens.

Channel keys, `SANKALP_API_KEYS_FILE`, one client per line (`#` starts a comment):

    # client        channel     key                                  [requests/s]
    portal-web      portal      9f2c4b...                            200
    callcentre-1100 phone_1100  51aa0e...

The client name, not the key, is what the API remembers about a channel: it is part of
the complaint ids derived from idempotency keys (so a key can be rotated without changing
them) and the label on metrics. Keys are held only as SHA-256 digests, and no message
here ever quotes one.

Officer signing keys, `SANKALP_OFFICER_KEYS_FILE`: one `key_id secret` per line. Every
listed key verifies tokens; `SANKALP_OFFICER_KEY_ID` (default: the first line) signs new
ones. Rotation is described in docs/api.md.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar, get_args

from schemas.events import Channel

log = logging.getLogger("sankalp.api")

CHANNELS: tuple[str, ...] = get_args(Channel)
MIN_SECRET_CHARS = 16
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class KeyFileError(ValueError):
    """A keys file that cannot be used; the message names the line, never the secret."""


@dataclass(frozen=True)
class Client:
    """A channel's client, known by its API key."""

    name: str
    channel: str
    rate: float | None = None  # its own requests/s, instead of SANKALP_API_RATE_PER_SECOND


def key_digest(key: str) -> str:
    # Lookups by digest: a dict lookup on the digest leaks nothing useful about the key.
    return hashlib.sha256(key.encode()).hexdigest()


def _lines(text: str) -> list[tuple[int, list[str]]]:
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if words:
            out.append((number, words))
    return out


def parse_channel_keys(text: str) -> dict[str, Client]:
    """key digest -> client, from the text of a channel keys file."""
    clients: dict[str, Client] = {}
    for number, words in _lines(text):
        if len(words) not in (3, 4):
            raise KeyFileError(f"line {number}: expected `client channel key [rate]`, "
                               f"found {len(words)} fields")
        name, channel, key = words[:3]
        if not _NAME.match(name):
            raise KeyFileError(f"line {number}: client name {name!r} must be 1-40 of a-z, "
                               "0-9, '_', '.', '-'")
        if channel not in CHANNELS:
            raise KeyFileError(f"line {number}: channel {channel!r} is not one of "
                               f"{', '.join(CHANNELS)}")
        if len(key) < MIN_SECRET_CHARS:
            raise KeyFileError(f"line {number}: the key of {name} is shorter than "
                               f"{MIN_SECRET_CHARS} characters")
        rate = None
        if len(words) == 4:
            try:
                rate = float(words[3])
            except ValueError:
                rate = -1.0
            if not rate > 0:
                raise KeyFileError(f"line {number}: rate {words[3]!r} must be a positive "
                                   "number of requests per second")
        digest = key_digest(key)
        if digest in clients:
            raise KeyFileError(f"line {number}: the key of {name} is already listed "
                               f"(for {clients[digest].name})")
        clients[digest] = Client(name, channel, rate)
    return clients


def parse_signing_keys(text: str) -> dict[str, bytes]:
    """key id -> secret, in the file's order (the first signs unless told otherwise)."""
    keys: dict[str, bytes] = {}
    for number, words in _lines(text):
        if len(words) != 2:
            raise KeyFileError(f"line {number}: expected `key_id secret`, found "
                               f"{len(words)} fields")
        kid, secret = words
        if not _KEY_ID.match(kid):
            raise KeyFileError(f"line {number}: key id {kid!r} must be 1-32 of A-Z, a-z, "
                               "0-9, '_', '-'")
        if len(secret) < MIN_SECRET_CHARS:
            raise KeyFileError(f"line {number}: the secret of key {kid} is shorter than "
                               f"{MIN_SECRET_CHARS} characters")
        if kid in keys:
            raise KeyFileError(f"line {number}: key id {kid} is listed twice")
        keys[kid] = secret.encode()
    return keys


def signing_key(keys: dict[str, bytes], key_id: str) -> tuple[str, bytes]:
    """The key new tokens are signed with: `key_id`, or the first listed."""
    if not keys:
        raise KeyFileError("no officer signing keys (SANKALP_OFFICER_KEYS_FILE)")
    kid = key_id or next(iter(keys))
    if kid not in keys:
        raise KeyFileError(f"SANKALP_OFFICER_KEY_ID {kid!r} is not in the officer keys file")
    return kid, keys[kid]


T = TypeVar("T")


class WatchedFile(Generic[T]):
    """A keys file, parsed at start and again whenever it changes on disk (checked by the
    API every few seconds), so a key is added or revoked without a restart. A change that
    does not parse is refused with a warning, and the keys already loaded stay in force."""

    def __init__(self, path: Path | None, parse: Callable[[str], T], empty: T,
                 what: str) -> None:
        self.path = path
        self._parse = parse
        self.what = what
        self.value: T = empty
        self._seen: tuple[int, int] | None = None
        if path is not None:
            self.value = parse(self._read(path))
            self._seen = self._stamp(path)

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise KeyFileError(f"cannot read {path} ({reason})") from None

    @staticmethod
    def _stamp(path: Path) -> tuple[int, int] | None:
        try:
            stat = os.stat(path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def refresh(self) -> bool:
        """Re-read the file if it changed; True when new keys took effect."""
        if self.path is None:
            return False
        stamp = self._stamp(self.path)
        if stamp is None or stamp == self._seen:
            return False
        self._seen = stamp
        try:
            self.value = self._parse(self._read(self.path))
        except KeyFileError as exc:
            log.warning("%s: %s changed but cannot be used (%s); the keys loaded before stay "
                        "in force", self.what, self.path, exc)
            return False
        log.info("%s: reloaded %s", self.what, self.path)
        return True
