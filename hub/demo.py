"""`python -m hub.demo` (what `make demo` runs): a hub with demo data on 127.0.0.1:5000.

It needs no server: the database is a SQLite file under ./var (or HUB_DATABASE_URL) and
jobs run in-process. It migrates, seeds master data, creates demo API clients, posts a
few Sleman complaints through the API itself, and serves the hub.
"""
import argparse
import os
import secrets
from pathlib import Path

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
    db.session.commit()
    return client_id, secret


def prepare(app) -> dict:
    from flask_migrate import upgrade

    from hub.models import Report
    from hub.seed import seed_all
    with app.app_context():
        upgrade()
        seed_all(db.session)
        db.session.commit()
        creds = {
            "sleman": _client("Demo: LAPOR Sleman", "kab-sleman",
                              "reports:read reports:write", "demo-sleman"),
            "national": _client("Demo: national administrator", "*", "admin",
                                "demo-national"),
        }
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=os.environ.get("HUB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("HUB_PORT", 5000)))
    args = parser.parse_args()
    app = create_app()
    creds = prepare(app)
    url = f"http://{args.host}:{args.port}"
    lines = [f"LAPOR! hub demo on {url}",
             f"  API docs:   {url}/api/v1/docs",
             f"  database:   {app.config['SQLALCHEMY_DATABASE_URI']}"]
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
