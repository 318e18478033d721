"""`python -m hub.demo` (what `make demo` runs): a hub with demo data on 127.0.0.1:5000.

It needs no server: the database is a SQLite file under ./var (or HUB_DATABASE_URL) and
jobs run in-process. It migrates, seeds master data, creates demo API clients, posts a
few complaints through the API itself, starts the Sleman local-system simulator with
officers at work, connects it through mappings/kab-sleman/lapor-sleman.yaml, syncs it
every few seconds both ways, and serves the hub.
"""
import argparse
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from hub import create_app
from hub.extensions import db

DEMO_REPORTS = [
    ("Jalan berlubang di Jl. Kaliurang km 9", "infrastruktur.jalan", "instagram",
     "Lubang besar di depan pasar, sudah dua motor jatuh minggu ini."),
    ("Lampu PJU mati di Jl. Magelang", "infrastruktur", "twitter",
     "Lampu penerangan jalan umum mati sepanjang 300 meter sejak seminggu lalu."),
    ("Antrian Puskesmas Depok terlalu lama", "kesehatan", "web",
     "Pasien lansia menunggu lebih dari tiga jam tanpa kursi yang cukup."),
]


def _client(name, agency, scopes, client_id):
    from hub.models import ApiClient, hash_secret
    secret = secrets.token_urlsafe(24)
    existing = db.session.get(ApiClient, client_id)
    if existing is None:
        existing = ApiClient(id=client_id, name=name, agency_code=agency, scopes=scopes)
        db.session.add(existing)
    existing.secret_hash = hash_secret(secret)  # a fresh secret every demo start
    existing.secret_generation = (existing.secret_generation or 0) + 1  # old tokens end
    db.session.commit()
    return client_id, secret


def _officer(email="petugas@slemankab.go.id", name="Petugas Sleman", role="officer"):
    """A Sleman account for the web UI; a fresh password every demo start."""
    from werkzeug.security import generate_password_hash

    from hub.models import User
    password = secrets.token_urlsafe(9)
    user = db.session.query(User).filter_by(email=email).first()
    if user is None:
        user = User(email=email, name=name, agency_code="kab-sleman",
                    role=role, active=True, failed_logins=0)
        db.session.add(user)
    user.password_hash = generate_password_hash(password, method="scrypt")
    user.failed_logins, user.locked_until = 0, None
    db.session.commit()
    return email, password


def prepare(app) -> dict:
    from flask_migrate import upgrade

    from hub.models import Report
    from hub.seed import seed_all
    with app.app_context():
        upgrade(revision="heads")
        seed_all(db.session)
        db.session.commit()
        creds = {
            "sleman": _client("Demo: LAPOR Sleman", "kab-sleman",
                              "reports:read reports:write", "demo-sleman"),
            "national": _client("Demo: national administrator", "*", "admin",
                                "demo-national"),
        }
        creds["officer"] = _officer()
        # The agency admin also edits connectors, webhooks and the agency's accounts.
        creds["agency_admin"] = _officer("admin@slemankab.go.id", "Admin LAPOR Sleman",
                                         "agency_admin")
        have_reports = db.session.query(Report).count() > 0
    if not have_reports:
        _post_demo_reports(app, *creds["sleman"])
    return creds


def _post_demo_reports(app, client_id, secret):
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={
        "client_id": client_id, "client_secret": secret}).get_json()["access_token"]
    auth = {"Authorization": f"Bearer {token}", "X-Source-System": "demo"}
    for i, (title, category, channel, body) in enumerate(DEMO_REPORTS):
        resp = client.post("/api/v1/reports", headers=auth, json={
            "title": title, "body": body, "category": category, "channel": channel,
            "location": {"text": "Kabupaten Sleman", "region_code": "34.04"},
            "reporter": {"name": "Warga Sleman", "phone": "0812000000"},
            "privacy": {"anonymous": i == 1, "confidential": False}})
        report = resp.get_json()
        client.post(f"/api/v1/reports/{report['id']}/status", headers=auth,
                    json={"status": "verified"})
        if i == 0:
            client.post(f"/api/v1/reports/{report['id']}/status", headers=auth,
                        json={"status": "dispositioned"})
            client.post(f"/api/v1/reports/{report['id']}/responses", headers=auth, json={
                "body": "Tim DPUPKP sudah menjadwalkan penambalan pada hari Kamis.",
                "author_name": "Pejabat Penghubung DPUPKP"})


