"""Pages: sign-in, connectors (health, runs, actions), mappings (queue, suggestions,
YAML import/export) and reports (list, detail with timeline)."""
import secrets
from types import SimpleNamespace
from urllib.parse import urlsplit

import sqlalchemy as sa
import yaml
from flask import abort, flash, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash

from hub.extensions import db
from hub.models import (
    CHANNELS,
    MAPPED_FIELDS,
    STATUS_OUT,
    STATUSES,
    Agency,
    Category,
    Connector,
    HeldRecord,
    Mapping,
    Report,
    ReportEvent,
    ReportExternalRef,
    Response,
    SyncRecordError,
    SyncRun,
    User,
    utcnow,
)
from hub.ratelimit import limited
from hub.services import access
from hub.sync.mapping import MappingSet, local_key
from hub.ui import i18n, login_throttle, suggest
from hub.ui import sessions as ui_sessions
from hub.ui.base import (
    LOCKOUT,
    MAX_FAILED_LOGINS,
    bp,
    connector_in_scope,
)

# Mapping.local_value's length: a longer value cannot be stored.
LOCAL_VALUE_MAX = 200
# A password check costs the same whether or not the email exists (no user enumeration).
_DUMMY_HASH = None


# -- sessions ---------------------------------------------------------------------------

def _dummy_hash():
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        from werkzeug.security import generate_password_hash
        _DUMMY_HASH = generate_password_hash(secrets.token_hex(8), method="scrypt")
    return _DUMMY_HASH


def _safe_next(target):
    if not target:
        return url_for("ui.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/ui"):
        return url_for("ui.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limited("login")
def login():
    error = None
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        password = request.form.get("password") or ""
        user = db.session.execute(sa.select(User).where(User.email == email)
                                  ).scalar_one_or_none()
        address = request.remote_addr or "unknown"
        attempt, _ = login_throttle.claim(email, address, MAX_FAILED_LOGINS, LOCKOUT)
        if attempt > MAX_FAILED_LOGINS:
            error = "login.locked"  # no password check while locked
        elif user is None or not user.active:
            check_password_hash(_dummy_hash(), password)
            error = "login.locked" if attempt == MAX_FAILED_LOGINS else "login.bad"
        elif not check_password_hash(user.password_hash, password):
            error = "login.locked" if attempt == MAX_FAILED_LOGINS else "login.bad"
        else:
            login_throttle.clear(email, address)
            user.last_login_at = utcnow()
            lang = session.get("lang")
            session.clear()  # no session fixation: a fresh session and CSRF token
            session.permanent = True
            session["sid"] = ui_sessions.start(user)
            db.session.commit()
            if lang:
                session["lang"] = lang
            return redirect(_safe_next(request.form.get("next")))
    return render_template("ui/login.html", error=error,
                           next=request.values.get("next", "")), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
def logout():
    lang = session.get("lang")
    ui_sessions.end(session.get("sid"))
    db.session.commit()
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("ui.login"))


@bp.route("/lang", methods=["POST"])
def set_lang():
    lang = request.form.get("lang")
    if lang in i18n.LANGS:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))


# -- connectors -------------------------------------------------------------------------

def _held_counts(ids):
    if not ids:
        return {}
    return dict(db.session.execute(
        sa.select(HeldRecord.connector_id, sa.func.count())
        .where(HeldRecord.connector_id.in_(ids)).group_by(HeldRecord.connector_id)).all())


def circuit(conn) -> str:
    return "open" if conn.paused and conn.failure_streak else (
        "paused" if conn.paused else "closed")


@bp.route("/connectors")
def connectors():
    rows = [c for c in db.session.execute(sa.select(Connector).order_by(Connector.id))
            .scalars() if access.in_scope(g.principal, c.agency_code)]
    held = _held_counts([c.id for c in rows])
    return render_template("ui/connectors.html", connectors=rows, held=held, circuit=circuit,
                           now=utcnow())


@bp.route("/connectors/<connector_id>")
def connector(connector_id):
    conn = connector_in_scope(connector_id)
    runs = db.session.execute(sa.select(SyncRun).where(SyncRun.connector_id == conn.id)
                              .order_by(SyncRun.id.desc()).limit(20)).scalars().all()
    errors: dict = {}
    if runs:
        for err in db.session.execute(sa.select(SyncRecordError).where(
                SyncRecordError.run_id.in_([r.id for r in runs]))
                .order_by(SyncRecordError.id).limit(500)).scalars():
            errors.setdefault(err.run_id, []).append(err)
    held = db.session.execute(sa.select(HeldRecord).where(HeldRecord.connector_id == conn.id)
                              .order_by(HeldRecord.id).limit(200)).scalars().all()
    return render_template("ui/connector.html", conn=conn, runs=runs, errors=errors, held=held,
                           held_count=_held_counts([conn.id]).get(conn.id, 0),
                           circuit=circuit(conn), now=utcnow())


