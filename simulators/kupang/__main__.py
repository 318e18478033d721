"""python -m simulators.kupang [port]: the e-Lapor Kupang simulator with 300 reports."""
import sys
from datetime import datetime, timezone

from simulators.kupang import data
from simulators.kupang.app import create_app

if __name__ == "__main__":
    app = create_app()
    app.extensions["sim"]["reports"], app.extensions["sim"]["comments"] = data.generate(
        300, 292, app.config["SEED"], datetime.now(timezone.utc))
    app.run("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 5083)
