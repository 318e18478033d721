"""The app a job runs in. Jobs run in RQ work-horses, outside any request, so each needs
an app; which app is the composition root's business, not the task layer's: create_app()
registers itself here (the `hub worker` process built one, and its work-horses inherit
the registration), so this layer never imports the package that imports it."""
from contextlib import nullcontext

from flask import has_app_context

_factory = None
_app = None


def use_app_factory(factory) -> None:
    global _factory
    _factory = factory


def app_context():
    """The current app when called in-process (no Redis); else this worker's own app."""
    if has_app_context():
        return nullcontext()
    global _app
    if _app is None:
        if _factory is None:
            raise RuntimeError("no app for this job: start workers with `hub worker`, "
                               "which builds the app the jobs run in")
        _app = _factory()
    return _app.app_context()