def start_simulator(port: int, api_key: str):
    # Its own process group, so stopping it reaches anything it starts too.
    proc = subprocess.Popen([sys.executable, "-m", "simulators.sleman", "--port", str(port),
                             "--api-key", api_key, "--activity-interval", "8",
                             "--generate", "25"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/_sim/state", timeout=1)
            return proc
        except requests.ConnectionError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    stop_simulator(proc)
    raise SystemExit(f"the Sleman simulator did not start on port {port}")


def stop_simulator(proc) -> None:
    """SIGTERM to the simulator's process group; SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _exit_on_sigterm(signum, _frame):
    # SIGTERM (systemd, docker stop, kill) ends the demo like Ctrl-C: through the
    # `finally` that stops the simulator, which would otherwise keep running alone.
    raise SystemExit(128 + signum)


def connect_simulator(app, port: int, api_key: str):
    from hub.sync import files
    doc = files.load_file(Path(__file__).resolve().parent.parent /
                          "mappings/kab-sleman/lapor-sleman.yaml")
    doc["connector"]["config"]["base_url"] = f"http://127.0.0.1:{port}"
    doc["connector"]["interval_seconds"] = 10
    with app.app_context():
        files.import_document(db.session, doc, secrets={"api_key": api_key}, who="demo")
        db.session.commit()


def run_scheduler(app, every: float = 3.0):
    """In-process scheduling for the embedded default (no Redis): due syncs run here."""
    from hub.tasks.jobs import enqueue_due

    def loop():
        while True:
            with app.app_context():
                try:
                    enqueue_due()
                except Exception as exc:  # keep the demo alive; the run records the error
                    print(f"scheduler: {exc}", file=sys.stderr, flush=True)
                    db.session.rollback()
            time.sleep(every)

    threading.Thread(target=loop, daemon=True, name="demo-scheduler").start()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HUB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("HUB_PORT", 5000)))
    parser.add_argument("--simulator-port", type=int, default=5081)
    parser.add_argument("--no-simulator", action="store_true")
    args = parser.parse_args()
    # The demo's local system is the simulator on the loopback: this deployment's
    # operator (the demo) opens that range to connectors, which a hub refuses otherwise.
    os.environ.setdefault("HUB_CONNECTOR_ALLOW_NETWORKS", "127.0.0.0/8")
    # A development hub: with no HUB_SECRET_KEY it makes its own random key, kept in
    # var/secret-key (hub.keys), instead of refusing to start.
    os.environ.setdefault("HUB_ENV", "development")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # The demo is plain http on the loopback: a Secure-only session cookie would not stick.
    app = create_app({"HUB_UI_COOKIE_SECURE": False})
    creds = prepare(app)
    sim = None
    try:
        if not args.no_simulator:
            key = secrets.token_urlsafe(12)
            sim = start_simulator(args.simulator_port, key)
            connect_simulator(app, args.simulator_port, key)
            run_scheduler(app)
        serve(app, args, creds, sim)
    finally:
        if sim:
            stop_simulator(sim)


def serve(app, args, creds, sim) -> None:
    url = f"http://{args.host}:{args.port}"
    lines = [f"LAPOR! hub demo on {url}",
             f"  API docs:   {url}/api/v1/docs",
             f"  local system (simulated LAPOR Sleman): http://127.0.0.1:{args.simulator_port}/"
             if sim else "  (no simulator)",
             f"  database:   {app.config['SQLALCHEMY_DATABASE_URI']}"]
    officer = creds.pop("officer")
    lines.append(f"  web UI:     {url}/ui/  (sign in as {officer[0]} / {officer[1]})")
    agency_admin = creds.pop("agency_admin")
    lines.append(f"              agency admin: {agency_admin[0]} / {agency_admin[1]}")
    for who, (cid, secret) in creds.items():
        lines.append(f"  {who:9} client_id={cid} client_secret={secret}")
    lines.append(f"  try: curl -s -X POST {url}/api/v1/auth/token -H 'Content-Type: "
                 f"application/json' -d '{{\"client_id\": \"{creds['sleman'][0]}\", "
                 f"\"client_secret\": \"{creds['sleman'][1]}\"}}'")
    text = "\n".join(lines)
    Path(app.config["HUB_VAR_DIR"]).mkdir(parents=True, exist_ok=True)
    (Path(app.config["HUB_VAR_DIR"]) / "demo-credentials.txt").write_text(text + "\n")
    print(text, flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
