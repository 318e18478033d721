"""Create and edit a connector from its kind's CONFIG_SCHEMA, and test its connection.

The form is generated from the schema (connectors/<kind>.py: CONFIG_SCHEMA): scalars
become inputs, enums selects, booleans checkboxes, objects with named properties a
fieldset, free-form objects and arrays a JSON text area. Secrets are write-only: a
password input that is never filled in; left blank, the stored value stays. Saving
validates the configuration against the schema (jsonschema) and by building the
connector, and shows each problem next to its field.
"""
import json
import logging
import re
from urllib.parse import urlsplit

import jsonschema
import sqlalchemy as sa
from flask import abort, flash, g, redirect, render_template, request, url_for

from hub.extensions import db
from hub.models import Agency, Connector
from hub.services import access, source_systems
from hub.services.secrets import seal, unseal
from hub.sync import registry
from hub.ui import i18n
from hub.ui.base import bp, connector_in_scope

log = logging.getLogger(__name__)

EDITOR_ROLES = ("agency_admin", "national_admin")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def require_editor():
    """Officers see and map; changing a connector's configuration is for admins."""
    if g.user.role not in EDITOR_ROLES:
        abort(403)


def can_edit() -> bool:
    return g.user is not None and g.user.role in EDITOR_ROLES


# -- the form, from the schema -------------------------------------------------------

def form_fields(schema: dict, prefix: str = "config") -> list[dict]:
    """Flatten a config schema into form fields: {name, path, label, widget, ...}."""
    out = []
    required = set(schema.get("required") or ())
    for key, prop in (schema.get("properties") or {}).items():
        name = f"{prefix}.{key}"
        label = prop.get("title") or key.replace("_", " ")
        base = {"name": name, "key": key, "label": label, "required": key in required,
                "description": prop.get("description")}
        if "enum" in prop:
            out.append({**base, "widget": "select",
                        "options": [o for o in prop["enum"] if o is not None]})
        elif prop.get("type") == "object" and prop.get("properties"):
            out.append({**base, "widget": "group",
                        "children": form_fields(prop, name)})
        elif prop.get("type") in ("object", "array"):
            out.append({**base, "widget": "json", "kind": prop["type"]})
        elif prop.get("type") == "boolean":
            out.append({**base, "widget": "checkbox", "default": bool(prop.get("default"))})
        elif prop.get("type") in ("integer", "number"):
            out.append({**base, "widget": "number", "kind": prop["type"],
                        "default": prop.get("default")})
        else:
            out.append({**base, "widget": "url" if prop.get("format") == "uri" else "text",
                        "default": prop.get("default")})
    return out


def _get(config: dict, name: str):
    node = config
    for part in name.split(".")[1:]:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(config: dict, name: str, value) -> None:
    parts = name.split(".")[1:]
    node = config
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            return
    node[parts[-1]] = value


def _unset(config: dict, name: str) -> None:
    parts = name.split(".")[1:]
    node = config
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def values_for(fields: list[dict], config: dict) -> dict:
    """What each input shows: the stored value (objects as indented JSON)."""
    out = {}
    for f in fields:
        if f["widget"] == "group":
            out.update(values_for(f["children"], config))
            continue
        value = _get(config, f["name"])
        if f["widget"] == "json":
            out[f["name"]] = "" if value is None else json.dumps(value, indent=2,
                                                                 ensure_ascii=False)
        elif f["widget"] == "checkbox":
            out[f["name"]] = bool(value) if value is not None else f.get("default", False)
        else:
            out[f["name"]] = "" if value is None else str(value)
    return out


