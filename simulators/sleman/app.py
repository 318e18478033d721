"""The simulator's Flask app: the local system's API, an HTML page, and /_sim controls."""
import random
import threading
import time

from flask import Flask, abort, jsonify, render_template_string, request

from simulators.sleman import generator
from simulators.sleman.faults import Faults
from simulators.sleman.store import CATEGORIES, CHANNELS, STATUSES, UNITS, Store

PAGE = """<!doctype html><html lang="id"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5"><title>LAPOR Sleman (simulator)</title>
<style>body{font-family:sans-serif;margin:2em}td,th{border-bottom:1px solid #ddd;
padding:4px 8px;text-align:left;vertical-align:top}small{color:#666}</style></head><body>
<h1>LAPOR Sleman <small>simulator sistem lokal</small></h1>
<p>{{ total }} aduan, {{ tanggapan|length }} tanggapan. Halaman ini diperbarui tiap 5 detik.</p>
<table><tr><th>No. tiket</th><th>Judul</th><th>Kategori</th><th>OPD</th><th>Kanal</th>
<th>Status</th><th>Sumber</th><th>Tanggapan</th><th>Diperbarui</th></tr>
{% for a in aduan %}<tr><td>{{ a.no_tiket }}</td><td>{{ a.judul }}</td>
<td>{{ a.nama_kategori }}</td><td>{{ a.opd }}</td><td>{{ a.kanal }}</td><td>{{ a.status }}</td>
<td>{{ a.sumber }}</td><td>{% for t in tanggapan.get(a.id_aduan, []) %}<div>{{ t.isi }}
<small>({{ t.petugas }}, {{ t.sumber }})</small></div>{% endfor %}</td>
<td><small>{{ a.diperbarui_pada }}</small></td></tr>{% endfor %}</table></body></html>"""


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update({"API_KEY": "sleman-demo-key", "IDEMPOTENT_CREATE": False,
                       "ACTIVITY_INTERVAL": None, "SEED": 1})
    app.config.update(config or {})
    store, faults = Store(), Faults()
    app.extensions["sim"] = {"store": store, "faults": faults}
    rng = random.Random(app.config["SEED"])

    def err(status, message):
        resp = jsonify({"status": "error", "message": message})
        resp.status_code = status
        return resp

    @app.before_request
    def guard():
        if not request.path.startswith("/api/"):
            return None
        if request.headers.get("X-API-Key") != app.config["API_KEY"]:
            return err(401, "API key salah atau tidak ada")
        request.fault = faults.take(request.path)
        return faults.before(request.fault)

    def listing(table):
        try:
            page = max(1, int(request.args.get("page", 1)))
            per_page = min(500, max(1, int(request.args.get("per_page", 50))))
        except ValueError:
            return err(422, "page dan per_page harus angka")
        fault = getattr(request, "fault", "none")
        items, meta = store.page(table, request.args.get("updated_since"),
                                 faults.page_args(fault, page), per_page,
                                 request.args.get("id_eksternal"))
        meta["page"] = page
        return jsonify({"data": faults.items(fault, items), "meta": meta})

    @app.get("/api/aduan")
    def list_aduan():
        return listing("aduan")

    @app.get("/api/tanggapan")
    def list_tanggapan():
        return listing("tanggapan")

    @app.get("/api/aduan/<int:aid>")
    def get_aduan(aid):
        row = store.aduan.get(aid)
        return jsonify({"data": row}) if row else err(404, "aduan tidak ditemukan")

    @app.post("/api/aduan")
    def post_aduan():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("judul") or not body.get("id_eksternal"):
            return err(422, "judul dan id_eksternal wajib diisi")
        if app.config["IDEMPOTENT_CREATE"]:
            for row in list(store.aduan.values()):
                if row["id_eksternal"] == body["id_eksternal"]:
                    return jsonify({"data": row}), 200
        if body.get("status") not in (None, *STATUSES):
            return err(422, "status tidak dikenal")
        row = store.add_aduan({**body, "sumber": "hub"})
        return jsonify({"data": row}), 201

    @app.put("/api/aduan/<int:aid>/status")
    def put_status(aid):
        body = request.get_json(silent=True) or {}
        if aid not in store.aduan:
            return err(404, "aduan tidak ditemukan")
        if body.get("status") not in STATUSES:
            return err(422, f"status harus salah satu dari: {', '.join(STATUSES)}")
        return jsonify({"data": store.touch(aid, status=body["status"])})

    @app.post("/api/aduan/<int:aid>/tanggapan")
    def post_tanggapan(aid):
        body = request.get_json(silent=True) or {}
        if aid not in store.aduan:
            return err(404, "aduan tidak ditemukan")
        if not body.get("isi"):
            return err(422, "isi wajib diisi")
        return jsonify({"data": store.add_tanggapan(aid, {**body, "sumber": "hub"})}), 201

    @app.get("/api/master/<name>")
    def master(name):
        tables = {"kategori": CATEGORIES, "opd": UNITS,
                  "status": {s: s for s in STATUSES}, "kanal": {c: c for c in CHANNELS}}
        if name not in tables:
            return err(404, "master tidak dikenal")
        return jsonify({"data": [{"kode": k, "nama": v} for k, v in tables[name].items()]})

    @app.get("/")
    def home():
        aduan = sorted(store.aduan.values(), key=lambda r: r["diperbarui_pada"],
                       reverse=True)[:100]
        by_report: dict = {}
        for t in store.tanggapan.values():
            by_report.setdefault(t["id_aduan"], []).append(t)
        return render_template_string(PAGE, aduan=aduan, tanggapan=by_report,
                                      total=len(store.aduan))

    # --- controls for tests and the demo ---------------------------------------------

    @app.post("/_sim/reset")
    def reset():
        store.reset()
        faults.set({"mode": "none"})
        return jsonify({"ok": True})

    @app.get("/_sim/state")
    def state():
        return jsonify({"aduan": len(store.aduan), "tanggapan": len(store.tanggapan),
                        "fault": faults.mode})

    @app.post("/_sim/faults")
    def set_fault():
        try:
            faults.set(request.get_json(force=True))
        except ValueError as exc:
            return err(422, str(exc))
        return jsonify({"ok": True, "mode": faults.mode})

    @app.post("/_sim/clock")
    def clock():
        from datetime import timedelta
        store.clock_offset = timedelta(seconds=float(request.get_json(force=True)
                                                     ["offset_seconds"]))
        return jsonify({"ok": True})

    @app.post("/_sim/generate")
    def generate():
        body = request.get_json(force=True)
        local = random.Random(body.get("seed", 1))
        made = []
        for _ in range(int(body.get("count", 10))):
            row = store.add_aduan(generator.complaint(local))
            made.append(row["id_aduan"])
            if body.get("with_responses") and local.random() < 0.3:
                store.add_tanggapan(row["id_aduan"], generator.response(local))
        return jsonify({"created": len(made), "first": made[0] if made else None})

    @app.post("/_sim/aduan")
    def sim_aduan():
        body = request.get_json(force=True) or {}
        return jsonify({"data": store.add_aduan({**generator.complaint(rng), **body})}), 201

    @app.post("/_sim/aduan/<int:aid>/status")
    def sim_status(aid):
        if aid not in store.aduan:
            abort(404)
        return jsonify({"data": store.touch(aid, **request.get_json(force=True))})

    @app.post("/_sim/aduan/<int:aid>/tanggapan")
    def sim_tanggapan(aid):
        if aid not in store.aduan:
            abort(404)
        body = {**generator.response(rng), **(request.get_json(force=True) or {})}
        return jsonify({"data": store.add_tanggapan(aid, body)}), 201

    if app.config["ACTIVITY_INTERVAL"]:
        _start_activity(store, float(app.config["ACTIVITY_INTERVAL"]), rng)
    return app


def _start_activity(store: Store, interval: float, rng: random.Random) -> None:
    """The demo's local officers at work: new complaints, responses, finished cases."""

    def work():
        while True:
            time.sleep(interval)
            row = store.add_aduan(generator.complaint(rng))
            open_ids = [a for a, r in list(store.aduan.items())
                        if r["status"] in ("Menunggu", "Diproses") and a != row["id_aduan"]]
            if open_ids and rng.random() < 0.7:
                aid = rng.choice(open_ids)
                if store.aduan[aid]["status"] == "Menunggu":
                    store.add_tanggapan(aid, generator.response(rng))
                else:
                    store.touch(aid, status="Selesai")

    threading.Thread(target=work, daemon=True, name="sleman-activity").start()
