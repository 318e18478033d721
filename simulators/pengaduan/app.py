"""The app's JSON API as the hub meets it (a CodeIgniter/Laravel controller over the
UKK tables, with the `updated_at` column such apps add for syncing):

- every /api/ call takes `Authorization: Bearer <token>`;
- GET /api/pengaduan?page=&per_page=&updated_since=: {data, meta: {current_page,
  per_page, last_page, total}}, oldest change first; each complaint carries its
  follow-ups (`tanggapan: [...]`); a new follow-up touches its complaint's updated_at;
- `updated_since` must read `YYYY-MM-DD HH:MM:SS+0700` (the app parses it with one fixed
  format): anything else, ISO 8601 included, fails with HTTP 500, as the real one does;
- timestamps naive, in the app's time zone (Asia/Jakarta).
Controls for tests, without auth, under /_sim/.
"""
import math
import random
import re
import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import Flask, jsonify, request

DEFAULTS = {"TOKEN": "pengaduan-demo-token", "PER_PAGE_MAX": 100, "SEED": 3}
WIB = ZoneInfo("Asia/Jakarta")
SINCE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}[+-]\d{4}$")
KATEGORI = ("Infrastruktur", "Kebersihan", "Pelayanan", "Keamanan", "Kesehatan")
STATUS = ("0", "proses", "selesai")


def local(moment: datetime) -> str:
    return moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update({k.upper(): v for k, v in (config or {}).items()})
    app.json.sort_keys = False
    lock = threading.Lock()
    state = {"pengaduan": {}, "tanggapan": {}, "since_seen": [], "next": [1, 1]}
    app.extensions["sim"] = state

    def now():
        return datetime.now(timezone.utc).replace(microsecond=0)

    def as_json(p):
        kids = sorted((t for t in state["tanggapan"].values()
                       if t["id_pengaduan"] == p["id_pengaduan"]),
                      key=lambda t: t["id_tanggapan"])
        return {"id_pengaduan": p["id_pengaduan"], "tgl_pengaduan": p["tgl_pengaduan"],
                "nik": p["nik"], "nama": p["nama"], "isi_laporan": p["isi_laporan"],
                "kategori": p["kategori"], "status": p["status"],
                "updated_at": local(p["updated_at"]),
                "tanggapan": [{"id_tanggapan": t["id_tanggapan"],
                               "tgl_tanggapan": local(t["created"]),
                               "tanggapan": t["tanggapan"], "petugas": t["petugas"]}
                              for t in kids]}

    @app.before_request
    def guard():
        if request.path.startswith("/api/") and \
                request.headers.get("Authorization") != f"Bearer {app.config['TOKEN']}":
            return jsonify({"status": False, "message": "Unauthorized"}), 401
        return None

    @app.get("/api/pengaduan")
    def listing():
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(max(1, int(request.args.get("per_page", 20))),
                       app.config["PER_PAGE_MAX"])
        since = request.args.get("updated_since")
        cutoff = None
        if since is not None:
            with lock:
                state["since_seen"].append(since)
            if not SINCE.match(since):
                # The app's DateTime::createFromFormat returns false and the query dies.
                return "<h1>A PHP Error was encountered</h1>", 500
            cutoff = datetime.strptime(since, "%Y-%m-%d %H:%M:%S%z")
        with lock:
            rows = [p for p in state["pengaduan"].values()
                    if cutoff is None or p["updated_at"] >= cutoff]
            rows.sort(key=lambda p: (p["updated_at"], p["id_pengaduan"]))
            total = len(rows)
            out = [as_json(p) for p in rows[(page - 1) * per_page: page * per_page]]
        return jsonify({"data": out, "meta": {
            "current_page": page, "per_page": per_page,
            "last_page": max(1, math.ceil(total / per_page)), "total": total}})

    # --- controls -----------------------------------------------------------------------

    def add_pengaduan(rng, at):
        pid = state["next"][0]
        state["next"][0] += 1
        state["pengaduan"][pid] = {
            "id_pengaduan": pid, "tgl_pengaduan": at.astimezone(WIB).date().isoformat(),
            "nik": f"3404{rng.randint(10**11, 10**12 - 1)}",
            "nama": rng.choice(("Sri Lestari", "Budi Santoso", "Wahyu Nugroho", "Dewi")),
            "isi_laporan": rng.choice(("Jalan berlubang di depan balai desa",
                                       "Sampah tidak diangkut seminggu",
                                       "Lampu jalan mati sejak Senin")),
            "kategori": rng.choice(KATEGORI), "status": rng.choice(STATUS),
            "updated_at": at}
        return pid

    def add_tanggapan(pid, at, text, petugas):
        tid = state["next"][1]
        state["next"][1] += 1
        state["tanggapan"][tid] = {"id_tanggapan": tid, "id_pengaduan": pid,
                                   "created": at, "tanggapan": text, "petugas": petugas}
        parent = state["pengaduan"][pid]
        parent["updated_at"] = max(at, parent["updated_at"])  # Eloquent's $touches
        return tid

    @app.post("/_sim/generate")
    def generate():
        body = request.get_json(silent=True) or {}
        rng = random.Random(int(body.get("seed", app.config["SEED"])))
        count, responses = int(body.get("count", 300)), int(body.get("responses", 469))
        start = now() - timedelta(days=30)
        with lock:
            ids = [add_pengaduan(rng, start + timedelta(seconds=i * 60))
                   for i in range(count)]
            for _ in range(responses):
                pid = rng.choice(ids)
                at = state["pengaduan"][pid]["updated_at"] + timedelta(minutes=5)
                add_tanggapan(pid, min(at, now()), "Sudah kami teruskan ke dinas terkait.",
                              "Petugas Kecamatan")
        return jsonify({"pengaduan": len(state["pengaduan"]),
                        "tanggapan": len(state["tanggapan"])})

    @app.post("/_sim/pengaduan/<int:pid>/tanggapan")
    def new_tanggapan(pid):
        body = request.get_json(silent=True) or {}
        with lock:
            if pid not in state["pengaduan"]:
                return jsonify({"message": "not found"}), 404
            tid = add_tanggapan(pid, now(), body.get("tanggapan", "Sedang ditangani."),
                                body.get("petugas", "Petugas"))
        return jsonify({"id_tanggapan": tid}), 201

    @app.get("/_sim/state")
    def sim_state():
        return jsonify({"pengaduan": len(state["pengaduan"]),
                        "tanggapan": len(state["tanggapan"]),
                        "since_seen": list(state["since_seen"])})

    return app
