"""marshmallow schemas of the report-exchange API (they also generate the OpenAPI)."""
