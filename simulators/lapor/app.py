"""SP4N-LAPOR! integration API in memory.

  Headers on every /api call: `Authorization: Bearer <api key>` and `token: <token>`; the
  key belongs to one institution (a regional government) and sees the complaints
  dispositioned to it or its units, plus those it created itself.
  GET  /complaints?updated_since=&page=&per_page=&external_id=
  POST /complaints                         -> {"data": {"tracking_id": ...}}
  PUT  /complaints/<tracking_id>/status    {status, note}
  GET  /complaints/<tracking_id>/followups
  POST /complaints/<tracking_id>/followups {content, institution_from, institution_to,
                                            external_id}
  GET  /masters/categories, /masters/institutions   [{id, parent_id, name}]
Answers: {"success": true, "data": ..., "meta": {...}}; errors {"success": false,
"message": ...}. /_sim/... are controls for tests (national admins at work, faults).
"""
import threading
from datetime import datetime, timedelta, timezone

from flask import Flask, jsonify, request

WIB = timezone(timedelta(hours=7))
STATUSES = ("belum_terverifikasi", "terverifikasi", "terdisposisi", "proses", "selesai",
            "tertunda", "arsip")
CLASSIFICATIONS = ("pengaduan", "aspirasi", "permintaan_informasi")
CATEGORIES = [
    {"id": 1, "parent_id": None, "name": "Infrastruktur"},
    {"id": 11, "parent_id": 1, "name": "Jalan Rusak"},
    {"id": 12, "parent_id": 1, "name": "Penerangan Jalan Umum"},
    {"id": 13, "parent_id": 1, "name": "Drainase"},
    {"id": 2, "parent_id": None, "name": "Lingkungan Hidup"},
    {"id": 21, "parent_id": 2, "name": "Sampah"},
    {"id": 3, "parent_id": None, "name": "Kesehatan"},
    {"id": 31, "parent_id": 3, "name": "Puskesmas"},
    {"id": 4, "parent_id": None, "name": "Kependudukan"},
    {"id": 41, "parent_id": 4, "name": "KTP Elektronik"},
    {"id": 5, "parent_id": None, "name": "Pariwisata"},
    {"id": 99, "parent_id": None, "name": "Lainnya"},
]
INSTITUTIONS = [
    {"id": 1, "parent_id": None, "name": "Kementerian PANRB"},
    {"id": 3400, "parent_id": None, "name": "Pemerintah Provinsi DI Yogyakarta"},
    {"id": 3404, "parent_id": 3400, "name": "Pemerintah Kabupaten Sleman"},
    {"id": 340401, "parent_id": 3404, "name": "Dinas PUPKP Kabupaten Sleman"},
    {"id": 340402, "parent_id": 3404, "name": "Dinas Lingkungan Hidup Kabupaten Sleman"},
    {"id": 340403, "parent_id": 3404, "name": "Dinas Kesehatan Kabupaten Sleman"},
    {"id": 340404, "parent_id": 3404, "name": "Dinas Pariwisata Kabupaten Sleman"},
    {"id": 3402, "parent_id": 3400, "name": "Pemerintah Kabupaten Bantul"},
]


