"""Alembic migrations (Flask-Migrate). Installed inside the wheel as hub.migrations."""
