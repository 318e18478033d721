"""The public Open311 GeoReport v2 facade (/open311/v2), with mySociety's
servicerequestupdates extension. It is its own spec, so it stays out of the
report-exchange API's OpenAPI document."""


def init_app(app):
    from hub.open311.views import bp
    app.register_blueprint(bp)
