"""The demo's local officers at work: every interval a new complaint arrives, and sometimes
an open one is verified, answered, finished or rejected."""
import logging
import random
import threading

from simulators.sleman import generator
from simulators.sleman.store import Store

log = logging.getLogger(__name__)
NEXT_STATUS = {"Menunggu": "Diverifikasi", "Diproses": "Selesai"}


def step(store: Store, rng: random.Random) -> None:
    store.create_aduan(generator.complaint(rng))
    roll = rng.random()
    if roll < 0.35:  # an officer answers an open complaint (this also sets Diproses)
        aid = store.pick(rng, ("Menunggu", "Diverifikasi", "Diproses"))
        if aid is not None:
            opd = store.get_aduan(aid)["opd"]
            store.add_tanggapan(aid, generator.response(rng, "Diproses", opd))
    elif roll < 0.65:  # verified, or finished with a closing response
        aid = store.pick(rng, ("Menunggu", "Diproses"))
        if aid is not None:
            row = store.get_aduan(aid)
            new = NEXT_STATUS[row["status"]]
            if new == "Selesai":
                store.add_tanggapan(aid, generator.response(rng, "Selesai", row["opd"]))
            store.set_status(aid, new, "Diperbarui petugas")
    elif roll < 0.70:
        aid = store.pick(rng, ("Menunggu",))
        if aid is not None:
            row = store.get_aduan(aid)
            store.add_tanggapan(aid, generator.response(rng, "Ditolak", row["opd"]))
            store.set_status(aid, "Ditolak", "Bukan kewenangan")


def start(store: Store, interval: float, rng: random.Random,
          stop: threading.Event) -> threading.Thread:
    def work():
        while not stop.wait(interval):
            try:
                step(store, rng)
            except Exception:  # keep the demo alive
                log.exception("simulated activity failed")

    thread = threading.Thread(target=work, daemon=True, name="sleman-activity")
    thread.start()
    return thread
