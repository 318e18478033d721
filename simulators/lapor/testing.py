"""Run the SP4N-LAPOR! simulator on 127.0.0.1 in a thread, for tests (real HTTP)."""
from simulators.lapor.app import create_app
from simulators.serving import ServedApp


class SimulatorHandle(ServedApp):
    def __init__(self, config=None):
        super().__init__(create_app(config))
        self.api_key = self.app.config["API_KEY"]
        self.token = self.app.config["TOKEN"]
        self.legacy = bool(self.app.config["LEGACY"])

    def complaint(self, **fields):
        """A citizen reports nationally; with institution_id it is dispositioned there."""
        return self.control("complaints", fields)

    def status(self, tracking_id, status):
        """A national admin (or the agency on lapor.go.id) changes the status."""
        return self.control(f"complaints/{tracking_id}/status", {"status": status})

    def hold(self, tracking_id):
        """Tunda: an admin puts a complaint not yet verified on hold (`tertunda`)."""
        return self.control(f"complaints/{tracking_id}/hold")

    def forward(self, tracking_id, institution_id, note="Bukan wewenang"):
        """An admin forwards the complaint to another institution (bukan wewenang)."""
        return self.control(f"complaints/{tracking_id}/forward",
                            {"institution_id": institution_id, "note": note})

    def followup(self, tracking_id, **fields):
        return self.control(f"complaints/{tracking_id}/followups", fields)

    def api(self, method, path, **kw):
        headers = {"KEYTOKEN": self.token} if self.legacy else {
            "Authorization": f"Bearer {self.api_key}", "token": self.token}
        return self.http.request(method, self.url + path, timeout=30, headers=headers, **kw)


def run_simulator(config=None) -> SimulatorHandle:
    return SimulatorHandle(config)