def parse_config(fields: list[dict], form, config: dict, errors: dict) -> dict:
    """Read the form into `config` (keys the schema does not describe are kept)."""
    for f in fields:
        name = f["name"]
        if f["widget"] == "group":
            parse_config(f["children"], form, config, errors)
            continue
        if f["widget"] == "checkbox":
            _set(config, name, form.get(name) == "on")
            continue
        raw = (form.get(name) or "").strip()
        if raw == "":
            _unset(config, name)
            continue
        if f["widget"] == "number":
            try:
                value = int(raw) if f["kind"] == "integer" else float(raw)
            except ValueError:
                errors[name] = i18n.t("form.err_integer" if f["kind"] == "integer"
                                      else "form.err_number")
                continue
            _set(config, name, value)
        elif f["widget"] == "json":
            try:
                value = json.loads(raw)
            except ValueError as exc:
                errors[name] = i18n.t("form.err_json", detail=str(exc))
                continue
            if not isinstance(value, dict if f["kind"] == "object" else list):
                errors[name] = i18n.t("form.err_json_" + f["kind"])
                continue
            _set(config, name, value)
        else:
            if f["widget"] == "url":
                parts = urlsplit(raw)
                if parts.scheme not in ("http", "https") or not parts.netloc:
                    errors[name] = i18n.t("form.err_url")
                    continue
            _set(config, name, raw)
    # Empty groups left behind by cleared fields mean "not configured".
    for f in fields:
        if f["widget"] == "group" and _get(config, f["name"]) == {}:
            _unset(config, f["name"])
    return config


def schema_errors(schema: dict, config: dict) -> dict:
    """jsonschema's verdict, keyed by form field name."""
    clean = {k: v for k, v in schema.items() if k != "secrets"}
    out = {}
    for err in jsonschema.Draft202012Validator(clean).iter_errors(config):
        path = ["config", *[str(p) for p in err.absolute_path]]
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            path.append(missing)
            out.setdefault(".".join(path), i18n.t("form.err_required"))
        elif err.validator == "type":
            out.setdefault(".".join(path), i18n.t("form.err_type",
                                                  type=str(err.validator_value)))
        elif err.validator == "enum":
            out.setdefault(".".join(path), i18n.t("form.err_enum"))
        else:
            out.setdefault(".".join(path), err.message)
    return out


# -- pages -----------------------------------------------------------------------------

def _render(kind, conn, fields, values, errors, common, secret_names, has_secret, status=200):
    return render_template("ui/connector_form.html", kind=kind, conn=conn, fields=fields,
                           values=values, errors=errors, common=common,
                           secret_names=secret_names, has_secret=has_secret,
                           kinds=sorted(registry.kinds()),
                           agencies=access.agencies_in_scope(db.session, g.principal)), status


@bp.route("/connectors/new", methods=["GET", "POST"])
def connector_new():
    require_editor()
    kinds = registry.kinds()
    kind = request.values.get("kind") or ""
    if kind not in kinds:
        return render_template("ui/connector_kinds.html", kinds=sorted(kinds))
    return _edit(kind, None)


@bp.route("/connectors/<connector_id>/edit", methods=["GET", "POST"])
def connector_edit(connector_id):
    conn = connector_in_scope(connector_id)  # another agency's: 404 before the role check
    require_editor()
    return _edit(conn.kind, conn)


