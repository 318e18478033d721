"""Slow clients against the production setup (real gunicorn from gunicorn.conf.py, two
workers): two clients sending their request bodies a byte every two seconds neither stop
/healthz from answering at once nor hold their threads past the body deadline; they get
408 problem+json within it."""
import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.helpers import free_port, report_payload

pytestmark = pytest.mark.timeout(120)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BODY_SECONDS = 6  # the deadline the server is given (HUB_REQUEST_BODY_SECONDS)
BYTE_EVERY = 2.0


def _gunicorn(app, tmp_path, port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               HUB_SECRET_KEY=app.config["SECRET_KEY"],
               HUB_ATTACHMENT_DIR=str(tmp_path / "attachments"),
               HUB_REQUEST_BODY_SECONDS=str(BODY_SECONDS),
               PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    # As the README says to run it: from the checkout, so gunicorn.conf.py is read.
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def _slow_post(port, path, body: bytes, headers: dict, out: dict):
    """Send the headers at once, then the body a byte at a time until the server answers
    (or the body is all sent); record the answer and when it came."""
    started = time.monotonic()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection(("127.0.0.1", port), timeout=BODY_SECONDS + 20) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json"
                     f"\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode())
        sent = 0
        while sent < len(body):
            try:
                sock.sendall(body[sent:sent + 1])
            except OSError:
                break  # the server closed its side after answering
            sent += 1
            sock.settimeout(BYTE_EVERY)
            try:
                first = sock.recv(65536)
            except socket.timeout:
                continue  # no answer yet: the next byte
            break
        else:
            first = b""
        sock.settimeout(10)
        data = first
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < _length(data):
            more = sock.recv(65536)
            if not more:
                break
            data += more
    out.update(elapsed=time.monotonic() - started, sent=sent, raw=data)


def _length(data: bytes) -> int:
    for line in data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def test_two_slow_clients_get_408_and_healthz_keeps_answering(app, tmp_path, sleman):
    port = free_port()
    server = _gunicorn(app, tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            raise AssertionError(server.stderr.read().decode()[-2000:])

        report = json.dumps(report_payload()).encode()
        slow = [
            ("/api/v1/reports", report, {"Authorization": f"Bearer {sleman.token}"}),
            ("/api/v1/auth/token",
             json.dumps({"client_id": "nobody", "client_secret": "x" * 40}).encode(), {}),
        ]
        results = [{} for _ in slow]
        threads = [threading.Thread(target=_slow_post, args=(port, path, body, headers, out),
                                    daemon=True)
                   for (path, body, headers), out in zip(slow, results, strict=True)]
        for t in threads:
            t.start()
        time.sleep(0.5)  # both slow requests are in

        # /healthz throughout, a fresh connection each time, until both slow ones ended.
        probes, slowest = 0, 0.0
        until = time.monotonic() + BODY_SECONDS + 8
        while any(t.is_alive() for t in threads) and time.monotonic() < until:
            started = time.monotonic()
            resp = requests.get(url + "/healthz", timeout=5)
            took = time.monotonic() - started
            assert resp.status_code == 200
            assert took < 1.0, f"/healthz took {took:.1f} s while two clients were slow"
            probes, slowest = probes + 1, max(slowest, took)
            time.sleep(0.3)
        for t in threads:
            t.join(5)
        assert probes >= 10, probes

        for (path, _body, _headers), out in zip(slow, results, strict=True):
            assert out, f"{path}: the slow client never finished"
            head, _, body = out["raw"].partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408"), (path, out["raw"][:300])
            assert b"application/problem+json" in head.lower()
            problem = json.loads(body)
            assert problem["status"] == 408 and problem["type"] == "/problems/request-timeout"
            # Within the deadline (plus the watchdog's step and a slow machine's margin),
            # long before the body could have been sent.
            assert BODY_SECONDS - 0.5 <= out["elapsed"] <= BODY_SECONDS + 2.5, out["elapsed"]
            assert out["sent"] < len(_body)

        # The server is whole: a normal request right after works.
        assert requests.get(url + "/readyz", timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
