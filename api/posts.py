"""Officer posts: their ids, and who holds each one now.

A post id is the key of the directory topic, e.g. `JSV/L1/Shimla/Theog` (department,
level, district, unit; streams/directory.py). An officer's token names a post; the officer
who acts is whoever holds it now: `PostHolders` starts from the reference directory and
follows `reference.officers.v1` as the workers do, so a transfer of officers takes effect in
the API as it does in routing, without a restart and without any state of the API's own.
"""

from __future__ import annotations

import difflib
import functools
import threading
from types import MappingProxyType

from core.reference import Officer, build_officer_directory
from schemas.directory import OfficerPost
from streams.directory import LiveDirectory, post_of


@functools.cache
def posts() -> MappingProxyType[str, Officer]:
    """post id -> the seed officer of that post (department, level and place of the post)."""
    return MappingProxyType({post_of(o).post_id: o for o in build_officer_directory()})


def unknown_post_message(post_id: str) -> str:
    close = difflib.get_close_matches(post_id, list(posts()), n=3, cutoff=0.75)
    hint = f"; did you mean {', '.join(close)}?" if close else (
        "; post ids look like JSV/L1/Shimla/Theog (department/level/district/unit)")
    return f"no post {post_id!r}{hint}"


class PostHolders(LiveDirectory):
    """post id -> officer id of the current holder, kept current from the directory topic
    (`follow(settings)`, inherited: a background reader from the topic's beginning)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._holder = {post_id: o.officer_id for post_id, o in posts().items()}
        self._post_of = {officer_id: post_id for post_id, officer_id in self._holder.items()}

    def stop(self) -> None:
        # The reader is a daemon thread that reads without a consumer group: nothing to
        # commit or leave, so shutting down does not wait for it (it may be waiting on a
        # broker that is gone).
        self._stop.set()

    def holder(self, post_id: str) -> str | None:
        """The officer id holding `post_id` now; None if the post is vacant or unknown."""
        return self._holder.get(post_id)

    def apply(self, post: OfficerPost) -> None:
        # One person, one post (as in core.reference.OfficerDirectory.upsert): an officer
        # moved to this post leaves their previous post vacant.
        with self._lock:
            previous = self._post_of.get(post.officer_id)
            if previous is not None and previous != post.post_id:
                self._holder.pop(previous, None)
            displaced = self._holder.get(post.post_id)
            if displaced is not None and displaced != post.officer_id:
                self._post_of.pop(displaced, None)
            self._holder[post.post_id] = post.officer_id
            self._post_of[post.officer_id] = post.post_id
            self.updates_applied += 1
