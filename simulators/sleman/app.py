"""The simulator's Flask app: the local system's API (/api/, X-API-Key), its HTML page (/),
and controls for tests and the demo (/_sim/, no key)."""
import random
import threading
from datetime import timedelta

from flask import Flask, g, jsonify, request

from simulators.sleman import activity, generator, page, validation
from simulators.sleman import faults as faultmod
from simulators.sleman.master import MASTER
from simulators.sleman.store import NotFound, Store
from simulators.sleman.validation import Invalid

DEFAULTS = {"API_KEY": "sleman-demo-key", "DB": ":memory:", "IDEMPOTENT_CREATE": False,
            "STRICT_MASTER": False, "ACTIVITY_INTERVAL": None, "SEED": 1,
            "TIMESTAMP_PRECISION": "seconds", "PER_PAGE_DEFAULT": 50, "PER_PAGE_MAX": 500}
MAX_GENERATE = 1_000_000


def err(status: int, message: str, errors: dict | None = None):
    body = {"status": "error", "message": message}
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = status
    return resp


def create_app(config: dict | None = None) -> Flask:
    """config keys (any case): api_key, db (path or ':memory:'), idempotent_create,
    strict_master (unknown kategori/opd/kanal -> 422), activity_interval (seconds or None),
    seed, timestamp_precision ('seconds' | 'milliseconds'), per_page_default, per_page_max."""
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update({k.upper(): v for k, v in (config or {}).items()})
    app.json.sort_keys = False
    store = Store(app.config["DB"], app.config["TIMESTAMP_PRECISION"])
    faults = faultmod.Faults()
    stop = threading.Event()
    rng = random.Random(app.config["SEED"])
    app.extensions["sim"] = {"store": store, "faults": faults, "stop": stop}

    def body_json():
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise Invalid({"body": ["badan permintaan harus objek JSON"]})
        return body

    @app.errorhandler(Invalid)
    def invalid(exc):
        return err(422, "Data yang diberikan tidak valid.", exc.errors)

    @app.errorhandler(NotFound)
    def not_found(exc):
        return err(404, f"Aduan {exc.args[0]} tidak ditemukan")

    @app.errorhandler(404)
    def http404(exc):
        if request.path.startswith(("/api/", "/_sim/")):
            return err(404, "Halaman tidak ditemukan")
        return exc

    @app.errorhandler(405)
    def http405(exc):
        if request.path.startswith(("/api/", "/_sim/")):
            return err(405, "Metode tidak diizinkan")
        return exc

    # --- the local system's API -------------------------------------------------------

    @app.before_request
    def guard():
        g.fault = faultmod.NO_FAULT
        if not request.path.startswith("/api/"):
            return None
        if request.headers.get("X-API-Key") != app.config["API_KEY"]:
            return err(401, "Unauthenticated. API key salah atau tidak ada.")
        g.fault = faults.take(request.path)
        return faultmod.before(g.fault)

    def listing(table: str):
        try:
            page_no = int(request.args.get("page", 1))
            per_page = int(request.args.get("per_page", app.config["PER_PAGE_DEFAULT"]))
        except ValueError:
            raise Invalid({"page": ["page dan per_page harus angka"]}) from None
        if page_no < 1 or per_page < 1:
            raise Invalid({"page": ["page dan per_page minimal 1"]})
        per_page = min(per_page, app.config["PER_PAGE_MAX"])
        try:
            items, meta = store.page(table, request.args.get("updated_since") or None,
                                     faultmod.page_for(g.fault, page_no), per_page,
                                     request.args.get("id_eksternal"),
                                     request.args.get("after") or None,
                                     embed=request.args.get("embed") == "tanggapan")
        except ValueError:
            raise Invalid({"updated_since": ["updated_since harus tanggal-waktu RFC 3339; "
                                             "after harus meta.next halaman sebelumnya"]}) \
                from None
        meta["page"] = page_no
        return jsonify({"data": faultmod.mangle(g.fault, items), "meta": meta})

    @app.get("/api/aduan")
    def list_aduan():
        return listing("aduan")

    @app.get("/api/tanggapan")
    def list_tanggapan():
        return listing("tanggapan")

    @app.get("/api/aduan/<int:aid>")
    def get_aduan(aid):
        row = store.get_aduan(aid)
        return jsonify({"data": row}) if row else err(404, f"Aduan {aid} tidak ditemukan")

    @app.post("/api/aduan")
    def post_aduan():
        """A complaint pushed by the hub. Not idempotent unless IDEMPOTENT_CREATE."""
        body = body_json()
        fields = validation.aduan(body, required=("judul", "isi", "id_eksternal"),
                                  strict_master=app.config["STRICT_MASTER"])
        if app.config["IDEMPOTENT_CREATE"]:
            existing = store.find_external("aduan", fields["id_eksternal"])
            if existing:
                return jsonify({"data": existing}), 200
        fields["sumber"] = "hub"
        fields["kanal"] = fields.get("kanal") or "lapor"
        return jsonify({"data": store.create_aduan(fields)}), 201

    @app.put("/api/aduan/<int:aid>/status")
    def put_status(aid):
        if store.get_aduan(aid) is None:
            raise NotFound(aid)
        status, note = validation.status(body_json())
        return jsonify({"data": store.set_status(aid, status, note, sumber="hub")})

    @app.post("/api/aduan/<int:aid>/tanggapan")
    def post_tanggapan(aid):
        if store.get_aduan(aid) is None:
            raise NotFound(aid)
        fields = validation.tanggapan(body_json(), required=("isi", "id_eksternal"))
        if app.config["IDEMPOTENT_CREATE"]:
            existing = store.find_external("tanggapan", fields["id_eksternal"])
            if existing and existing["id_aduan"] == aid:
                return jsonify({"data": existing}), 200
        fields["petugas"] = fields["petugas"] or "Petugas SP4N-LAPOR!"
        fields["sumber"] = "hub"
        return jsonify({"data": store.add_tanggapan(aid, fields)}), 201

    @app.get("/api/master/<name>")
    def master(name):
        if name not in MASTER:
            return err(404, f"master '{name}' tidak dikenal; pilihan: {', '.join(MASTER)}")
        return jsonify({"data": [{"kode": k, "nama": v} for k, v in MASTER[name].items()]})

    @app.get("/")
    def home():
        return page.render(store, faults)

    # --- controls for tests and the demo (no key) ---------------------------------------

    @app.post("/_sim/reset")
    def reset():
        faults.set({"mode": "none"})
        store.reset()
        return jsonify({"ok": True})

    @app.get("/_sim/state")
    def state():
        return jsonify({**store.counts(), "fault": faults.state(),
                        "clock": {"offset_seconds": store.clock.offset.total_seconds(),
                                  "now": store.clock.stamp()},
                        "config": {"idempotent_create": app.config["IDEMPOTENT_CREATE"],
                                   "strict_master": app.config["STRICT_MASTER"],
                                   "timestamp_precision": store.clock.precision}})

    @app.post("/_sim/config")
    def set_config():
        body = body_json()
        for key in ("idempotent_create", "strict_master"):
            if key in body:
                app.config[key.upper()] = bool(body[key])
        return state()

    @app.post("/_sim/faults")
    def set_fault():
        try:
            return jsonify({"ok": True, **faults.set(request.get_json(silent=True))})
        except ValueError as exc:
            return err(422, str(exc))

    @app.post("/_sim/clock")
    def clock():
        body = body_json()
        try:
            offset = float(body.get("offset_seconds", 0))
        except (TypeError, ValueError):
            raise Invalid({"offset_seconds": ["offset_seconds harus angka"]}) from None
        store.clock.offset = timedelta(seconds=offset)
        if "monotonic" in body:
            store.clock.monotonic = bool(body["monotonic"])
        return jsonify({"ok": True, "offset_seconds": offset, "now": store.clock.stamp(),
                        "monotonic": store.clock.monotonic})

    @app.post("/_sim/generate")
    def generate():
        body = request.get_json(silent=True) or {}
        try:
            count = int(body.get("count", 10))
            spread = float(body.get("spread_days") or 0)
            unmapped = float(body.get("unmapped_share") or 0)
        except (TypeError, ValueError):
            raise Invalid({"count": ["count, spread_days, unmapped_share harus angka"]}) \
                from None
        if not 0 <= count <= MAX_GENERATE:
            raise Invalid({"count": [f"count harus 0..{MAX_GENERATE}"]})
        local = random.Random(body.get("seed", 1))
        aduan, tanggapan = generator.bulk(local, count, store.clock,
                                          with_responses=bool(body.get("with_responses")),
                                          spread_days=spread, unmapped_share=unmapped)
        return jsonify(store.bulk_insert(aduan, tanggapan))

    @app.post("/_sim/aduan")
    def sim_aduan():
        """One complaint logged by a local officer; fields not given are generated."""
        body = request.get_json(silent=True) or {}
        fields = {**generator.complaint(rng),
                  **validation.aduan(body, strict_master=False, allow_origin=True,
                                     allow_created=True, clock=store.clock)}
        return jsonify({"data": store.create_aduan(fields)}), 201

    @app.post("/_sim/aduan/<int:aid>/status")
    def sim_status(aid):
        if store.get_aduan(aid) is None:
            raise NotFound(aid)
        status, note = validation.status(body_json())
        return jsonify({"data": store.set_status(aid, status, note)})

    @app.post("/_sim/aduan/<int:aid>/ubah")
    def sim_edit(aid):
        if store.get_aduan(aid) is None:
            raise NotFound(aid)
        return jsonify({"data": store.edit_aduan(aid, validation.aduan(body_json()))})

    @app.post("/_sim/aduan/<int:aid>/tanggapan")
    def sim_tanggapan(aid):
        row = store.get_aduan(aid)
        if row is None:
            raise NotFound(aid)
        body = request.get_json(silent=True) or {}
        given = validation.tanggapan(body, required=())
        fields = {**generator.response(rng, "Diproses", row["opd"]),
                  **{k: v for k, v in given.items() if v is not None},
                  "sumber": "lokal"}
        return jsonify({"data": store.add_tanggapan(aid, fields)}), 201

    @app.get("/_sim/aduan/<int:aid>/riwayat")
    def sim_history(aid):
        if store.get_aduan(aid) is None:
            raise NotFound(aid)
        return jsonify({"data": store.history(aid)})

    if app.config["ACTIVITY_INTERVAL"]:
        activity.start(store, float(app.config["ACTIVITY_INTERVAL"]), rng, stop)
    return app
