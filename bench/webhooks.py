"""Webhooks: events delivered per second to a local receiver, commit-to-delivery latency
(p50/p95; target p95 < 2 s), fan-out of one stream of changes to 50 subscribers (all at
one destination host, then each at its own), and the same fan-out while 5 of the 50
receivers hang (take the connection, never answer): deliveries/s and latency of the 45
healthy ones, which must not wait for the others.

The hub runs under gunicorn with Redis and RQ workers (`hub worker`), as in production:
a commit nudges the relay, workers fan out and deliver. The receiver is a threaded HTTP
server in this process that verifies every signature; a report's latency runs from the
moment its POST /reports answered (the commit) to the moment the receiver got its
`report.created`. Every expected event must arrive (by webhook-id) before a figure is
reported.
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests
from standardwebhooks import Webhook

from bench import harness

REDIS_URL = os.environ.get("HUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


class Receiver:
    def __init__(self):
        self.secrets: dict = {}  # path -> secret
        self.got: dict = {}  # (path, webhook-id) -> (time, payload)
        self.bad = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a production receiver would

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    payload = Webhook(receiver.secrets[self.path]).verify(body, dict(self.headers))
                except Exception:
                    with receiver.lock:
                        receiver.bad += 1
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                key = (self.path, self.headers["webhook-id"])
                with receiver.lock:
                    receiver.got.setdefault(key, (time.monotonic(), payload))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256
            daemon_threads = True

        self._server_class, self._handler = Server, Handler
        self.servers = []
        self.server = self.listen()
        self.url = self.url_of(self.server)

    def listen(self):
        """One more port of this receiver (same secrets, same record): a subscriber on
        its own port is its own destination host for the relay's per-host share."""
        server = self._server_class(("127.0.0.1", 0), self._handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.servers.append(server)
        return server

    @staticmethod
    def url_of(server) -> str:
        return f"http://127.0.0.1:{server.server_address[1]}"

    def shutdown(self):
        for server in self.servers:
            server.shutdown()

    def count(self) -> int:
        with self.lock:
            return len(self.got)

    def wait_for(self, n: int, timeout: float) -> float:
        deadline = time.monotonic() + timeout
        while self.count() < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {self.count()} of {n} deliveries arrived")
            time.sleep(0.02)
        with self.lock:
            return max(t for t, _ in self.got.values())

    def created_at(self, path: str) -> dict:
        """report id -> receipt time of its report.created at this subscriber."""
        with self.lock:
            return {p["data"]["report_id"]: t for (pa, _), (t, p) in self.got.items()
                    if pa == path and p["type"] == "report.created"}


@contextmanager
def _gunicorn(env, workers):
    """harness.gunicorn, but patient: on the shared 2-core machine a start can take
    longer than its 30 s."""
    port = harness.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", str(workers), "-b",
                             f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                            cwd=harness.ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                if requests.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


class Hanging:
    """A receiver that takes connections and never answers (until stopped)."""

    def __init__(self):
        import socket
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def stop(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


def _worker(env, queue):
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "hub", "worker",
                             "--queues", queue], cwd=harness.ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _subscribe(url, tok, receiver, path, base=None):
    resp = requests.post(url + "/api/v1/webhooks", json={
        "url": (base or receiver.url) + path, "event_types": ["report.created"]},
        headers={"Authorization": f"Bearer {tok}"}, timeout=30)
    resp.raise_for_status()
    receiver.secrets[path] = resp.json()["secret"]


def _create(url, tok, i) -> tuple[str, float]:
    resp = requests.post(url + "/api/v1/reports", json={
        "title": f"Lampu jalan mati nomor {i}", "body": "Sudah seminggu gelap.",
        "category": "infrastruktur.jalan", "channel": "web",
        "reporter": {"name": f"Warga {i}"}}, headers={"Authorization": f"Bearer {tok}"},
        timeout=30)
    resp.raise_for_status()
    return resp.json()["id"], time.monotonic()


def _paced(url, tok, n, rate) -> tuple[dict, float]:
    """n reports at `rate` per second from 4 threads; returns ({id: commit time}, start)."""
    start = time.monotonic()

    def one(i):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return _create(url, tok, i)

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(one, range(n))), start


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _latencies(committed: dict, received: dict) -> list[float]:
    return [received[rid] - t for rid, t in committed.items()]


