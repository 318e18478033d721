"""Connectors to local complaint systems, one module per kind (see connectors/base.py)."""
