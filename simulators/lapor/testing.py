"""Run the SP4N-LAPOR! simulator on 127.0.0.1 in a thread, for tests (real HTTP)."""
import threading

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from simulators.lapor.app import create_app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class SimulatorHandle:
    def __init__(self, config=None):
        self.app = create_app(config)
        self.api_key = self.app.config["API_KEY"]
        self.token = self.app.config["TOKEN"]
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                  request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.http = requests.Session()

    @property
    def store(self):
        return self.app.extensions["sim"]["store"]

    def control(self, path, body=None):
        resp = self.http.post(self.url + "/_sim/" + path, json=body or {}, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def complaint(self, **fields):
        """A citizen reports nationally; with institution_id it is dispositioned there."""
        return self.control("complaints", fields)

    def status(self, tracking_id, status):
        """A national admin (or the agency on lapor.go.id) changes the status."""
        return self.control(f"complaints/{tracking_id}/status", {"status": status})

    def followup(self, tracking_id, **fields):
        return self.control(f"complaints/{tracking_id}/followups", fields)

    def api(self, method, path, **kw):
        return self.http.request(method, self.url + path, timeout=30, headers={
            "Authorization": f"Bearer {self.api_key}", "token": self.token}, **kw)

    def fault(self, mode=None, count=None):
        return self.control("fault", {"mode": mode, "count": count})

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_simulator(config=None) -> SimulatorHandle:
    return SimulatorHandle(config)
