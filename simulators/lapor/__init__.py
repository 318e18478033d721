"""The national SP4N-LAPOR! system's integration API (the shape the hub's lapor connector
uses): bearer API key + token headers, complaints (list by updated_since, filter by the
integrating app's external_id, create, status), follow-ups, and master data. Pull-only:
LAPOR! has no webhooks."""
from simulators.lapor.app import create_app  # noqa: F401
