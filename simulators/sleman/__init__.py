"""A Sleman-style local complaint system ("LAPOR Sleman", lapor.slemankab.go.id) for the
hub's connectors, tests, demo and benchmarks: Indonesian field names, its own statuses,
categories, units (OPD) and channels, sqlite3 storage, paging with `updated_since`, and
faults that can be switched on (500/503, timeouts, garbage JSON, wrong shapes, repeated,
reordered or stalled pages, a bad record). See simulators/sleman/README.md."""
from simulators.sleman.app import create_app  # noqa: F401