def _subtree(root: int) -> set:
    out, grew = {root}, True
    while grew:
        grew = False
        for inst in INSTITUTIONS:
            if inst["parent_id"] in out and inst["id"] not in out:
                out.add(inst["id"])
                grew = True
    return out


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.complaints: dict[str, dict] = {}
            self.followups: dict[int, dict] = {}
            self.next_tracking, self.next_followup = 4_500_001, 1
            self._last = None
            self.posts = {"complaints": 0, "followups": 0, "status": 0}

    def stamp(self) -> str:
        now = datetime.now(WIB)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last is not None and now <= self._last:
            now = self._last + timedelta(milliseconds=1)
        self._last = now
        return now.isoformat(timespec="milliseconds")

    def add_complaint(self, fields: dict, created_by=None) -> dict:
        with self.lock:
            tid = str(self.next_tracking)
            self.next_tracking += 1
            stamp = self.stamp()
            anonymous = bool(fields.get("is_anonymous"))
            row = {"tracking_id": tid, "title": fields.get("title", ""),
                   "content": fields.get("content", ""),
                   "category_id": fields.get("category_id"),
                   "institution_id": fields.get("institution_id"),
                   "status": fields.get("status") or "belum_terverifikasi",
                   "classification": fields.get("classification") or "pengaduan",
                   "source": fields.get("source") or "web",
                   "is_anonymous": anonymous, "is_secret": bool(fields.get("is_secret")),
                   "reporter": None if anonymous else fields.get("reporter"),
                   "location": fields.get("location"),
                   "latitude": fields.get("latitude"), "longitude": fields.get("longitude"),
                   "external_id": fields.get("external_id"),
                   "created_at": fields.get("created_at") or stamp, "updated_at": stamp,
                   "_created_by": created_by}
            self.complaints[tid] = row
            return dict(row)

    def touch(self, tid: str, **changes) -> dict:
        with self.lock:
            row = self.complaints[tid]
            row.update(changes)
            row["updated_at"] = self.stamp()
            return dict(row)

    def add_followup(self, tid: str, fields: dict) -> dict:
        with self.lock:
            fid = self.next_followup
            self.next_followup += 1
            stamp = self.stamp()
            row = {"id": fid, "tracking_id": tid, "content": fields.get("content", ""),
                   "institution_from": fields.get("institution_from"),
                   "institution_to": fields.get("institution_to"),
                   "external_id": fields.get("external_id"), "created_at": stamp}
            self.followups[fid] = row
            changes = {"status": "proses"} if self.complaints[tid]["status"] in (
                "terverifikasi", "terdisposisi") else {}
            self.touch(tid, **changes)
            return dict(row)


