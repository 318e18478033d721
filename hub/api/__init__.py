"""The report-exchange API v1: one flask-smorest blueprint per area."""


def register(api):
    from hub.api import (auth, changes, directory, reports, responses, sources,  # noqa
                         sync)
    for module in (auth, directory, reports, responses, sources, sync, changes):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
