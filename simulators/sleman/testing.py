"""Run the simulator on 127.0.0.1 in a thread, for tests and benchmarks (real HTTP)."""
import threading

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from simulators.sleman.app import create_app


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # tests read results, not access logs
        pass


class SimulatorHandle:
    def __init__(self, config=None):
        self.app = create_app(config)
        self.api_key = self.app.config["API_KEY"]
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
        resp = self.http.post(self.url + "/_sim/" + path, json=body or {}, timeout=60)
        resp.raise_for_status()
        return resp.json()

    def fault(self, mode, **kw):
        return self.control("faults", {"mode": mode, **kw})

    def generate(self, count, seed=1, with_responses=False):
        return self.control("generate", {"count": count, "seed": seed,
                                         "with_responses": with_responses})

    def reset(self):
        return self.control("reset")

    def api(self, method, path, **kw):
        return self.http.request(method, self.url + path, headers={"X-API-Key": self.api_key},
                                 timeout=30, **kw)

    def stop(self):
        self.app.extensions["sim"]["faults"].set({"mode": "none"})
        self.server.shutdown()
        self.thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_simulator(config=None) -> SimulatorHandle:
    return SimulatorHandle(config)
