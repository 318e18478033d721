"""Faults switched on through POST /_sim/faults, applied to the /api/ routes.

{"mode": M, "count": K or null, "paths": ["/api/aduan", ...], "delay": s, "retry_after": s}
`count` requests matching `paths` (prefixes, default ["/api/"]) get the fault, then it
clears itself; count null keeps it until {"mode": "none"} or /_sim/reset.
"""
import json
import random
import threading
from dataclasses import dataclass

from flask import Response

MODES = ("none", "error500", "error503", "timeout", "garbage", "wrong_shape",
         "duplicate_pages", "reorder", "stall", "bad_record")
NAIVE_STAMP = "2026-11-01 10:00:00"


@dataclass(frozen=True)
class Fault:
    mode: str
    delay: float = 30.0
    retry_after: int = 1
    wake: threading.Event | None = None


NO_FAULT = Fault("none")


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.hits = 0
        self.set({"mode": "none"})

    def set(self, spec) -> dict:
        """Validate and switch; raises ValueError. Wakes requests sleeping in a timeout."""
        if not isinstance(spec, dict):
            raise ValueError("body must be a JSON object")
        mode = spec.get("mode") or "none"
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        count = spec.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)
                                  or count < 1):
            raise ValueError("count must be a positive integer or null")
        paths = spec.get("paths") or ["/api/"]
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ValueError("paths must be a list of path prefixes")
        try:
            delay = float(spec.get("delay", 30))
            retry_after = int(spec.get("retry_after", 1))
        except (TypeError, ValueError):
            raise ValueError("delay and retry_after must be numbers") from None
        if delay < 0 or retry_after < 0:
            raise ValueError("delay and retry_after must not be negative")
        with self.lock:
            self.wake.set()
            self.wake = threading.Event()
            self.mode, self.remaining, self.paths = mode, count, paths
            self.delay, self.retry_after = delay, retry_after
            self.hits = 0
        return self.state()

    def state(self) -> dict:
        with self.lock:
            return {"mode": self.mode, "remaining": self.remaining, "paths": self.paths,
                    "delay": self.delay, "retry_after": self.retry_after, "hits": self.hits}

    def take(self, path: str) -> Fault:
        """The fault for this request (consuming one of `count`), or NO_FAULT."""
        with self.lock:
            if self.mode == "none" or not any(path.startswith(p) for p in self.paths):
                return NO_FAULT
            fault = Fault(self.mode, self.delay, self.retry_after, self.wake)
            self.hits += 1
            if self.remaining is not None:
                self.remaining -= 1
                if self.remaining <= 0:
                    self.mode, self.remaining = "none", None
            return fault


def before(fault: Fault):
    """Faults that replace the answer; None lets the route answer (after any delay)."""
    if fault.mode == "error500":
        return Response("<!doctype html><html><body><h1>500 Internal Server Error</h1>"
                        "<p>Whoops, looks like something went wrong.</p></body></html>",
                        500, mimetype="text/html")
    if fault.mode == "error503":
        return Response("<h1>503 Service Unavailable</h1><p>Sedang pemeliharaan.</p>", 503,
                        mimetype="text/html", headers={"Retry-After": str(fault.retry_after)})
    if fault.mode == "timeout":
        fault.wake.wait(fault.delay)  # set() or reset wakes it early
        return None
    if fault.mode == "garbage":
        return Response('{"data": [{"id_aduan": 1, "judul": "Jalan rusak di', 200,
                        mimetype="application/json")
    if fault.mode == "wrong_shape":
        return Response(json.dumps({"data": "maaf, sistem sedang pemeliharaan",
                                    "meta": None}), 200, mimetype="application/json")
    return None


def page_for(fault: Fault, page: int) -> int:
    """The page actually served: duplicate_pages serves page N again as N+1; stall always
    serves the first page."""
    if fault.mode == "duplicate_pages" and page > 1:
        return page - 1
    if fault.mode == "stall":
        return 1
    return page


def mangle(fault: Fault, items: list) -> list:
    if fault.mode == "reorder" and len(items) > 1:
        shuffled = list(items)
        for _ in range(10):  # a shuffle that changes nothing would hide the fault
            random.shuffle(shuffled)
            if shuffled != items:
                break
        return shuffled
    if fault.mode == "bad_record" and items:
        bad = dict(items[0], diperbarui_pada=NAIVE_STAMP)
        bad.pop("judul", None)
        return [bad, *items[1:]]
    return items
