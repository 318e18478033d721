"""The `hub` console script: the same commands as `flask --app wsgi hub`, without typing
that. It builds the app (the composition root), so it sits above every layer."""
from flask.cli import ScriptInfo

from hub import create_app
from hub.cli import hub_cli


def main():
    """The app is created only when a command runs, so `hub --help` needs no database."""
    hub_cli.main(prog_name="hub", obj=ScriptInfo(create_app=create_app))
