"""SP4N-LAPOR! integration API in memory.

  Headers on every /api call: `Authorization: Bearer <api key>` and `token: <token>`; the
  key belongs to one institution (a regional government) and sees the complaints
  dispositioned to it or its units, plus those it created itself.
  GET  /complaints?updated_since=&page=&per_page=&external_id=&tracking_id=a,b,c
  GET  /complaints/<tracking_id>
  POST /complaints                         -> {"data": {"tracking_id": ...}}
  PUT  /complaints/<tracking_id>/status    {status, note}
  GET  /complaints/<tracking_id>/followups
  POST /complaints/<tracking_id>/followups {content, institution_from, institution_to,
                                            external_id}
  GET  /masters/categories, /masters/institutions   [{id, parent_id, name}]
Answers: {"success": true, "data": ..., "meta": {...}}; errors {"success": false,
"message": ...}. /_sim/... are controls for tests (national admins at work, faults).

Forwarding ("bukan wewenang", disposisi ke instansi lain): a national or provincial admin
moves a complaint to another institution. It leaves the listing of every key whose
institution no longer holds it. Asked by id (GET /complaints/<tracking_id>), a former
holder gets, per FORWARDED_BY_ID: "show" (the default: LAPOR! keeps the disposition trail
for the institution that handed it on) the complaint at its new institution, without the
reporter's identity (personal data go only to the institution responsible); "404" or
"403", what a stricter deployment answers a key that no longer holds the complaint.

Legacy mode (LEGACY=True): the older integration API that public material describes, and
nothing else: the token travels in a `KEYTOKEN` header (no Bearer key), a complaint is
submitted as XML to POST /api/services/laporan
  <lapor token="..."><pelapor><nama/><telepon/><email/></pelapor>
    <laporan rahasia="0|1" anonim="0|1"><judul/><isi/><kategori/><instansi/>...</laporan>
  </lapor>
answered in XML (<lapor><status>sukses</status><tracking_id>...</tracking_id></lapor>),
and every id (tracking, category, institution) is a string, roots having parent "0".
"""
import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

from defusedxml import ElementTree as SafeXML
from flask import Flask, Response, jsonify, request

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
                   "_created_by": created_by, "_history": []}
            self.complaints[tid] = row
            return dict(row)

    def touch(self, tid: str, **changes) -> dict:
        with self.lock:
            row = self.complaints[tid]
            row.update(changes)
            row["updated_at"] = self.stamp()
            return dict(row)

    def forward(self, tid: str, institution_id: int, note=None) -> dict:
        """Bukan wewenang: the complaint goes to another institution, which must
        follow it up; the institution that held it keeps only the trail."""
        with self.lock:
            row = self.complaints[tid]
            row["_history"].append({"institution_id": row["institution_id"], "note": note})
            return self.touch(tid, institution_id=institution_id, status="terdisposisi")

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


ID_KEYS = ("category_id", "institution_id", "institution_from", "institution_to")
TRUE = ("1", "true", "ya", "y")


