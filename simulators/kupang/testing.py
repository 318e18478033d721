"""Run the Kupang simulator on 127.0.0.1 in a thread (real HTTP), for tests:

    with run_simulator() as sim:
        sim.control("generate", {"count": 300, "comments": 292})
"""
from simulators.kupang.app import create_app
from simulators.serving import ServedApp


class KupangHandle(ServedApp):
    def __init__(self, config=None):
        super().__init__(create_app(config))
        self.email = self.app.config["EMAIL"]
        self.password = self.app.config["PASSWORD"]

    @property
    def state(self) -> dict:
        return self.app.extensions["sim"]

    def requests_to(self, prefix: str) -> list:
        return [(path, args) for path, args in list(self.state["requests"])
                if path.startswith(prefix)]


def run_simulator(config=None) -> KupangHandle:
    return KupangHandle(config)