def _edit(kind: str, conn):
    cls, schema = registry.kinds()[kind]
    fields = form_fields(schema)
    secret_names = list(schema.get("secrets") or ())
    stored_secrets = unseal(conn.secrets) if conn is not None else {}
    has_secret = {n: bool(stored_secrets.get(n)) for n in secret_names}
    config = json.loads(json.dumps(conn.config)) if conn is not None else {}
    common = {"id": conn.id if conn else "", "name": conn.name if conn else "",
              "system": conn.system if conn else "",
              "agency": conn.agency_code if conn else (g.user.agency_code or ""),
              "interval_seconds": str(conn.interval_seconds if conn else 60),
              "lookback_seconds": str(conn.lookback_seconds if conn else 300)}
    if request.method == "GET":
        return _render(kind, conn, fields, values_for(fields, config), {}, common,
                       secret_names, has_secret)

    form = request.form
    errors: dict = {}
    for key in ("name", "interval_seconds", "lookback_seconds") + \
            (("id", "system", "agency") if conn is None else ()):
        common[key] = (form.get(key) or "").strip()
    if not common["name"] or len(common["name"]) > 200:
        errors["name"] = i18n.t("form.err_required")
    for key, low in (("interval_seconds", 10), ("lookback_seconds", 0)):
        try:
            if not low <= int(common[key]) <= 86400:
                raise ValueError
        except ValueError:
            errors[key] = i18n.t("form.err_range", low=low, high=86400)
    if conn is None:
        if not _ID.match(common["id"]):
            errors["id"] = i18n.t("form.err_id")
        elif db.session.get(Connector, common["id"]) is not None:
            errors["id"] = i18n.t("form.err_taken")
        common["system"] = source_systems.normalise(common["system"] or common["id"])
        if not _ID.match(common["system"]):
            errors["system"] = i18n.t("form.err_id")
        elif db.session.execute(sa.select(Connector.id).where(
                Connector.system == common["system"])).first() or \
                source_systems.owner(db.session, common["system"]) not in (
                    None, common["agency"]):
            errors["system"] = i18n.t("form.err_taken")  # another agency's name
        if not common["agency"] or not access.in_scope(g.principal, common["agency"]) or \
                db.session.get(Agency, common["agency"]) is None:
            errors["agency"] = i18n.t("form.err_agency")
    config = parse_config(fields, form, config, errors)
    if not errors:
        errors.update(schema_errors(schema, config))
    secrets = dict(stored_secrets)
    for name in secret_names:
        value = form.get(f"secret.{name}") or ""
        if value:  # blank: unchanged (secrets are never shown back)
            secrets[name] = value
    if not errors:
        from connectors.base import ConnectorError
        agency = conn.agency_code if conn is not None else common["agency"]
        try:
            # What the operator allows it to reach, then the connector's own checks
            # (e.g. stream definitions).
            registry.build_from(kind, agency, config, secrets, resolve=True)
        except ConnectorError as exc:
            errors["_config"] = i18n.t("form.err_build", detail=str(exc)[:300])
        except Exception as exc:  # noqa: BLE001  any refusal is shown, not a 500
            errors["_config"] = i18n.t("form.err_build", detail=str(exc)[:300])
    if errors:
        flash(i18n.t("form.has_errors"), "error")
        return _render(kind, conn, fields, values_for(fields, config), errors, common,
                       secret_names, has_secret, 422)
    if conn is None:
        conn = Connector(id=common["id"], agency_code=common["agency"], kind=kind,
                         system=common["system"], outbound_seq=0, failure_streak=0,
                         paused=True, paused_reason=i18n.t("form.new_paused"))
        db.session.add(conn)
        from hub.sync import reconcile  # a source without a change cursor: daily
        reconcile.schedule(conn, reconcile.default_every(kind, config))
    conn.name = common["name"]
    conn.config = config
    conn.interval_seconds = int(common["interval_seconds"])
    conn.lookback_seconds = int(common["lookback_seconds"])
    conn.secrets = seal(secrets) if secrets else None
    source_systems.claim_for_connector(db.session, conn)  # the system is its agency's
    db.session.commit()
    flash(i18n.t("form.saved"), "ok")
    return redirect(url_for("ui.connector", connector_id=conn.id))


@bp.route("/connectors/<connector_id>/check", methods=["POST"])
def connector_check(connector_id):
    """Reach the local system once (connector.check()) and say what happened."""
    from connectors.base import ConnectorError
    conn = connector_in_scope(connector_id)
    try:
        result = registry.build(conn).check() or {}
    except ConnectorError as exc:
        flash(i18n.t("check.failed", detail=str(exc)), "error")
    except Exception:  # noqa: BLE001  a broken config is a message, not a 500
        # Its text may carry what the remote side said or the hub's internals: logged for
        # the operator, not shown to the tenant.
        log.exception("connection test of connector %s failed", conn.id)
        flash(i18n.t("check.failed", detail=i18n.t("check.internal")), "error")
    else:
        detail = ", ".join(f"{k}: {v}" for k, v in result.items())[:300]
        flash(i18n.t("check.ok", detail=detail), "ok")
    return redirect(url_for("ui.connector", connector_id=conn.id))