def public(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update({"API_KEY": "lapor-demo-key", "TOKEN": "lapor-demo-token",
                       "INSTITUTION_ID": 3404})
    app.config.update(config or {})
    store = Store()
    state = {"fault": None, "count": None}
    app.extensions["sim"] = {"store": store, "state": state}
    categories = {c["id"] for c in CATEGORIES}
    institutions = {i["id"] for i in INSTITUTIONS}

    def err(status, message):
        resp = jsonify({"success": False, "message": message})
        resp.status_code = status
        return resp

    def scope() -> set:
        return _subtree(int(app.config["INSTITUTION_ID"]))

    def visible(row) -> bool:
        return row["institution_id"] in scope() or row["_created_by"] == "key"

    @app.before_request
    def guard():
        if request.path.startswith("/_sim/"):
            return None
        if request.headers.get("Authorization") != f"Bearer {app.config['API_KEY']}" or \
                request.headers.get("token") != app.config["TOKEN"]:
            return err(401, "Unauthorized: API key atau token tidak valid")
        if state["fault"]:
            if state["count"] is not None:
                state["count"] -= 1
                if state["count"] <= 0:
                    state["fault"] = None
            return err(503, "Service Unavailable")
        return None

    def complaint_or_404(tid):
        row = store.complaints.get(tid)
        return row if row is not None and visible(row) else None

    @app.get("/complaints")
    def list_complaints():
        try:
            page = max(1, int(request.args.get("page", 1)))
            per_page = min(100, max(1, int(request.args.get("per_page", 20))))
        except ValueError:
            return err(422, "page dan per_page harus angka")
        with store.lock:
            rows = [r for r in store.complaints.values() if visible(r)]
        since = request.args.get("updated_since")
        if since:
            try:
                cut = datetime.fromisoformat(since.replace("Z", "+00:00"))
            except ValueError:
                return err(422, "updated_since harus ISO 8601")
            if cut.tzinfo is None:
                return err(422, "updated_since harus memuat zona waktu")
            rows = [r for r in rows if datetime.fromisoformat(r["updated_at"]) >= cut]
        if request.args.get("external_id") is not None:
            rows = [r for r in rows if r["external_id"] == request.args["external_id"]]
        rows.sort(key=lambda r: (r["updated_at"], r["tracking_id"]))
        total = len(rows)
        items = [public(r) for r in rows[(page - 1) * per_page: page * per_page]]
        return jsonify({"success": True, "data": items,
                        "meta": {"current_page": page, "per_page": per_page, "total": total,
                                 "last_page": max(1, -(-total // per_page))}})

    @app.post("/complaints")
    def post_complaint():
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not body.get("title") or not body.get("content"):
            return err(422, "title dan content wajib diisi")
        if body.get("category_id") not in categories:
            return err(422, f"category_id {body.get('category_id')!r} tidak dikenal")
        if body.get("institution_id") not in institutions:
            return err(422, f"institution_id {body.get('institution_id')!r} tidak dikenal")
        if body.get("status") not in (None, *STATUSES):
            return err(422, "status tidak dikenal")
        if body.get("classification") not in (None, *CLASSIFICATIONS):
            return err(422, "classification tidak dikenal")
        with store.lock:
            store.posts["complaints"] += 1
            row = store.add_complaint(body, created_by="key")
        return jsonify({"success": True, "data": {"tracking_id": row["tracking_id"]}}), 201

    @app.put("/complaints/<tid>/status")
    def put_status(tid):
        if complaint_or_404(tid) is None:
            return err(404, "laporan tidak ditemukan")
        body = request.get_json(silent=True) or {}
        if body.get("status") not in STATUSES:
            return err(422, f"status harus salah satu dari: {', '.join(STATUSES)}")
        with store.lock:
            store.posts["status"] += 1
            row = store.touch(tid, status=body["status"])
        return jsonify({"success": True, "data": public(row)})

    @app.get("/complaints/<tid>/followups")
    def list_followups(tid):
        if complaint_or_404(tid) is None:
            return err(404, "laporan tidak ditemukan")
        with store.lock:
            rows = sorted((dict(f) for f in store.followups.values()
                           if f["tracking_id"] == tid), key=lambda f: f["id"])
        return jsonify({"success": True, "data": rows})

    @app.post("/complaints/<tid>/followups")
    def post_followup(tid):
        if complaint_or_404(tid) is None:
            return err(404, "laporan tidak ditemukan")
        body = request.get_json(silent=True) or {}
        if not body.get("content"):
            return err(422, "content wajib diisi")
        for key in ("institution_from", "institution_to"):
            if body.get(key) is not None and body[key] not in institutions:
                return err(422, f"{key} {body[key]!r} tidak dikenal")
        with store.lock:
            store.posts["followups"] += 1
            row = store.add_followup(tid, body)
        return jsonify({"success": True, "data": row}), 201

    @app.get("/masters/categories")
    def master_categories():
        return jsonify({"success": True, "data": CATEGORIES})

    @app.get("/masters/institutions")
    def master_institutions():
        return jsonify({"success": True, "data": INSTITUTIONS})

    # --- controls for tests --------------------------------------------------------------

    @app.post("/_sim/reset")
    def reset():
        store.reset()
        state["fault"] = None
        return jsonify({"ok": True})

    @app.post("/_sim/fault")
    def fault():
        body = request.get_json(force=True) or {}
        state["fault"], state["count"] = body.get("mode") or None, body.get("count")
        return jsonify({"ok": True})

    @app.post("/_sim/complaints")
    def sim_complaint():
        """A citizen reports on lapor.go.id; `institution_id` set = dispositioned there."""
        body = {"title": "Jalan rusak di Jl. Kaliurang", "content": "Jalan berlubang "
                "besar di depan pasar, sudah sebulan tidak diperbaiki.", "category_id": 11,
                "source": "web", "reporter": {"name": "Budi Santoso", "phone": "0812",
                                              "email": "budi@example.id"},
                **(request.get_json(force=True) or {})}
        return jsonify(store.add_complaint(body)), 201

    @app.post("/_sim/complaints/<tid>/status")
    def sim_status(tid):
        body = request.get_json(force=True) or {}
        return jsonify(store.touch(tid, **body))

    @app.post("/_sim/complaints/<tid>/followups")
    def sim_followup(tid):
        return jsonify(store.add_followup(tid, request.get_json(force=True) or {})), 201

    return app