@bp.route("/connectors/<connector_id>/<any(pause, resume):action>", methods=["POST"])
def pause_resume(connector_id, action):
    conn = connector_in_scope(connector_id)
    if action == "pause":
        conn.paused = True
        conn.paused_reason = (request.form.get("reason") or "").strip()[:400] or \
            f"paused by {g.principal.client_id} ({g.user.email})"
        flash(i18n.t("flash.paused"), "ok")
    else:
        conn.paused, conn.paused_reason, conn.failure_streak = False, None, 0
        conn.next_run_at = None
        flash(i18n.t("flash.resumed"), "ok")
    db.session.commit()
    return redirect(url_for("ui.connector", connector_id=conn.id))


@bp.route("/connectors/<connector_id>/sync", methods=["POST"])
def sync_now(connector_id):
    conn = connector_in_scope(connector_id)
    from hub.tasks.jobs import sync_connector
    from hub.tasks.queue import enqueue
    enqueue(sync_connector, conn.id, "manual", queue="sync")
    db.session.expire_all()
    flash(i18n.t("flash.sync_started"), "ok")
    target = request.form.get("back") == "mappings"
    return redirect(url_for("ui.mappings" if target else "ui.connector",
                            connector_id=conn.id))


# -- mappings ---------------------------------------------------------------------------

def targets(field: str) -> list[tuple[str, str]]:
    """(hub value, label) choices for a mapping field, in the officer's scope."""
    if field == "category":
        cats = db.session.execute(sa.select(Category)).scalars().all()
        names = {c.code: (c.name_en if i18n.current_lang() == "en" and c.name_en else c.name)
                 for c in cats}
        parents = {c.code: c.parent_code for c in cats}
        out = []
        for c in cats:
            label = names[c.code]
            if parents.get(c.code):
                label = f"{names.get(parents[c.code], parents[c.code])} › {label}"
            out.append((c.code, label))
        return sorted(out, key=lambda x: x[1])
    if field == "unit":
        covered = access.scope(g.principal)
        stmt = sa.select(Agency.code, Agency.name).order_by(Agency.name)
        if covered is not None:
            stmt = stmt.where(Agency.code.in_(covered))
        return [(code, name) for code, name in db.session.execute(stmt)]
    if field in ("status", STATUS_OUT):
        return [(s, i18n.t(f"status.{s}")) for s in STATUSES]
    if field == "channel":
        return [(c, i18n.t(f"channel.{c}")) for c in CHANNELS]
    return []


def _tables(connector_id: str) -> dict:
    tables: dict = {f: {} for f in MAPPED_FIELDS + (STATUS_OUT,)}
    for m in db.session.execute(sa.select(Mapping).where(Mapping.connector_id == connector_id)
                                .order_by(Mapping.field, Mapping.local_value)).scalars():
        tables.setdefault(m.field, {})[m.local_value] = m.hub_value
    return tables


def unmapped_queue(connector_id: str) -> list[dict]:
    """Held records grouped by missing (field, value): how many, and a sample title."""
    groups: dict = {}
    for held in db.session.execute(sa.select(HeldRecord).where(
            HeldRecord.connector_id == connector_id, HeldRecord.reason == "unmapped")
            .order_by(HeldRecord.id)).scalars():
        fields = (held.record or {}).get("fields") or {}
        for miss in held.missing or []:
            key = (str(miss.get("field")), str(miss.get("value")))
            group = groups.setdefault(key, {"field": key[0], "value": key[1], "count": 0,
                                            "sample": None, "ids": []})
            group["count"] += 1
            group["ids"].append(held.external_id)
            if group["sample"] is None and fields.get("title"):
                group["sample"] = str(fields["title"])
    return sorted(groups.values(), key=lambda g_: (-g_["count"], g_["field"], g_["value"]))


@bp.route("/connectors/<connector_id>/mappings")
def mappings(connector_id):
    return _mappings_page(connector_in_scope(connector_id))


