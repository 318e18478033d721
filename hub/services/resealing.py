"""Every stored sealed secret re-sealed with the current key (`hub secret-key reseal`)."""
import sqlalchemy as sa

from hub.models import Connector, WebhookSubscription
from hub.services.secrets import reseal

# (model, its sealed columns): each holds a Fernet token made by hub.services.secrets.seal.
SEALED = ((Connector, ("secrets",)),
          (WebhookSubscription, ("secret_sealed", "previous_secret_sealed")))


def reseal_all(session) -> dict:
    """Re-seal in place; raises (nothing written) if any secret opens with no key."""
    counts = {}
    for model, columns in SEALED:
        n = 0
        for row in session.execute(sa.select(model).with_for_update()).scalars():
            for column in columns:
                old = getattr(row, column)
                if old:
                    setattr(row, column, reseal(old))
                    n += 1
        counts[model.__tablename__] = n
    return counts
