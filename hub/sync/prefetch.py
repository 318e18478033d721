"""Read the next page while the current one is written.

A backfill alternates between waiting on the local system (HTTP, its own paging, JSON)
and waiting on PostgreSQL (COPY, commit). Fetching page N+1 in a thread while page N is
written overlaps the two. At most one page waits in the hand-over, so memory stays flat
whatever the record count, and pages, their cursors and any error arrive in the order
the connector produced them: a failure on page 3 still surfaces only after pages 1 and 2
were applied and committed.
"""
import multiprocessing
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


def read_in_process(pages):
    """Iterate `pages` (a generator of picklable items) produced in a forked child process.

    A thread shares the interpreter lock with the thread that builds and writes pages:
    parsing and mapping a page there took a third of the lock's time in a backfill. A
    child process reads on the other core. The pipe holds at most what fits in its
    buffer, so memory stays flat; items, and an error after them, arrive in order (the
    error raised here, after the pages before it). Closing this generator early ends the
    child. Only where nothing in the parent must be shared with the child but the
    generator itself: the child never touches the parent's database connections, and
    leaves by os._exit, so nothing of the parent's is finalised there."""
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    child = context.Process(target=_read_into, args=(pages, sending, receiving),
                            name="sync-reader", daemon=True)
    child.start()
    sending.close()  # the child's end: once it exits, recv() sees the end of the pipe
    try:
        while True:
            try:
                kind, item = receiving.recv()
            except EOFError:
                raise RuntimeError("the sync reader process ended without a word "
                                   f"(exit code {child.exitcode})") from None
            if kind == "done":
                return
            if kind == "failed":
                raise item
            yield item
    finally:
        receiving.close()
        if child.is_alive():
            child.terminate()
        child.join(timeout=30)


def _read_into(pages, sending, receiving) -> None:
    receiving.close()
    try:
        for page in pages:
            sending.send(("page", page))
        sending.send(("done", None))
    except BrokenPipeError:
        return  # the parent stopped reading
    except BaseException as exc:  # handed to the parent, raised there in order
        try:
            sending.send(("failed", exc))
        except Exception:  # not picklable: its words still reach the parent
            sending.send(("failed", RuntimeError(f"{exc.__class__.__name__}: {exc}")))