def _mappings_page(conn, added=None, errors=None, status=200):
    """The mapping page; `added`/`errors` refill the add-by-hand form after a refusal."""
    queue = unmapped_queue(conn.id)
    choices = {f: targets(f) for f in {q["field"] for q in queue} | set(MAPPED_FIELDS)}
    peers = {f: suggest.peer_mappings(db.session, f, [q["value"] for q in queue
                                                      if q["field"] == f], conn.id)
             for f in {q["field"] for q in queue}}
    for item in queue:
        item["suggestions"] = suggest.rank(
            item["field"], item["value"], item["sample"], choices.get(item["field"], []),
            peers[item["field"]].get(local_key(item["value"])))
        item["preselected"] = suggest.preselect(item["suggestions"])
    labels = {f: dict(choices.get(f) or targets(f)) for f in MAPPED_FIELDS + (STATUS_OUT,)}
    arrived_ids = session.pop("arrived", None)
    arrived = []
    if arrived_ids:
        arrived = db.session.execute(
            access.visible(g.principal).where(Report.id.in_(arrived_ids))
            .order_by(Report.submitted_at)).scalars().all()
    return render_template("ui/mappings.html", conn=conn, queue=queue, choices=choices,
                           tables=_tables(conn.id), labels=labels, arrived=arrived,
                           fields=MAPPED_FIELDS + (STATUS_OUT,), editable=MAPPED_FIELDS,
                           added=added or {"field": MAPPED_FIELDS[0]}, errors=errors or {},
                           held_count=_held_counts([conn.id]).get(conn.id, 0)), status


def _check_targets(tables: dict) -> None:
    """mapping_rules' verdict on the targets, as a translated ValueError."""
    from hub.errors import Problem
    from hub.services import mapping_rules
    try:
        mapping_rules.check_targets(db.session, g.principal, tables)
    except Problem as problem:
        outside = problem.slug == mapping_rules.OUT_OF_SCOPE
        raise ValueError(i18n.t("mappings.err_scope" if outside
                                else "mappings.err_target")) from None


def release_counts(connector_id: str, tables: dict, existing: dict) -> tuple[dict, int]:
    """What saving `tables` would release, before it is saved: for each proposed
    (field, local value), how many held records wait for it and are then complete
    ("released") or still wait for another value ("waiting"); and how many distinct
    records the whole choice releases. A record waits for a value when its missing
    (field, value) is the same word as the mapping lookup reads it (local_key).
    `existing`: the connector's mapping tables now (_tables)."""
    merged = {**existing, **{f: {**existing.get(f, {}), **t} for f, t in tables.items()}}
    after = MappingSet(SimpleNamespace(field=f, local_value=local, hub_value=hub)
                       for f, table in merged.items() for local, hub in table.items())
    # Several spellings of one word may be chosen at once (two rows of the queue).
    proposed: dict = {}
    for f, table in tables.items():
        for v in table:
            proposed.setdefault((f, local_key(v)), []).append((f, v))
    per = {row: {"released": 0, "waiting": 0} for rows in proposed.values() for row in rows}
    total = 0
    for missing in db.session.execute(sa.select(HeldRecord.missing).where(
            HeldRecord.connector_id == connector_id,
            HeldRecord.reason == "unmapped")).scalars():
        pairs = [(str(m.get("field")), m.get("value")) for m in missing or []]
        touched = {row for f, v in pairs for row in proposed.get((f, local_key(v)), ())}
        if not touched:
            continue
        complete = all(after.lookup(f, v) is not None for f, v in pairs)
        total += complete
        for row in touched:
            per[row]["released" if complete else "waiting"] += 1
    return per, total


def _confirm_page(conn, tables: dict):
    """The step before saving: each choice, what it replaces, what it releases."""
    existing = _tables(conn.id)
    per, total = release_counts(conn.id, tables, existing)
    labels = {f: dict(targets(f)) for f in tables}
    rows = [{"field": f, "value": local, "target": hub,
             "label": labels[f].get(hub, hub), "current": existing.get(f, {}).get(local),
             **per[(f, local)]}
            for f, table in tables.items() for local, hub in table.items()]
    return render_template("ui/mappings_confirm.html", conn=conn, rows=rows, total=total,
                           labels=labels)


