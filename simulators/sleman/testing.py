"""Run the simulator on 127.0.0.1 in a thread, for tests and benchmarks (real HTTP).

    with run_simulator({"idempotent_create": True}) as sim:
        sim.generate(100, with_responses=True)
        sim.fault("error503", count=2)
        requests.get(sim.url + "/api/aduan", headers={"X-API-Key": sim.api_key})
"""
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
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                       kwargs={"poll_interval": 0.05},
                                       name=f"sleman-sim-{self.server.server_port}")
        self.thread.start()
        self.http = requests.Session()

    @property
    def store(self):
        """The simulator's Store; store.aduan / store.tanggapan are read-only
        {id: record} mappings in the API's JSON shape."""
        return self.app.extensions["sim"]["store"]

    # --- /_sim controls --------------------------------------------------------------

    def control(self, path: str, body=None) -> dict:
        """POST /_sim/<path> with a JSON body; raises for an HTTP error."""
        resp = self.http.post(f"{self.url}/_sim/{path}", json=body or {}, timeout=120)
        resp.raise_for_status()
        return resp.json()

    def state(self) -> dict:
        resp = self.http.get(f"{self.url}/_sim/state", timeout=30)
        resp.raise_for_status()
        return resp.json()

    def fault(self, mode, **kw) -> dict:
        """fault("error500", count=2, paths=["/api/tanggapan"], delay=5, retry_after=3);
        fault("none") or fault(None) clears."""
        return self.control("faults", {"mode": mode or "none", **kw})

    def generate(self, count: int, seed: int = 1, with_responses: bool = False, **kw) -> dict:
        return self.control("generate", {"count": count, "seed": seed,
                                         "with_responses": with_responses, **kw})

    def reset(self) -> dict:
        return self.control("reset")

    def set_clock(self, offset_seconds: float) -> dict:
        return self.control("clock", {"offset_seconds": offset_seconds})

    def create_aduan(self, **fields) -> dict:
        return self.control("aduan", fields)["data"]

    def set_status(self, id_aduan: int, status: str, catatan=None) -> dict:
        return self.control(f"aduan/{id_aduan}/status",
                            {"status": status, "catatan": catatan})["data"]

    def add_tanggapan(self, id_aduan: int, **fields) -> dict:
        return self.control(f"aduan/{id_aduan}/tanggapan", fields)["data"]

    # --- the API, with the key --------------------------------------------------------

    def api(self, method: str, path: str, **kw) -> requests.Response:
        headers = {"X-API-Key": self.api_key, **kw.pop("headers", {})}
        return self.http.request(method, self.url + path, headers=headers,
                                 timeout=kw.pop("timeout", 30), **kw)

    def stop(self) -> None:
        sim = self.app.extensions["sim"]
        sim["stop"].set()
        sim["faults"].set({"mode": "none"})  # wakes requests sleeping in a timeout
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        self.http.close()
        sim["store"].close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def run_simulator(config=None) -> SimulatorHandle:
    return SimulatorHandle(config)
