"""Serve a simulator app on 127.0.0.1 (a free port) in a thread, for tests and benchmarks
over real HTTP; the Open311 and SP4N-LAPOR! handles build on this."""
import threading

import requests
from werkzeug.serving import WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # tests read results, not access logs
        pass


class ServedApp:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True,
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

    def fault(self, mode=None, count=None):
        return self.control("fault", {"mode": mode, "count": count})

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
