"""The report life-cycle as a state machine."""
import functools
from collections import deque

TRANSITIONS = {
    "received": ("verified", "rejected"),
    "verified": ("dispositioned", "rejected"),
    # A disposition to another agency keeps `dispositioned` (see dispositions service).
    "dispositioned": ("in_progress",),
    "in_progress": ("resolved",),
    "resolved": ("in_progress", "closed"),  # reopened when the reporter disputes
    "closed": (),
    "rejected": (),
}
# Dispositions (first, or forwarding to another agency: "no wrong door").
DISPOSITION_FROM = ("verified", "dispositioned", "in_progress")


def allowed(current: str) -> tuple:
    return TRANSITIONS.get(current, ())


def path(current: str, target: str) -> list[str] | None:
    """Shortest legal walk (see _path); a fresh list the caller may keep."""
    found = _path(current, target)
    return None if found is None else list(found)


@functools.lru_cache(maxsize=256)  # a fixed machine: a backfill asks the same few walks
def _path(current: str, target: str) -> tuple[str, ...] | None:
    """Shortest legal walk from current to target (excluding current), or None.

    A source system that says a report is `resolved` while the hub holds it at
    `received` did the intermediate steps without telling us; walking the path keeps the
    timeline complete instead of refusing the record.
    """
    if current == target:
        return ()
    seen, queue = {current}, deque([(current, [])])
    while queue:
        state, walk = queue.popleft()
        for nxt in TRANSITIONS[state]:
            if nxt in seen:
                continue
            if nxt == target:
                return tuple(walk + [nxt])
            seen.add(nxt)
            queue.append((nxt, walk + [nxt]))
    return None
