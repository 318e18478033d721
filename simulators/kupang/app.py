"""e-Lapor Kupang's API as the hub meets it.

- POST /api/auth/login {email, password}: sets the `auth_token` cookie, nothing else
  usable (the answer's JSON carries the user, not the token);
- every /api/ call takes that cookie or `Authorization: Bearer <token>`;
- GET /api/reports?page=&limit=: {data, pagination: {page, limit, total, totalPages}},
  newest first, `limit` capped at 50 without a word (ask 100, get 50), no changed-since
  filter;
- GET /api/reports/<id>/comments: the report's comments, a bare JSON array, oldest first;
- timestamps naive, in UTC (Prisma's way).
Controls for tests, without auth, under /_sim/.
"""
import math
import random
import secrets
import threading
from datetime import datetime, timedelta, timezone

from flask import Flask, jsonify, request

from simulators.kupang import data

DEFAULTS = {"EMAIL": "hub@kupangkab.go.id", "PASSWORD": "kupang-demo-password",
            "LIMIT_MAX": 50, "LIMIT_DEFAULT": 10, "SEED": 7}


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config.update({k.upper(): v for k, v in (config or {}).items()})
    app.json.sort_keys = False
    lock = threading.Lock()
    state = {"reports": [], "comments": [], "tokens": set(), "requests": []}
    app.extensions["sim"] = state

    def now():
        return datetime.now(timezone.utc)

    def report_json(r):
        return {k: (data.stamp(v) if isinstance(v, datetime) else v) for k, v in r.items()}

    def comment_json(c):
        return {k: (data.stamp(v) if isinstance(v, datetime) else v) for k, v in c.items()}

    @app.before_request
    def guard():
        if not request.path.startswith("/api/") or request.path == "/api/auth/login":
            return None
        with lock:
            state["requests"].append((request.path, dict(request.args)))
        token = request.cookies.get("auth_token")
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            token = header[7:]
        if token not in state["tokens"]:
            return jsonify({"error": "Unauthorized"}), 401
        return None

    @app.post("/api/auth/login")
    def login():
        body = request.get_json(silent=True) or {}
        if body.get("email") != app.config["EMAIL"] or \
                body.get("password") != app.config["PASSWORD"]:
            return jsonify({"error": "Email atau password salah"}), 401
        token = secrets.token_urlsafe(24)
        with lock:
            state["tokens"].add(token)
        resp = jsonify({"message": "Login berhasil",
                        "user": {"email": body["email"], "role": "ADMIN"}})
        resp.set_cookie("auth_token", token, httponly=True, samesite="Lax", path="/")
        return resp

    @app.get("/api/reports")
    def reports():
        try:
            page = max(1, int(request.args.get("page", 1)))
            limit = max(1, int(request.args.get("limit", app.config["LIMIT_DEFAULT"])))
        except ValueError:
            return jsonify({"error": "page dan limit harus angka"}), 400
        limit = min(limit, app.config["LIMIT_MAX"])  # capped, and the answer says the cap
        with lock:
            ordered = sorted(state["reports"], key=lambda r: (r["createdAt"], r["id"]),
                             reverse=True)
            total = len(ordered)
            rows = [report_json(r) for r in ordered[(page - 1) * limit: page * limit]]
        return jsonify({"data": rows, "pagination": {
            "page": page, "limit": limit, "total": total,
            "totalPages": max(1, math.ceil(total / limit))}})

    def find(report_id):
        return next((r for r in state["reports"] if r["id"] == report_id), None)

    @app.get("/api/reports/<report_id>")
    def report(report_id):
        with lock:
            row = find(report_id)
            return (jsonify(report_json(row)) if row else
                    (jsonify({"error": "Laporan tidak ditemukan"}), 404))

    @app.get("/api/reports/<report_id>/comments")
    def comments(report_id):
        with lock:
            if find(report_id) is None:
                return jsonify({"error": "Laporan tidak ditemukan"}), 404
            rows = sorted((c for c in state["comments"] if c["reportId"] == report_id),
                          key=lambda c: (c["createdAt"], c["id"]))
            return jsonify([comment_json(c) for c in rows])

    # --- controls -----------------------------------------------------------------------

    @app.post("/_sim/generate")
    def generate():
        body = request.get_json(silent=True) or {}
        reports_, comments_ = data.generate(int(body.get("count", 300)),
                                            int(body.get("comments", 292)),
                                            int(body.get("seed", app.config["SEED"])), now())
        with lock:
            state["reports"], state["comments"] = reports_, comments_
        return jsonify(counts())

    @app.post("/_sim/reports/<report_id>/comments")
    def add_comment(report_id):
        body = request.get_json(silent=True) or {}
        with lock:
            if find(report_id) is None:
                return jsonify({"error": "not found"}), 404
            row = {"id": data.cuid(random.Random()), "reportId": report_id,
                   "userId": "sim", "comment": body.get("comment", "Sedang ditangani."),
                   "createdAt": now(), "user": {"name": body.get("name", "Admin OPD"),
                                                "role": "OPD"}}
            state["comments"].append(row)  # Prisma leaves the report's updatedAt as it was
        return jsonify(comment_json(row)), 201

    @app.post("/_sim/reports/<report_id>/status")
    def set_status(report_id):
        body = request.get_json(silent=True) or {}
        with lock:
            row = find(report_id)
            if row is None:
                return jsonify({"error": "not found"}), 404
            for key in ("bupatiStatus", "opdStatus"):
                if key in body:
                    row[key] = body[key]
            row["updatedAt"] = max(now(), row["updatedAt"] + timedelta(milliseconds=1))
        return jsonify(report_json(row))

    @app.post("/_sim/logout_all")
    def logout_all():
        with lock:
            state["tokens"].clear()
        return jsonify({"ok": True})

    @app.get("/_sim/state")
    def sim_state():
        return jsonify(counts())

    def counts():
        return {"reports": len(state["reports"]), "comments": len(state["comments"]),
                "requests": len(state["requests"])}

    return app
