"""Domain services: the logic behind the API, the UI and the connectors (none commits)."""
