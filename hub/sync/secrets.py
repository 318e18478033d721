"""Connector credentials encrypted at rest (Fernet, keyed from HUB_SECRET_KEY)."""
import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    digest = hashlib.sha256(("connector-secrets:" + current_app.config["SECRET_KEY"])
                            .encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secrets: dict) -> str:
    return _fernet().encrypt(json.dumps(secrets).encode()).decode()


def unseal(token: str | None) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise RuntimeError("connector secrets cannot be decrypted: was HUB_SECRET_KEY "
                           "changed? Re-enter the connector's credentials.") from None
