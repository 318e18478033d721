"""Public tracking numbers: a sequence number plus a Damm check digit.

The check digit catches every single-digit typo and adjacent transposition, which is
how tracking numbers are mangled when read out over the phone or SMS.
"""
from collections import deque

import sqlalchemy as sa

from hub.services import storage
from hub.services.events import allocate

_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2), (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9), (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8), (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4), (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5), (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm(digits: str) -> int:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][int(ch)]
    return interim


def is_valid(tracking_id: str) -> bool:
    return tracking_id.isdigit() and len(tracking_id) >= 2 and damm(tracking_id) == 0


POOL = 50  # numbers fetched per round trip; unused ones are simply skipped


def allocate_tracking_ids(session, n: int) -> list[str]:
    # A deque: a page takes its numbers one at a time from a pool of hundreds, and
    # slicing a list copied the rest of the pool on every take.
    pool = session.info.setdefault("tracking_pool", deque())
    if len(pool) < n:
        pool.extend(_fetch(session, max(n - len(pool), POOL)))
    taken = [pool.popleft() for _ in range(n)]
    return [f"{num}{damm(str(num))}" for num in taken]


def reserve_tracking_ids(session, n: int) -> None:
    """Fill the pool so that the next n allocate_tracking_ids(session, 1) calls need no
    round trip: a page or batch of new reports fetches its numbers at once."""
    pool = session.info.setdefault("tracking_pool", deque())
    if len(pool) < n:
        pool.extend(_fetch(session, n - len(pool)))


def _fetch(session, n: int):
    if storage.is_postgresql(session):  # a sequence hands out numbers without a row lock
        return session.execute(
            sa.text("SELECT nextval('tracking_number_seq') FROM generate_series(1, :n)"),
            {"n": n}).scalars().all()
    last = allocate(session, "tracking", n)
    return list(range(last - n + 1, last + 1))
