"""Upload a recap (rekap bulanan) into a spreadsheet connector's inbox from the UI.

The file lands in the folder the connector reads, inside its agency's inbox
(<HUB_INBOX_ROOT>/<agency code>/), under a cleaned-up name, written to a hidden temporary
file first and renamed when complete, so that a sync never reads half an upload.
"""
import os
import tempfile
from pathlib import Path

from flask import flash, redirect, request, url_for
from werkzeug.utils import secure_filename

from connectors.base import ConnectorError
from hub.sync import destinations
from hub.ui import i18n
from hub.ui.base import bp, connector_in_scope


def _accepted() -> tuple:
    from connectors.spreadsheet import READABLE  # what the connector can read, no more
    return READABLE


def _target_folder(conn) -> Path:
    from connectors.spreadsheet import Inbox
    inbox = Inbox(destinations.agency_inbox(conn.agency_code))
    folder = (conn.config or {}).get("inbox_dir")
    if folder is None:
        raise ConnectorError(i18n.t("recap.no_inbox"), retryable=False)
    inbox.root.mkdir(parents=True, exist_ok=True)
    try:
        target = inbox.locate(folder)
    except ValueError as exc:
        raise ConnectorError(str(exc), retryable=False) from None
    target.mkdir(parents=True, exist_ok=True)
    return inbox.inside(target, str(folder))


@bp.route("/connectors/<connector_id>/recaps", methods=["POST"])
def upload_recap(connector_id):
    """Officers of the agency drop a month's recap here instead of on a shared folder."""
    from connectors.spreadsheet import Limits
    conn = connector_in_scope(connector_id)
    back = redirect(url_for("ui.connector", connector_id=conn.id))
    if conn.kind != "spreadsheet":
        flash(i18n.t("recap.not_spreadsheet"), "error")
        return back
    upload = request.files.get("recap")
    name = secure_filename(upload.filename or "") if upload else ""
    if not name or not name.lower().endswith(_accepted()) or name.startswith(("~$", ".")):
        flash(i18n.t("recap.bad_name"), "error")
        return back
    limit = Limits.from_settings(destinations.setting).max_bytes
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        flash(i18n.t("recap.too_large", mb=limit // 1048576), "error")
        return back
    if not data:
        flash(i18n.t("recap.empty"), "error")
        return back
    try:
        folder = _target_folder(conn)
    except ConnectorError as exc:
        flash(i18n.t("recap.refused", detail=str(exc)), "error")
        return back
    fd, temp = tempfile.mkstemp(prefix=".upload-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temp, folder / name)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    flash(i18n.t("recap.saved", name=name), "ok")
    return back
