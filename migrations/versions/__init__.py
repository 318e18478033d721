"""The migration scripts, one revision each."""