def _as_id(value):
    """A master id as the store keeps it (an int); legacy clients send strings."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update({"API_KEY": "lapor-demo-key", "TOKEN": "lapor-demo-token",
                       "INSTITUTION_ID": 3404, "LEGACY": False, "FORWARDED_BY_ID": "show"})
    app.config.update(config or {})
    store = Store()
    state = {"fault": None, "count": None}
    app.extensions["sim"] = {"store": store, "state": state}
    categories = {c["id"] for c in CATEGORIES}
    institutions = {i["id"] for i in INSTITUTIONS}
    legacy = bool(app.config["LEGACY"])

    def err(status, message):
        resp = jsonify({"success": False, "message": message})
        resp.status_code = status
        return resp

    def out(row: dict) -> dict:
        """A row as the API shows it: the legacy API spells every id as a string."""
        row = public(row)
        if legacy:
            for key in ("tracking_id", "id", *ID_KEYS):
                if row.get(key) is not None:
                    row[key] = str(row[key])
        return row

    def master(rows):
        if not legacy:
            return rows
        return [{"id": str(r["id"]), "parent_id": str(r["parent_id"] or 0),
                 "name": r["name"]} for r in rows]

    def scope() -> set:
        return _subtree(int(app.config["INSTITUTION_ID"]))

    def visible(row) -> bool:
        return row["institution_id"] in scope() or row["_created_by"] == "key"

    def held_before(row) -> bool:
        return any(h["institution_id"] in scope() for h in row["_history"])

    @app.before_request
    def guard():
        if request.path.startswith("/_sim/"):
            return None
        if legacy:
            ok = request.headers.get("KEYTOKEN") == app.config["TOKEN"]
        else:
            ok = request.headers.get("Authorization") == f"Bearer {app.config['API_KEY']}" \
                and request.headers.get("token") == app.config["TOKEN"]
        if not ok:
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
        if request.args.get("tracking_id"):
            wanted = set(request.args["tracking_id"].split(","))
            rows = [r for r in rows if r["tracking_id"] in wanted]
        rows.sort(key=lambda r: (r["updated_at"], r["tracking_id"]))
        total = len(rows)
        items = [out(r) for r in rows[(page - 1) * per_page: page * per_page]]
        return jsonify({"success": True, "data": items,
                        "meta": {"current_page": page, "per_page": per_page, "total": total,
                                 "last_page": max(1, -(-total // per_page))}})

    @app.get("/complaints/<tid>")
    def get_complaint(tid):
        with store.lock:
            row = store.complaints.get(tid)
            if row is not None and visible(row):
                return jsonify({"success": True, "data": out(row)})
            if row is None or not held_before(row):
                return err(404, "laporan tidak ditemukan")
            mode = app.config["FORWARDED_BY_ID"]
            if mode == "404":
                return err(404, "laporan tidak ditemukan")
            if mode == "403":
                return err(403, "laporan sudah didisposisikan ke instansi lain")
            shown = out(row)
        shown["reporter"] = None  # the identity stays with the institution responsible
        return jsonify({"success": True, "data": shown})

    def check_complaint(body):
        if not isinstance(body, dict) or not body.get("title") or not body.get("content"):
            return "title dan content wajib diisi"
        if body.get("category_id") not in categories:
            return f"category_id {body.get('category_id')!r} tidak dikenal"
        if body.get("institution_id") not in institutions:
            return f"institution_id {body.get('institution_id')!r} tidak dikenal"
        if body.get("status") not in (None, *STATUSES):
            return "status tidak dikenal"
        if body.get("classification") not in (None, *CLASSIFICATIONS):
            return "classification tidak dikenal"
        return None

    @app.post("/complaints")
    def post_complaint():
        if legacy:
            return err(404, "gunakan POST /api/services/laporan (XML)")
        body = request.get_json(silent=True)
        problem = check_complaint(body)
        if problem:
            return err(422, problem)
        with store.lock:
            store.posts["complaints"] += 1
            row = store.add_complaint(body, created_by="key")
        return jsonify({"success": True, "data": {"tracking_id": row["tracking_id"]}}), 201

    def xml_answer(code: int, **values) -> Response:
        root = ET.Element("lapor")
        for key, value in values.items():
            ET.SubElement(root, key).text = str(value)
        return Response(ET.tostring(root, encoding="utf-8", xml_declaration=True),
                        status=code, content_type="application/xml; charset=utf-8")

    @app.post("/api/services/laporan")
    def post_legacy():
        if not legacy:
            return err(404, "not found")
        try:
            root = SafeXML.fromstring(request.get_data())
        except Exception:  # noqa: BLE001 - any unreadable body is the client's error
            return xml_answer(400, status="gagal", message="XML tidak valid")
        if root.tag != "lapor" or root.get("token") != app.config["TOKEN"]:
            return xml_answer(401, status="gagal", message="token tidak valid")
        report = root.find("laporan")
        if report is None:
            return xml_answer(422, status="gagal", message="laporan wajib diisi")

        def text(node, tag):
            found = node.find(tag) if node is not None else None
            return found.text if found is not None and found.text else None

        anonymous = (report.get("anonim") or "0").lower() in TRUE
        who = root.find("pelapor")
        body = {"title": text(report, "judul"), "content": text(report, "isi"),
                "category_id": _as_id(text(report, "kategori")),
                "institution_id": _as_id(text(report, "instansi")),
                "classification": text(report, "klasifikasi"),
                "source": text(report, "sumber"), "status": text(report, "status"),
                "is_anonymous": anonymous,
                "is_secret": (report.get("rahasia") or "0").lower() in TRUE,
                "location": text(report, "lokasi"),
                "latitude": text(report, "latitude"), "longitude": text(report, "longitude"),
                "created_at": text(report, "tanggal"),
                "external_id": text(report, "external_id"),
                "reporter": None if anonymous or who is None else {
                    "name": text(who, "nama"), "phone": text(who, "telepon"),
                    "email": text(who, "email")}}
        problem = check_complaint(body)
        if problem:
            return xml_answer(422, status="gagal", message=problem)
        with store.lock:
            store.posts["complaints"] += 1
            row = store.add_complaint(body, created_by="key")
        return xml_answer(201, status="sukses", tracking_id=row["tracking_id"])

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
        return jsonify({"success": True, "data": out(row)})

    @app.get("/complaints/<tid>/followups")
    def list_followups(tid):
        if complaint_or_404(tid) is None:
            return err(404, "laporan tidak ditemukan")
        with store.lock:
            rows = sorted((dict(f) for f in store.followups.values()
                           if f["tracking_id"] == tid), key=lambda f: f["id"])
        return jsonify({"success": True, "data": [out(r) for r in rows]})

    @app.post("/complaints/<tid>/followups")
    def post_followup(tid):
        if complaint_or_404(tid) is None:
            return err(404, "laporan tidak ditemukan")
        body = request.get_json(silent=True) or {}
        if not body.get("content"):
            return err(422, "content wajib diisi")
        if legacy:
            body = {**body, **{k: _as_id(body.get(k)) for k in ("institution_from",
                                                                "institution_to")}}
        for key in ("institution_from", "institution_to"):
            if body.get(key) is not None and body[key] not in institutions:
                return err(422, f"{key} {body[key]!r} tidak dikenal")
        with store.lock:
            store.posts["followups"] += 1
            row = store.add_followup(tid, body)
        return jsonify({"success": True, "data": out(row)}), 201

    @app.get("/masters/categories")
    def master_categories():
        return jsonify({"success": True, "data": master(CATEGORIES)})

    @app.get("/masters/institutions")
    def master_institutions():
        return jsonify({"success": True, "data": master(INSTITUTIONS)})

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

    @app.post("/_sim/complaints/<tid>/hold")
    def sim_hold(tid):
        """Tunda: the admin puts a complaint that is not yet verified on hold, waiting
        for the reporter to complete it (LAPOR!'s `tertunda`)."""
        row = store.complaints.get(tid)
        if row is None:
            return err(404, "laporan tidak ditemukan")
        if row["status"] not in ("belum_terverifikasi", "tertunda"):
            return err(409, "hanya laporan yang belum terverifikasi dapat ditunda")
        return jsonify(store.touch(tid, status="tertunda"))

    @app.post("/_sim/complaints/<tid>/forward")
    def sim_forward(tid):
        """Bukan wewenang: an admin forwards the complaint to another institution."""
        body = request.get_json(force=True) or {}
        if tid not in store.complaints:
            return err(404, "laporan tidak ditemukan")
        if body.get("institution_id") not in institutions:
            return err(422, f"institution_id {body.get('institution_id')!r} tidak dikenal")
        return jsonify(public(store.forward(tid, body["institution_id"], body.get("note"))))

    @app.post("/_sim/complaints/<tid>/followups")
    def sim_followup(tid):
        return jsonify(store.add_followup(tid, request.get_json(force=True) or {})), 201

    return app
