"""Attachments: type checked by content (not by the name or the client's word), size
capped, stored under a random key so no client-supplied name ever touches the disk."""
import hashlib
import os
import re
import unicodedata
from pathlib import Path

from flask import current_app

from hub.errors import Problem
from hub.ids import new_id
from hub.models import Attachment, utcnow
from hub.services import events
from hub.services.reports import Actor, _bump

# content type -> magic prefixes. Office files are zip containers; they are refused
# (with zip bombs) until the hub can inspect them safely.
ALLOWED = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
    "application/pdf": (b"%PDF-",),
    "text/plain": (),
}


def sniff(head: bytes) -> str | None:
    for ctype, magics in ALLOWED.items():
        if any(head.startswith(m) for m in magics):
            if ctype == "image/webp" and head[8:12] != b"WEBP":
                continue
            return ctype
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "text/plain" if b"\x00" not in head else None


def safe_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"<>:|?*]", "", name).strip(" .")
    return name[:200] or "lampiran"


def storage_dir() -> Path:
    return Path(current_app.config["HUB_ATTACHMENT_DIR"])


def save(session, report, upload, actor: Actor, response_id=None) -> Attachment:
    limit = current_app.config["HUB_ATTACHMENT_MAX_BYTES"]
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise Problem(413, "Attachment too large",
                      f"Attachments may be at most {limit // 1024} KiB.", slug="too-large")
    if not data:
        raise Problem(422, "Empty attachment", "The uploaded file is empty.",
                      slug="validation", errors={"file": "file is empty"})
    detected = sniff(data[:512] if not data.startswith(b"\xef\xbb\xbf") else data[3:515])
    if detected is None:
        raise Problem(415, "Unsupported attachment type",
                      "Attachments may be JPEG, PNG, GIF, WebP, PDF or plain text.",
                      slug="unsupported-type")
    if detected == "text/plain":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            raise Problem(415, "Unsupported attachment type",
                          "Text attachments must be UTF-8.", slug="unsupported-type") from None
    declared = (upload.mimetype or "").lower()
    if declared and declared != "application/octet-stream" and declared != detected:
        raise Problem(415, "Attachment type mismatch",
                      f"The file was sent as '{declared}' but its content is '{detected}'.",
                      slug="unsupported-type")
    att_id = new_id()
    key = f"{att_id.hex[:2]}/{att_id.hex}"
    path = storage_dir() / key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)  # the row commits after the file is durable; never the reverse
    att = Attachment(id=att_id, report_id=report.id, response_id=response_id,
                     filename=safe_filename(upload.filename), content_type=detected,
                     size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                     storage_key=key, created_at=utcnow(),
                     created_by=actor.principal.client_id)
    session.add(att)
    _bump(report)
    events.record(session, report, "attachment.added", **actor.event_kwargs(),
                  data={"attachment_id": str(att_id), "filename": att.filename})
    return att


def path_of(att: Attachment) -> Path:
    return storage_dir() / att.storage_key
