"""Idempotency-Key: the first response to a create is stored with the effect it caused,
in the same transaction, and replayed for 24 hours."""
import functools
import hashlib
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, json, request
from sqlalchemy.exc import IntegrityError

from hub.errors import Problem
from hub.extensions import db
from hub.models import IdempotencyRecord, utcnow

WINDOW = timedelta(hours=24)
_REPLAYED_HEADERS = ("ETag", "Location", "Content-Type")


def _fingerprint() -> str:
    h = hashlib.sha256()
    h.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    if request.mimetype == "multipart/form-data":
        # The boundary is random on every send, so the raw bytes of a retried upload
        # differ: hash what the request carries instead (fields, file names, contents).
        for key, value in sorted(request.form.items(multi=True)):
            h.update(f"field:{key}={value}\n".encode())
        for key, upload in sorted(request.files.items(multi=True), key=lambda kv: kv[0]):
            h.update(f"file:{key}:{upload.filename}:{upload.mimetype}\n".encode())
            h.update(upload.stream.read())
            upload.stream.seek(0)
    else:
        h.update(request.get_data(cache=True))
    return h.hexdigest()


def _lookup(client_id, key):
    return db.session.execute(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key,
            IdempotencyRecord.created_at > utcnow() - WINDOW)).scalar_one_or_none()


def _replay(record, fingerprint):
    if record.request_fingerprint != fingerprint:
        raise Problem(422, "Idempotency-Key reused",
                      "This Idempotency-Key was already used with a different request "
                      "body; use a new key for a new request.", slug="idempotency-key-reused")
    resp = current_app.response_class(json.dumps(record.response_body),
                                      status=record.status_code)
    for k, v in (record.response_headers or {}).items():
        resp.headers[k] = v
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


def transactional(idempotent: bool = False):
    """Commit what the view did; with idempotent=True honour Idempotency-Key.

    Place below @require (auth first) and above the flask-smorest decorators, so the
    stored response is exactly what the client received.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            key = request.headers.get("Idempotency-Key") if idempotent else None
            if key is None:
                resp = view(*args, **kwargs)
                db.session.commit()
                return resp
            if not 1 <= len(key) <= 255:
                raise Problem(400, "Bad Idempotency-Key",
                              "Idempotency-Key must be 1 to 255 characters.",
                              slug="bad-idempotency-key")
            client_id, fingerprint = g.principal.client_id, _fingerprint()
            record = _lookup(client_id, key)
            if record is not None:
                return _replay(record, fingerprint)
            resp = view(*args, **kwargs)
            if resp.status_code < 500:
                # An expired record may linger: remove it, but only if expired. A live one
                # here was committed by a concurrent request with the same key after our
                # lookup; deleting it would let both requests take effect. Left alone, our
                # insert conflicts and we replay its response below.
                db.session.query(IdempotencyRecord).filter(
                    IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key,
                    IdempotencyRecord.created_at <= utcnow() - WINDOW).delete()
                db.session.add(IdempotencyRecord(
                    client_id=client_id, key=key, request_fingerprint=fingerprint,
                    status_code=resp.status_code, response_body=resp.get_json(),
                    response_headers={h: resp.headers[h] for h in _REPLAYED_HEADERS
                                      if h in resp.headers}))
            try:
                db.session.commit()
            except IntegrityError:
                # A concurrent request with the same key won; answer with its response.
                db.session.rollback()
                record = _lookup(client_id, key)
                if record is None:
                    raise
                return _replay(record, fingerprint)
            return resp
        return wrapper
    return decorate
