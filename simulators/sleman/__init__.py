"""A Sleman-style local complaint system ("LAPOR Sleman"): Indonesian field names, its own
statuses, categories, units (OPD) and channels, paging, `updated_since`, and faults that
can be switched on (500s, timeouts, garbage JSON, repeated or reordered pages, stalls)."""
from simulators.sleman.app import create_app  # noqa: F401
