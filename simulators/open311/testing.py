"""Run the Open311 simulator on 127.0.0.1 in a thread, for tests (real HTTP)."""
from simulators.open311.app import create_app
from simulators.serving import ServedApp


class SimulatorHandle(ServedApp):
    def __init__(self, config=None):
        super().__init__(create_app(config))
        self.api_key = self.app.config["API_KEY"]
        self.jurisdiction = self.app.config["JURISDICTION"]

    def request(self, **fields):
        """A citizen files a request in the local system."""
        return self.control("requests", fields)

    def update(self, sid, **fields):
        """A local officer posts an update (status and/or text) on a request."""
        return self.control(f"requests/{sid}/updates", fields)


def run_simulator(config=None) -> SimulatorHandle:
    return SimulatorHandle(config)
