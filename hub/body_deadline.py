"""An overall deadline on reading a request body, so a slow client holds a thread briefly.

gunicorn's threads read a body with plain blocking socket reads: a client that sends one
byte every few seconds keeps a thread (with a sync worker, the whole process) for as long
as it likes, and a few such clients leave nothing to answer anyone else. This middleware
gives every request HUB_REQUEST_BODY_SECONDS from its start to deliver its body, then
answers 408 problem+json; gunicorn closes the connection after it (a body read that
failed leaves the stream's position unknown).

Two things end a read at the deadline. The socket's timeout is set to the time left
before each read, which ends a read the client stopped feeding. A client trickling bytes
never lets one recv() wait that long, though, and gunicorn's body reader loops over
recv() until it has the size asked for; so a watchdog thread per process shuts the read
side of a socket still being read past its deadline, which ends the blocked recv() at
once (the 408 still goes out on the write side).

It needs the socket, which gunicorn hands over as environ["gunicorn.socket"]; under any
other server (the development server, the test client) requests pass through untouched.
"""
import logging
import os
import socket
import threading
import time

from hub.errors import Problem

log = logging.getLogger(__name__)
WATCH_EVERY = 0.25  # seconds between the watchdog's looks: how late past a deadline at most


class BodyDeadline:
    """WSGI middleware: wsgi.input, read under a deadline counted from the request's start."""

    def __init__(self, app, seconds: float):
        self.app, self.seconds = app, seconds

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        if sock is not None and self.seconds > 0:
            environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], sock,
                                                  time.monotonic() + self.seconds, self.seconds)
        return self.app(environ, start_response)


class DeadlineInput:
    """A request body stream whose reads give up at a fixed moment."""

    def __init__(self, stream, sock, deadline: float, seconds: float):
        self._stream, self.sock = stream, sock
        self.deadline, self._seconds = deadline, seconds
        self.expired = False

    def _call(self, method, *args):
        left = self.deadline - time.monotonic()
        if left <= 0 or self.expired:
            raise self._too_slow()
        previous = self.sock.gettimeout()
        self.sock.settimeout(left)
        _watchdog.reading(self)
        try:
            return method(*args)
        except Exception:
            if self.expired or time.monotonic() >= self.deadline:
                # The watchdog's shutdown makes the reader see the end of the stream
                # (gunicorn raises NoMoreData), the socket's timeout raises TimeoutError.
                raise self._too_slow() from None
            raise
        finally:
            _watchdog.done(self)
            try:
                self.sock.settimeout(previous)
            except OSError:  # the socket is gone: nothing to restore
                pass

    def _too_slow(self) -> Problem:
        # A Problem, not an OSError: werkzeug turns a failed read (OSError) into a 400
        # "client disconnected", but this client is still there and should learn why.
        self.expired = True
        return Problem(408, "Request timeout",
                       f"The request body did not arrive within {self._seconds:g} seconds "
                       "of the request's start; send it again in one go.",
                       slug="request-timeout")

    def read(self, size=None):
        return self._checked(self._call(self._stream.read, size))

    def readline(self, size=None):
        return self._checked(self._call(self._stream.readline, size))

    def readlines(self, hint=None):
        return self._checked(self._call(self._stream.readlines, hint))

    def _checked(self, data):
        # The watchdog may have cut the read just as it returned a short piece: what came
        # before the cut is not the whole body, so it must not be parsed as one.
        if self.expired:
            raise self._too_slow()
        return data

    def __iter__(self):
        while True:
            chunk = self.read(8192)
            if not chunk:
                return
            yield chunk


class _Watchdog:
    """Ends reads still running past their deadline. One thread per process, started at
    the first read (after gunicorn forked the worker)."""

    def __init__(self):
        self._active: set = set()
        self._lock = threading.Lock()
        self._pid = None

    def reading(self, body: DeadlineInput) -> None:
        self._active.add(body)
        if self._pid != os.getpid():
            self._start()

    def done(self, body: DeadlineInput) -> None:
        self._active.discard(body)

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="body-deadline", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_EVERY)
            now = time.monotonic()
            for body in [b for b in list(self._active) if b.deadline <= now]:
                body.expired = True
                self._active.discard(body)
                try:
                    body.sock.shutdown(socket.SHUT_RD)
                except OSError:  # already closed
                    pass
                log.info("request body still arriving at its deadline: read cut")


_watchdog = _Watchdog()
