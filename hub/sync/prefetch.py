"""Read the next page while the current one is written.

A backfill alternates between waiting on the local system (HTTP, its own paging, JSON)
and waiting on PostgreSQL (COPY, commit). Fetching page N+1 in a thread while page N is
written overlaps the two. At most one page waits in the hand-over, so memory stays flat
whatever the record count, and pages, their cursors and any error arrive in the order
the connector produced them: a failure on page 3 still surfaces only after pages 1 and 2
were applied and committed.
"""
import queue
import threading

_DONE = object()


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def prefetched(pages, depth: int = 1):
    """Iterate `pages` (a connector's read() generator) one page ahead, in a thread.

    Closing this generator early (the caller failed, the lease was lost) stops the
    reader after at most the page it is fetching."""
    hand_over: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                hand_over.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read():
        try:
            for page in pages:
                if not put(page):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the caller, raised there in order
            put(_Failed(exc))
        finally:
            close = getattr(pages, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="sync-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            item = hand_over.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.exc
            yield item
    finally:
        stop.set()
        reader.join(timeout=60)