def run(events: int = 300, rate: float = 30.0, subscribers: int = 50,
        fanout_reports: int = 40, workers: int = 2, rq_workers: int = 2,
        hanging: int = 5) -> list:
    db_url = harness.scratch_database("hub_bench_webhooks")
    queue = f"bench-webhooks-{uuid.uuid4().hex[:8]}"
    env = harness.prepare_hub_db(db_url)
    env.update({"HUB_REDIS_URL": REDIS_URL, "HUB_WEBHOOK_QUEUE": queue,
                "HUB_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8"})
    writer = harness.create_client(env, "kab-sleman")
    owner = harness.create_client(env, "kab-sleman", "reports:read webhooks:manage")
    receiver = Receiver()
    procs = [_worker(env, queue) for _ in range(rq_workers)]
    rows = [("measure", "events", "seconds", "events/s", "latency p50", "latency p95")]
    try:
        with _gunicorn(env, workers) as url:
            wtok = harness.token(url, *writer)
            otok = harness.token(url, *owner)
            # 1. one subscriber, a steady stream of changes
            _subscribe(url, otok, receiver, "/one")
            committed, start = _paced(url, wtok, events, rate)
            last = receiver.wait_for(events, timeout=120)
            lat = _latencies(committed, receiver.created_at("/one"))
            rows.append((f"1 subscriber, {rate:g} reports/s offered", events,
                         f"{last - start:.2f}", f"{events / (last - start):,.0f}",
                         f"{statistics.median(lat) * 1000:,.0f} ms",
                         f"{_pct(lat, 0.95) * 1000:,.0f} ms"))
            # 1b. the same stream while a second subscription's receiver hangs: the
            # healthy one must not wait behind it (target: its p95 < 2 s)
            rows.append(_beside_hanging(url, otok, wtok, receiver, events, rate))
            # 2. as fast as the writers go: delivery throughput
            base = receiver.count()
            t0 = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                burst = dict(pool.map(lambda i: _create(url, wtok, 100_000 + i),
                                      range(events)))
            last = receiver.wait_for(base + events, timeout=180)
            lat = _latencies(burst, receiver.created_at("/one"))
            rows.append(("1 subscriber, burst (4 writers flat out)", events,
                         f"{last - t0:.2f}", f"{events / (last - t0):,.0f}",
                         f"{statistics.median(lat) * 1000:,.0f} ms",
                         f"{_pct(lat, 0.95) * 1000:,.0f} ms"))
            # 3. fan-out: the same kind of stream to `subscribers` subscriptions, all
            # at one destination host (one integrator), so the relay's per-host share
            # (HUB_WEBHOOK_HOST_CONCURRENCY) bounds it by design
            for k in range(1, subscribers):
                _subscribe(url, otok, receiver, f"/s{k}")
            paths = ["/one"] + [f"/s{k}" for k in range(1, subscribers)]
            rows.append(_fanout(f"fan-out to {subscribers} subscribers at one host "
                                f"({fanout_reports} reports)", url, wtok, receiver, paths,
                                fanout_reports, rate))
            # 3b. the same, each subscriber its own host (50 integrators)
            _spread(url, otok, receiver)
            rows.append(_fanout(f"fan-out to {subscribers} subscribers, one host each "
                                f"({fanout_reports} reports)", url, wtok, receiver, paths,
                                fanout_reports, rate))
            # 4. the same fan-out while `hanging` of the receivers never answer
            rows.append(_with_hanging(url, otok, wtok, receiver, subscribers, hanging,
                                      fanout_reports, rate))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        receiver.shutdown()
    assert receiver.bad == 0, f"{receiver.bad} deliveries failed signature verification"
    return rows