def _save_and_replay(conn, new_tables: dict, merge: bool = True) -> int:
    """Validate and save mapping tables (merged into the existing ones, or replacing
    whole tables for a file import), then replay held records; returns how many
    arrived. Raises ValueError (a translated message) when something is refused."""
    from hub.errors import Problem
    from hub.sync import files
    from hub.sync.runner import replay_held
    _check_targets(new_tables)
    existing = _tables(conn.id)
    merged = {f: {**(existing.get(f, {}) if merge else {}), **table}
              for f, table in new_tables.items()}
    try:
        files.replace_mappings(db.session, conn.id, merged, g.principal.client_id)
    except (Problem, files.FileError):
        db.session.rollback()
        raise ValueError(i18n.t("mappings.err_target")) from None
    db.session.commit()
    before = {(h.stream, h.external_id) for h in db.session.execute(
        sa.select(HeldRecord).where(HeldRecord.connector_id == conn.id)).scalars()}
    counts: dict = {}
    replay_held(conn, counts)
    after = {(h.stream, h.external_id) for h in db.session.execute(
        sa.select(HeldRecord).where(HeldRecord.connector_id == conn.id)).scalars()}
    gone = [ext for stream, ext in before - after if stream == "reports"]
    if gone:
        ids = db.session.execute(sa.select(ReportExternalRef.report_id).where(
            ReportExternalRef.system == conn.system,
            ReportExternalRef.external_id.in_(gone))).scalars().all()
        session["arrived"] = [str(i) for i in ids][:50]
    return counts.get("replayed", 0)


@bp.route("/connectors/<connector_id>/mappings/accept", methods=["POST"])
def accept_mappings(connector_id):
    """Mappings chosen in the queue (or added or changed by hand): the first post shows
    what they would release; the confirmation (confirmed=1) saves and replays."""
    conn = connector_in_scope(connector_id)
    tables: dict = {}
    unchosen = []
    for key in request.form.getlist("accept"):
        field = request.form.get(f"field-{key}", "")
        value = request.form.get(f"value-{key}", "")
        target = request.form.get(f"target-{key}", "")
        if field not in MAPPED_FIELDS + (STATUS_OUT,) or not value:
            continue
        if not target:
            unchosen.append(value)
            continue
        tables.setdefault(field, {})[value] = target
    if unchosen:
        # Nothing is saved: a ticked row without a target is a choice not yet made.
        flash(i18n.t("mappings.no_target", values=", ".join(unchosen)), "error")
        return redirect(url_for("ui.mappings", connector_id=conn.id))
    if not tables:
        flash(i18n.t("mappings.none_selected"), "error")
        return redirect(url_for("ui.mappings", connector_id=conn.id))
    try:
        if any(len(v) > LOCAL_VALUE_MAX for t in tables.values() for v in t):
            raise ValueError(i18n.tn("mappings.err_value_long", LOCAL_VALUE_MAX))
        if request.form.get("confirmed") != "1":
            _check_targets(tables)
            return _confirm_page(conn, tables)
        replayed = _save_and_replay(conn, tables)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("ui.mappings", connector_id=conn.id))
    flash(i18n.tn("mappings.saved", sum(len(t) for t in tables.values()),
                  released=i18n.tn("records.released", replayed)),
          "ok")
    return redirect(url_for("ui.mappings", connector_id=conn.id))


@bp.route("/connectors/<connector_id>/mappings/add", methods=["POST"])
def add_mapping(connector_id):
    """A mapping typed by hand, for a value no held record shows yet (or not yet)."""
    conn = connector_in_scope(connector_id)
    field = request.form.get("field", "")
    value = " ".join((request.form.get("value") or "").split())
    target = request.form.get(f"target-{field}", "") if field in MAPPED_FIELDS else ""
    added = {"field": field, "value": value, "target": target}
    errors = {}
    if field not in MAPPED_FIELDS:
        errors["field"] = i18n.t("form.err_enum")
    if not value:
        errors["value"] = i18n.t("form.err_required")
    elif len(value) > LOCAL_VALUE_MAX:
        errors["value"] = i18n.tn("mappings.err_value_long", LOCAL_VALUE_MAX)
    elif field in MAPPED_FIELDS:
        same = [local for local in _tables(conn.id).get(field, {})
                if local_key(local) == local_key(value)]
        if same:
            # One word, one mapping: a second spelling would make the lookup ambiguous.
            errors["value"] = i18n.t("mappings.err_exists", value=same[0])
    if field in MAPPED_FIELDS and not target:
        errors["target"] = i18n.t("mappings.choose_target")
    elif field in MAPPED_FIELDS:
        try:
            _check_targets({field: {value or "-": target}})
        except ValueError as exc:
            errors["target"] = str(exc)
    if errors:
        return _mappings_page(conn, added, errors, 422)
    return _confirm_page(conn, {field: {value: target}})


