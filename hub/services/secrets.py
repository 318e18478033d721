"""Stored secrets encrypted at rest (Fernet, keyed from HUB_SECRET_KEY): connector
credentials and webhook signing secrets.

Sealing uses the current key; opening tries it and then HUB_SECRET_KEY_PREVIOUS, so a
key rotation keeps every stored secret readable; `hub secret-key reseal` re-seals them
with the current key, after which the old key can be dropped.
"""
import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from hub.keys import all_keys


def _fernet_for(key: str) -> Fernet:
    digest = hashlib.sha256(("connector-secrets:" + key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet() -> MultiFernet:
    return MultiFernet([_fernet_for(k) for k in all_keys(current_app.config)])


def seal(secrets: dict) -> str:
    return _fernet().encrypt(json.dumps(secrets).encode()).decode()


def unseal(token: str | None) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        raise RuntimeError("stored secrets cannot be decrypted: was HUB_SECRET_KEY "
                           "changed without keeping the old one in "
                           "HUB_SECRET_KEY_PREVIOUS? Re-enter the credentials.") from None


def reseal(token: str | None) -> str | None:
    """The same secret sealed with the current key (InvalidToken if no key opens it)."""
    if not token:
        return token
    return _fernet().rotate(token.encode()).decode()
