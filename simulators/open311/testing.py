"""Run the Open311 simulator on 127.0.0.1 in a thread, for tests (real HTTP)."""
import threading

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from simulators.open311.app import create_app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class SimulatorHandle:
    def __init__(self, config=None):
        self.app = create_app(config)
        self.api_key = self.app.config["API_KEY"]
        self.jurisdiction = self.app.config["JURISDICTION"]
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

    def request(self, **fields):
        """A citizen files a request in the local system."""
        return self.control("requests", fields)

    def update(self, sid, **fields):
        """A local officer posts an update (status and/or text) on a request."""
        return self.control(f"requests/{sid}/updates", fields)

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
