"""Realistic local complaints (Indonesian texts from templates), deterministic per seed."""
import random

from simulators.sleman.store import CATEGORIES, UNITS

PLACES = ["Jl. Kaliurang km 7", "Jl. Magelang km 10", "Jl. Palagan", "Condongcatur",
          "Maguwoharjo", "Sinduadi", "Caturtunggal", "Sardonoharjo", "Ambarketawang",
          "Jl. Godean km 5", "Tridadi", "Pasar Gamping", "Jl. Solo km 9", "Minomartani"]
TEMPLATES = {
    "JLN-RSK": ("Jalan berlubang di {p}", "Lubang di {p} makin besar dan membahayakan "
                "pengendara motor, terutama malam hari."),
    "PJU": ("Lampu jalan mati di {p}", "Sudah dua minggu lampu PJU di {p} mati, jalan gelap."),
    "SAMPAH": ("Sampah menumpuk di {p}", "Sampah tidak diangkut lebih dari seminggu di {p}."),
    "SALURAN": ("Saluran air mampet di {p}", "Saluran tersumbat, air meluap ke jalan di {p}."),
    "ADMINDUK": ("KTP-el belum jadi", "Sudah rekam KTP-el tiga bulan lalu di {p} tapi belum "
                 "dicetak."),
    "BANSOS": ("Bansos tidak tepat sasaran di {p}", "Warga mampu menerima bantuan sementara "
               "lansia di {p} tidak."),
    "PUNGLI": ("Pungutan liar di {p}", "Ada pungutan tanpa kuitansi saat mengurus surat."),
    "PKM": ("Antrean puskesmas lama", "Antre lebih dari tiga jam di puskesmas dekat {p}."),
    "PARKIR": ("Parkir liar di {p}", "Parkir di bahu jalan {p} membuat macet setiap sore."),
    "AIR": ("Air PDAM mati di {p}", "Air PDAM tidak mengalir tiga hari di {p}."),
}
NAMES = ["Siti Rahayu", "Budi Santoso", "Dewi Lestari", "Agus Wibowo", "Rina Marlina",
         "Joko Susilo", "Sri Wahyuni", "Bambang Hartono"]
# Complaints are routed to service units; the inspectorate receives none by itself.
ROUTED_UNITS = [u for u in UNITS if u != "INSPEKTORAT"]
CHANNELS = ["instagram", "facebook", "twitter", "web", "app", "sms"]


def complaint(rng: random.Random) -> dict:
    code = rng.choice(list(TEMPLATES))
    place = rng.choice(PLACES)
    title, body = TEMPLATES[code]
    anonymous = rng.random() < 0.15
    name = rng.choice(NAMES)
    return {
        "judul": title.format(p=place), "isi": body.format(p=place), "kategori": code,
        "opd": rng.choice(ROUTED_UNITS), "kanal": rng.choice(CHANNELS),
        "pelapor": {"nama": None if anonymous else name,
                    "telepon": None if anonymous else f"08{rng.randint(10**9, 10**10 - 1)}",
                    "email": None},
        "anonim": anonymous, "rahasia": rng.random() < 0.05,
        "lokasi": {"alamat": place + ", Sleman", "kapanewon": None,
                   "lat": round(-7.7 - rng.random() * 0.1, 5),
                   "lng": round(110.35 + rng.random() * 0.1, 5)},
        "tanggal_kejadian": f"2026-11-{rng.randint(1, 20):02d}",
    }


def response(rng: random.Random) -> dict:
    return {"isi": rng.choice(["Terima kasih, laporan sudah kami teruskan ke petugas lapangan.",
                               "Petugas sudah mengecek lokasi dan menjadwalkan perbaikan.",
                               "Perbaikan telah selesai dilaksanakan."]),
            "petugas": rng.choice(["Admin OPD", "Pejabat Penghubung", "Petugas Lapangan"])}


assert set(TEMPLATES) <= set(CATEGORIES)