def _fanout(label, url, wtok, receiver, paths, reports, rate):
    base = receiver.count()
    expected = reports * len(paths)
    t0 = time.monotonic()
    committed, _ = _paced(url, wtok, reports, rate)
    last = receiver.wait_for(base + expected, timeout=300)
    lat = []
    for path in paths:
        lat += _latencies(committed, receiver.created_at(path))
    return (label, expected, f"{last - t0:.2f}", f"{expected / (last - t0):,.0f}",
            f"{statistics.median(lat) * 1000:,.0f} ms", f"{_pct(lat, 0.95) * 1000:,.0f} ms")


def _subscriptions(url, otok) -> list:
    return requests.get(url + "/api/v1/webhooks", headers={"Authorization": f"Bearer {otok}"},
                        timeout=30).json()["items"]


def _spread(url, otok, receiver) -> None:
    """Move every subscription to a port of its own (same receiver, same path)."""
    for sub in _subscriptions(url, otok):
        path = urlsplit(sub["url"]).path
        requests.patch(f"{url}/api/v1/webhooks/{sub['id']}",
                       json={"url": receiver.url_of(receiver.listen()) + path},
                       headers={"Authorization": f"Bearer {otok}"},
                       timeout=30).raise_for_status()


def _beside_hanging(url, otok, wtok, receiver, events, rate):
    dead = Hanging()
    resp = requests.post(url + "/api/v1/webhooks", json={
        "url": dead.url + "/stuck", "event_types": ["report.created"]},
        headers={"Authorization": f"Bearer {otok}"}, timeout=30)
    resp.raise_for_status()
    try:
        base = receiver.count()
        committed, start = _paced(url, wtok, events, rate)
        last = receiver.wait_for(base + events, timeout=120)
        lat = _latencies(committed, receiver.created_at("/one"))
        return (f"1 subscriber beside 1 hanging, {rate:g} reports/s offered (the healthy one)",
                events, f"{last - start:.2f}", f"{events / (last - start):,.0f}",
                f"{statistics.median(lat) * 1000:,.0f} ms", f"{_pct(lat, 0.95) * 1000:,.0f} ms")
    finally:
        requests.delete(f"{url}/api/v1/webhooks/{resp.json()['id']}",
                        headers={"Authorization": f"Bearer {otok}"},
                        timeout=30).raise_for_status()
        dead.stop()


def _with_hanging(url, otok, wtok, receiver, subscribers, hanging, reports, rate):
    """Point `hanging` of the subscriptions at receivers that never answer; measure
    the others."""
    stuck = [Hanging() for _ in range(hanging)]
    subs = _subscriptions(url, otok)
    healthy_paths = ["/one"] + [f"/s{k}" for k in range(1, subscribers)]
    try:
        for sub, dead in zip(subs[-hanging:], stuck, strict=False):
            path = urlsplit(sub["url"]).path
            requests.patch(f"{url}/api/v1/webhooks/{sub['id']}", json={"url": dead.url + path},
                           headers={"Authorization": f"Bearer {otok}"},
                           timeout=30).raise_for_status()
            healthy_paths.remove(path)
        base = receiver.count()
        expected = reports * len(healthy_paths)
        t0 = time.monotonic()
        committed, _ = _paced(url, wtok, reports, rate)
        last = receiver.wait_for(base + expected, timeout=300)
        lat = []
        for path in healthy_paths:
            got = receiver.created_at(path)
            lat += [got[rid] - t for rid, t in committed.items()]
        return (f"fan-out to {subscribers} subscribers, {hanging} of them hanging "
                f"({reports} reports; the {len(healthy_paths)} healthy ones)", expected,
                f"{last - t0:.2f}", f"{expected / (last - t0):,.0f}",
                f"{statistics.median(lat) * 1000:,.0f} ms", f"{_pct(lat, 0.95) * 1000:,.0f} ms")
    finally:
        for dead in stuck:
            dead.stop()


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
