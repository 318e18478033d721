"""The web UI for liaison officers and agency admins, mounted at /ui; its landing page
(/ui/) is what needs the officer's action (hub/ui/home.py).

Server-rendered Jinja2 (autoescaped), a session cookie (Secure unless debugging,
HttpOnly, SameSite=Lax), a per-session CSRF token checked on every POST, and the same
tenant rules as the API (hub.services.access): another agency's things are 404.
"""
from flask import redirect, url_for


def init_app(app):
    from hub.ui import (  # noqa: F401  (each module adds its pages to the blueprint)
        base,
        connector_forms,
        dashboard,
        home,
        recaps,
        report_list,
        users,
        views,
        webhooks,
    )
    app.jinja_env.globals["can_edit_connectors"] = connector_forms.can_edit
    app.jinja_env.globals["nav_counts"] = home.nav_counts
    from hub.ui import charts
    app.jinja_env.globals["chart_axis"] = charts.axis
    app.jinja_env.globals["period_label"] = charts.period_label
    app.register_blueprint(base.bp)

    @app.route("/")
    def _root():
        return redirect(url_for("ui.index"))
