"""Faults switched on through /_sim/faults, applied to the /api/ routes."""
import json
import random
import threading

from flask import Response

MODES = ("none", "error500", "error503", "timeout", "garbage", "wrong_shape",
         "duplicate_pages", "reorder", "stall", "bad_record")


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.cancel = threading.Event()
        self.set({"mode": "none"})

    def set(self, spec: dict) -> None:
        mode = spec.get("mode", "none")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        with self.lock:
            self.mode, self.remaining = mode, spec.get("count")
            self.paths = spec.get("paths") or ["/api/"]
            self.delay = float(spec.get("delay", 30))
        self.cancel.set()  # wake any request sleeping in a timeout
        self.cancel = threading.Event()

    def take(self, path: str) -> str:
        """The fault for this request (consuming one of `count`), or 'none'."""
        with self.lock:
            if self.mode == "none" or not any(path.startswith(p) for p in self.paths):
                return "none"
            mode = self.mode
            if self.remaining is not None:
                self.remaining -= 1
                if self.remaining <= 0:
                    self.mode = "none"
            return mode

    def before(self, mode: str):
        """Faults that replace the answer entirely; None lets the route answer."""
        if mode == "error500":
            return Response("<h1>500 Internal Server Error</h1>", 500, mimetype="text/html")
        if mode == "error503":
            return Response("Service Unavailable", 503, headers={"Retry-After": "1"})
        if mode == "timeout":
            self.cancel.wait(self.delay)
            return Response("Gateway Timeout", 504)
        if mode == "garbage":
            return Response('{"data": [{"id_aduan": 1, "judul": "tr', 200,
                            mimetype="application/json")
        if mode == "wrong_shape":
            return Response(json.dumps({"data": "maaf, sedang pemeliharaan"}), 200,
                            mimetype="application/json")
        return None

    @staticmethod
    def page_args(mode: str, page: int) -> int:
        if mode == "duplicate_pages" and page > 1:
            return page - 1
        if mode == "stall":
            return 1
        return page

    @staticmethod
    def items(mode: str, items: list) -> list:
        if mode == "reorder":
            items = list(items)
            random.shuffle(items)
        if mode == "bad_record" and items:
            items = [dict(items[0], judul=None, diperbarui_pada="2026-11-01 10:00:00")] + \
                items[1:]
        return items