@bp.route("/connectors/<connector_id>/mappings/edit", methods=["GET", "POST"])
def edit_mapping(connector_id):
    """Point an existing mapping at another hub value (confirmed like any other)."""
    conn = connector_in_scope(connector_id)
    field = request.values.get("field", "")
    value = request.values.get("value", "")
    mapping = db.session.get(Mapping, (conn.id, field, value)) \
        if field in MAPPED_FIELDS else None
    if mapping is None:
        abort(404)
    error, target = None, mapping.hub_value
    if request.method == "POST":
        target = request.form.get("target", "")
        try:
            if not target:
                raise ValueError(i18n.t("mappings.choose_target"))
            if target == mapping.hub_value:
                raise ValueError(i18n.t("mappings.err_unchanged"))
            _check_targets({field: {value: target}})
        except ValueError as exc:
            error = str(exc)
        else:
            return _confirm_page(conn, {field: {value: target}})
    return render_template("ui/mapping_edit.html", conn=conn, mapping=mapping, target=target,
                           choices=targets(field), error=error), 422 if error else 200


@bp.route("/connectors/<connector_id>/mappings/delete", methods=["POST"])
def delete_mapping(connector_id):
    conn = connector_in_scope(connector_id)
    field, local = request.form.get("field", ""), request.form.get("value", "")
    db.session.execute(sa.delete(Mapping).where(Mapping.connector_id == conn.id,
                                                Mapping.field == field,
                                                Mapping.local_value == local))
    db.session.commit()
    flash(i18n.t("mappings.deleted"), "ok")
    return redirect(url_for("ui.mappings", connector_id=conn.id))


@bp.route("/connectors/<connector_id>/mappings.yaml")
def export_yaml(connector_id):
    conn = connector_in_scope(connector_id)
    from hub.sync import files
    return files.dump_yaml(files.export_document(db.session, conn.id)), 200, {
        "Content-Type": "application/yaml; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{conn.id}.yaml"'}


@bp.route("/connectors/<connector_id>/mappings/import", methods=["POST"])
def import_yaml(connector_id):
    conn = connector_in_scope(connector_id)
    upload = request.files.get("file")
    try:
        doc = yaml.safe_load(upload.read().decode("utf-8")) if upload else None
    except (yaml.YAMLError, UnicodeDecodeError):
        doc = None
    spec = doc.get("connector") if isinstance(doc, dict) else None
    tables = doc.get("mappings") if isinstance(doc, dict) else None
    if not isinstance(spec, dict) or not isinstance(tables, dict) or \
            not all(isinstance(t, dict) for t in tables.values()):
        flash(i18n.t("import.bad_file"), "error")
        return redirect(url_for("ui.mappings", connector_id=conn.id))
    if spec.get("id") != conn.id or spec.get("agency") != conn.agency_code:
        flash(i18n.t("import.wrong_connector"), "error")
        return redirect(url_for("ui.mappings", connector_id=conn.id))
    tables = {f: {str(k): str(v) for k, v in (t or {}).items()} for f, t in tables.items()}
    unknown = set(tables) - set(MAPPED_FIELDS + (STATUS_OUT,))
    if unknown:
        flash(i18n.t("import.bad_file"), "error")
        return redirect(url_for("ui.mappings", connector_id=conn.id))
    # Only the mapping tables are taken from the file: the connector's configuration
    # (URLs, credentials) is not changed from the browser.
    try:
        replayed = _save_and_replay(conn, tables, merge=False)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("ui.mappings", connector_id=conn.id))
    flash(i18n.t("import.done", released=i18n.tn("records.released", replayed)), "ok")
    return redirect(url_for("ui.mappings", connector_id=conn.id))


# -- reports ----------------------------------------------------------------------------

@bp.route("/reports/<ident>")
def report(ident):
    rep = access.get_report(db.session, ident, g.principal)
    events = db.session.execute(sa.select(ReportEvent).where(ReportEvent.report_id == rep.id)
                                .order_by(ReportEvent.seq)).scalars().all()
    responses = db.session.execute(sa.select(Response).where(Response.report_id == rep.id)
                                   .order_by(Response.created_at)).scalars().all()
    category = db.session.get(Category, rep.category_code) if rep.category_code else None
    agency = db.session.get(Agency, rep.agency_code) if rep.agency_code else None
    return render_template("ui/report.html", r=rep, events=events, responses=responses,
                           category=category, agency=agency, now=utcnow())


@bp.route("/<path:_rest>")
def _unknown(_rest):
    """Unknown /ui pages get the UI's own (translated, HTML) 404, not the API's JSON."""
    abort(404)
