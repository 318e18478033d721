"""A real HTTP receiver on 127.0.0.1 that verifies every delivery's signature, and helpers
to subscribe and to run the relay in this process."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

FAST = {
    "HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",
    "HUB_WEBHOOK_RETRY_BASE_SECONDS": 1.0,
    "HUB_WEBHOOK_RETRY_MAX_SECONDS": 1.0,
    "HUB_WEBHOOK_CLAIM_SECONDS": 4.0,
    "HUB_WEBHOOK_TIMEOUT_SECONDS": 3.0,
}


class Receiver:
    """Accepts deliveries at /hook; `respond(n, path)` may return (status, headers) to
    answer otherwise (n counts requests). Every request is signature-checked."""

    def __init__(self):
        self.secrets: list[str] = []
        self.requests: list[dict] = []  # every request, verified or not
        self.accepted: list[dict] = []  # 2xx answers to verified requests
        self.respond = None
        self.delay = 0.0
        self.lock = threading.Lock()
        self.server = None
        self.port = 0
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items()}
                verified, payload = False, None
                for secret in receiver.secrets:
                    try:
                        payload = Webhook(secret).verify(body, headers)
                        verified = True
                        break
                    except WebhookVerificationError:
                        continue
                with receiver.lock:
                    n = len(receiver.requests) + 1
                    receiver.requests.append({"path": self.path, "headers": headers,
                                              "verified": verified, "at": time.time()})
                if receiver.delay:
                    time.sleep(receiver.delay)
                status, extra = 200, {}
                if receiver.respond is not None:
                    answer = receiver.respond(n, self.path)
                    if answer is not None:
                        status, extra = answer
                if not verified:
                    status = 401
                if 200 <= status < 300:
                    with receiver.lock:
                        receiver.accepted.append({"id": headers.get("webhook-id"),
                                                  "payload": payload, "at": time.time()})
                try:
                    self.send_response(status)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender died mid-request (the SIGKILL test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> list[str]:
        with self.lock:
            return [a["id"] for a in self.accepted]

    def payloads(self) -> list[dict]:
        with self.lock:
            return [a["payload"] for a in self.accepted]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    try:
        r.stop()
    except Exception:
        pass


@pytest.fixture
def fast(app):
    """Loopback allowed and short retry timings, for this test only."""
    saved = {k: app.config.get(k) for k in FAST}
    app.config.update(FAST)
    yield FAST
    for k, v in saved.items():
        if v is None:
            app.config.pop(k, None)
        else:
            app.config[k] = v


def subscribe(caller, receiver, **fields):
    resp = caller.post("/webhooks", json={"url": receiver.url, **fields})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    receiver.secrets.append(body["secret"])
    return body


def relay(app, until=lambda: True, timeout=20.0):
    """Run the relay job in this process until `until()` holds (or time runs out)."""
    from hub.tasks.webhooks import relay_webhooks
    deadline = time.time() + timeout
    while True:
        with app.app_context():
            relay_webhooks(max_seconds=5)
        if until() or time.time() > deadline:
            return until()
        time.sleep(0.1)


def auth(caller):
    return {"Authorization": f"Bearer {caller.token}"}


def event_types(payloads):
    return [p["type"] for p in payloads]


def dump(obj):
    return json.dumps(obj, indent=1, default=str)[:3000]


# The Sleman simulator and its connector, for the sync.failed test.
from tests.sync.conftest import connector, sim, sleman_doc  # noqa: E402,F401
