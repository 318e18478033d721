"""The report-exchange API v1: one flask-smorest blueprint per area."""
import json

from flask_smorest.arguments import ArgumentsMixin
from webargs.flaskparser import FlaskParser


class HubParser(FlaskParser):
    """webargs' parser, but a body Python's json module cannot decode for reasons other
    than syntax (nesting deeper than the recursion limit: RecursionError; an integer
    literal beyond the digit limit: ValueError) is malformed JSON (400), not a crash (500)."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except json.JSONDecodeError:
            raise
        except (RecursionError, ValueError) as exc:
            raise json.JSONDecodeError(f"Invalid JSON: {exc.__class__.__name__}", "", 0) from exc


# Installed before the blueprint modules below are imported: flask-smorest binds the
# parser when @blp.arguments decorates a view.
ArgumentsMixin.ARGUMENTS_PARSER = HubParser()


def register(api):
    from hub.api import (auth, changes, connectors, directory, reports, responses,  # noqa
                         sources, sync)
    for module in (auth, directory, reports, responses, sources, sync, changes, connectors):
        api.register_blueprint(module.blp, url_prefix="/api/v1")
    from hub.api import sla  # per-agency SLA limits and holidays
    api.register_blueprint(sla.blp, url_prefix="/api/v1")
    from hub.api import stats  # the indicators
    api.register_blueprint(stats.blp, url_prefix="/api/v1")
    from hub.api import webhooks  # subscriptions and the delivery log
    api.register_blueprint(webhooks.blp, url_prefix="/api/v1")
    from hub.api import source_systems  # who may write under which system name
    api.register_blueprint(source_systems.blp, url_prefix="/api/v1")
    from hub.api import clients  # API client administration: list, deactivate, rotate
    api.register_blueprint(clients.blp, url_prefix="/api/v1")
