"""API client administration shared by the CLI (`hub client ...`) and the admin API:
list, deactivate, and replace a client's secret. Both of the latter end the client's
tokens at once (hub.client_state): deactivation by the active flag, a new secret by the
secret generation every token names."""
import secrets

import sqlalchemy as sa

from hub import client_state
from hub.models import ApiClient, hash_secret


def listing(session) -> list[ApiClient]:
    return list(session.execute(sa.select(ApiClient).order_by(ApiClient.id)).scalars())


def deactivate(session, client: ApiClient) -> None:
    """No new token, and the tokens already issued stop working."""
    client.active = False
    session.commit()
    client_state.forget(client.id)


def rotate_secret(session, client: ApiClient) -> str:
    """A new secret (returned once; only its hash is kept). The old secret and every
    token issued under it stop working."""
    secret = secrets.token_urlsafe(32)
    # Bumped in SQL, so two rotations at once cannot hand out the same generation.
    session.execute(sa.update(ApiClient).where(ApiClient.id == client.id).values(
        secret_hash=hash_secret(secret),
        secret_generation=ApiClient.secret_generation + 1))
    session.commit()
    session.refresh(client)
    client_state.forget(client.id)
    return secret
