"""An Open311 GeoReport v2 server (the subset the hub's open311 connector uses), with
mySociety's servicerequestupdates extension: services, requests (list, one, create, token
lookup) and updates (list, create). JSON only; an api_key guards writes and updates."""
from simulators.open311.app import create_app  # noqa: F401
