"""Run the pengaduan simulator on 127.0.0.1 in a thread (real HTTP), for tests."""
from simulators.pengaduan.app import create_app
from simulators.serving import ServedApp


class PengaduanHandle(ServedApp):
    def __init__(self, config=None):
        super().__init__(create_app(config))
        self.token = self.app.config["TOKEN"]

    @property
    def since_seen(self) -> list:
        return list(self.app.extensions["sim"]["since_seen"])


def run_simulator(config=None) -> PengaduanHandle:
    return PengaduanHandle(config)
