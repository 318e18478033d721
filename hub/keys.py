"""The hub's secret keys: the current HUB_SECRET_KEY and the ones a rotation retired.

One key signs API tokens and UI cookies and seals stored secrets (connector credentials,
webhook secrets); each use takes its own key derived from it. A rotation moves the old
key to HUB_SECRET_KEY_PREVIOUS: everything is then made with the new key and still
verified or opened with the old ones, until `hub secret-key reseal` has re-sealed the
stored secrets and the old tokens have expired and the operator drops the old key.
"""
import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

DEVELOPMENT = "development"
MIN_LENGTH = 32
# Keys published in this repository's history or docs: anyone can sign with them.
PUBLIC_KEYS = frozenset({"dev-only-insecure-key-set-HUB_SECRET_KEY", "change-me",
                         "changeme", "secret", "dev", "development"})


class InsecureSecretKey(RuntimeError):
    """The hub will not start: its secret key is missing or guessable."""


def weakness(key: str) -> str | None:
    """Why `key` is not fit to sign tokens, or None when it is."""
    if key in PUBLIC_KEYS:
        return "it is a published example key"
    if len(key) < MIN_LENGTH:
        return f"it is {len(key)} characters long, at least {MIN_LENGTH} are needed"
    if len(set(key)) < 8:
        return "it repeats too few characters to be random"
    return None


def settle(config) -> None:
    """Fill in or check config["SECRET_KEY"]; raise InsecureSecretKey when unfit.

    Only HUB_ENV=development may run without HUB_SECRET_KEY: it then uses a random key
    of its own, kept in HUB_VAR_DIR/secret-key so that every process of one checkout
    (server, worker, CLI) shares it and a restart keeps sessions and sealed secrets.
    """
    development = config.get("HUB_ENV") == DEVELOPMENT
    key = config.get("SECRET_KEY")
    if not key:
        if not development:
            raise InsecureSecretKey(
                "HUB_SECRET_KEY is not set. Set it to a random value of at least "
                f"{MIN_LENGTH} characters, the same for every hub process, e.g. "
                "HUB_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))'"
                "); or set HUB_ENV=development on a development machine.")
        key = config["SECRET_KEY"] = _development_key(Path(config["HUB_VAR_DIR"]))
    problem = weakness(key)
    if problem and (not development or key in PUBLIC_KEYS):
        raise InsecureSecretKey(
            f"HUB_SECRET_KEY is too weak: {problem}. Set it to a random value of at "
            f"least {MIN_LENGTH} characters, e.g. from "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`.")
    previous = [k for k in config.get("HUB_SECRET_KEY_PREVIOUS") or [] if k != key]
    config["HUB_SECRET_KEY_PREVIOUS"] = previous
    # Flask (3.1+) reads UI session cookies signed with any of these.
    config["SECRET_KEY_FALLBACKS"] = list(previous)


def _development_key(var: Path) -> str:
    path = var / "secret-key"
    if not path.exists():
        var.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process of this checkout made it first: use theirs
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text().strip()


def derive(key: str, purpose: str) -> bytes:
    """A key for one purpose only, so that no use of the key can serve another."""
    return hmac.new(key.encode(), purpose.encode(), hashlib.sha256).digest()


def kid(key: str) -> str:
    """The key id named in a token's header: tells which key signed it, reveals nothing."""
    return base64.urlsafe_b64encode(derive(key, "kid")[:9]).decode()


def all_keys(config) -> list[str]:
    """The current key first, then the previous ones."""
    return [config["SECRET_KEY"], *config.get("HUB_SECRET_KEY_PREVIOUS", [])]
