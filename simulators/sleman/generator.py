"""Realistic local complaints and responses (Indonesian texts from templates), deterministic
per seed. By default only values that mappings/kab-sleman/lapor-sleman.yaml maps are used
(categories IZIN and LAIN and the unit INSPEKTORAT never appear), so a backfill of generated
data is fully importable; `unmapped_share` mixes those in on purpose."""
import random
from datetime import timedelta

from simulators.sleman.master import CATEGORIES, UNITS

# (judul, isi); {p} = place, {k} = kapanewon, {n} = a number, {h} = a day
TEMPLATES = {
    "JLN-RSK": [
        ("Jalan berlubang di {p}", "Mohon segera ditambal, lubang di {p} Kapanewon {k} makin "
         "besar dan sudah {n} kali ada pengendara motor jatuh, terutama malam hari."),
        ("Aspal rusak parah {p}", "Aspal di {p} mengelupas sepanjang kurang lebih {n}0 meter "
         "sejak musim hujan. Kalau hujan lubangnya tertutup air dan tidak kelihatan."),
    ],
    "PJU": [
        ("Lampu jalan mati di {p}", "Sudah {n} minggu lampu PJU di {p} mati, jalan gelap dan "
         "rawan kejahatan. Mohon diperbaiki."),
        ("PJU berkedip-kedip {p}", "Lampu penerangan jalan di {p} ({k}) nyala mati sejak hari "
         "{h}, mengganggu pengguna jalan."),
    ],
    "SAMPAH": [
        ("Sampah menumpuk di {p}", "Sampah di depo {p} tidak diangkut lebih dari {n} hari, "
         "bau menyengat sampai ke rumah warga."),
        ("Pembuangan sampah liar {p}", "Ada orang membuang sampah di pinggir jalan {p} setiap "
         "malam. Mohon dipasang papan larangan dan ditindak."),
    ],
    "SALURAN": [
        ("Saluran air mampet di {p}", "Selokan di {p} tersumbat, setiap hujan air meluap ke "
         "jalan dan masuk ke {n} rumah warga."),
        ("Gorong-gorong tersumbat {p}", "Gorong-gorong di {p} Kapanewon {k} penuh lumpur dan "
         "sampah, mohon dikeruk sebelum musim hujan."),
    ],
    "ADMINDUK": [
        ("KTP-el belum jadi", "Saya sudah rekam KTP-el di Kapanewon {k} {n} bulan lalu tapi "
         "sampai sekarang belum dicetak, alasannya blangko habis."),
        ("Akta kelahiran lama terbit", "Mengurus akta kelahiran anak sejak {n} minggu lalu "
         "lewat online, statusnya tidak berubah."),
    ],
    "BANSOS": [
        ("Bansos tidak tepat sasaran di {p}", "Warga yang mampu di {p} menerima bantuan "
         "sementara lansia yang tinggal sendiri tidak terdata."),
        ("Bantuan PKH belum cair", "Bantuan PKH keluarga kami di {k} belum cair {n} bulan, "
         "mohon informasinya."),
    ],
    "PUNGLI": [
        ("Pungutan liar saat urus surat", "Saat mengurus surat pengantar di {k} diminta uang "
         "Rp{n}0.000 tanpa kuitansi."),
        ("Dugaan pungli parkir {p}", "Juru parkir di {p} menarik tarif Rp{n}.000, jauh di atas "
         "tarif resmi, dan tidak memberi karcis."),
    ],
    "PKM": [
        ("Antrean puskesmas lama", "Antre lebih dari {n} jam di Puskesmas {k}, loket "
         "pendaftaran hanya dibuka satu."),
        ("Obat di puskesmas kosong", "Di Puskesmas {k} obat yang diresepkan kosong dan pasien "
         "disuruh membeli sendiri di apotek."),
    ],
    "SEKOLAH": [
        ("Zonasi PPDB tidak jelas", "Rumah kami di {p} hanya {n}00 meter dari sekolah tapi "
         "anak tidak diterima lewat jalur zonasi."),
        ("Pungutan seragam sekolah", "Sekolah di {k} mewajibkan membeli seragam di koperasi "
         "sekolah dengan harga mahal."),
    ],
    "PARKIR": [
        ("Parkir liar di {p}", "Parkir di bahu jalan {p} membuat macet setiap sore, mohon "
         "ditertibkan."),
    ],
    "PKL": [
        ("PKL di trotoar {p}", "Pedagang kaki lima memakai trotoar di {p} sehingga pejalan "
         "kaki harus turun ke jalan."),
    ],
    "AIR": [
        ("Air PDAM mati di {p}", "Air PDAM tidak mengalir {n} hari di {p}, tidak ada "
         "pemberitahuan sebelumnya."),
        ("Pipa PDAM bocor {p}", "Pipa PDAM di {p} bocor sejak hari {h}, air terbuang "
         "percuma dan jalan jadi licin."),
    ],
    "BANJIR": [
        ("Genangan setiap hujan di {p}", "Setiap hujan deras {p} tergenang setinggi "
         "{n}0 cm, kendaraan mogok."),
    ],
    "IZIN": [
        ("Izin usaha lama terbit", "Permohonan izin usaha di Mal Pelayanan Publik sudah {n} "
         "minggu belum ada kabar."),
    ],
    "LAIN": [
        ("Pohon tumbang belum dipotong", "Pohon tumbang di {p} sejak hari {h} belum "
         "dibersihkan."),
    ],
}
CATEGORY_UNITS = {
    "JLN-RSK": ["DPUPKP"], "PJU": ["DISHUB"], "SAMPAH": ["DLH"], "SALURAN": ["DPUPKP"],
    "ADMINDUK": ["DISDUKCAPIL"], "BANSOS": ["DINSOS"],
    "PUNGLI": ["SATPOLPP", "KAP-DEPOK", "KAP-MLATI"], "PKM": ["DINKES"],
    "SEKOLAH": ["DISDIK"], "PARKIR": ["DISHUB"], "PKL": ["SATPOLPP"], "AIR": ["PDAM"],
    "BANJIR": ["BPBD", "DPUPKP"], "IZIN": ["DISKOMINFO"], "LAIN": ["KAP-DEPOK"],
}
UNMAPPED_CATEGORIES = ("IZIN", "LAIN")
UNMAPPED_UNITS = ("INSPEKTORAT",)
MAPPED_CATEGORIES = [c for c in TEMPLATES if c not in UNMAPPED_CATEGORIES]
ROUTED_UNITS = [u for u in UNITS if u not in UNMAPPED_UNITS]
PLACES = [("Jl. Kaliurang km 7", "Ngaglik"), ("Jl. Magelang km 10", "Mlati"),
          ("Jl. Palagan Tentara Pelajar", "Ngaglik"), ("Condongcatur", "Depok"),
          ("Maguwoharjo", "Depok"), ("Sinduadi", "Mlati"), ("Caturtunggal", "Depok"),
          ("Sardonoharjo", "Ngaglik"), ("Ambarketawang", "Gamping"),
          ("Jl. Godean km 5", "Godean"), ("Tridadi", "Sleman"), ("Pasar Gamping", "Gamping"),
          ("Jl. Solo km 9", "Kalasan"), ("Minomartani", "Ngaglik"), ("Pakembinangun", "Pakem"),
          ("Bokoharjo", "Prambanan"), ("Jl. Seturan Raya", "Depok"), ("Sendangadi", "Mlati"),
          ("Wedomartani", "Ngemplak"), ("Sumberadi", "Mlati"), ("Margorejo", "Tempel"),
          ("Umbulharjo", "Cangkringan"), ("Sidoarum", "Godean"), ("Jogotirto", "Berbah")]
NAMES = ["Siti Rahayu", "Budi Santoso", "Dewi Lestari", "Agus Wibowo", "Rina Marlina",
         "Joko Susilo", "Sri Wahyuni", "Bambang Hartono", "Nur Hidayah", "Eko Prasetyo",
         "Wulan Sari", "Andi Nugroho", "Tri Handayani", "Heru Purnomo", "Yuni Astuti",
         "Dimas Saputra", "Ratna Dewi", "Slamet Riyadi", "Fitri Anggraini", "Wahyu Hidayat"]
OFFICERS = ["Pejabat Penghubung {opd}", "Admin {opd}", "Rudi Hartanto", "Lestari Wulandari",
            "Sugeng Raharjo", "Admin LAPOR Sleman"]
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
CHANNEL_WEIGHTS = {"instagram": 25, "facebook": 12, "twitter": 10, "web": 18, "app": 12,
                   "sms": 8, "email": 5, "telepon": 5, "surat": 3, "lapor": 2}
STATUS_WEIGHTS = {"Menunggu": 25, "Diverifikasi": 15, "Diproses": 27, "Selesai": 28,
                  "Ditolak": 5}
RESPONSES = {
    "Diproses": ["Terima kasih atas laporannya. Aduan sudah kami teruskan ke {unit} dan "
                 "akan ditindaklanjuti.",
                 "Petugas {unit} sudah meninjau lokasi; penanganan dijadwalkan pekan ini.",
                 "Laporan sedang kami koordinasikan dengan {unit}. Mohon kesabarannya."],
    "Selesai": ["Penanganan sudah selesai dilaksanakan oleh {unit}. Terima kasih atas "
                "partisipasinya.",
                "Sudah diperbaiki oleh tim {unit}. Silakan laporkan kembali bila masih ada "
                "kendala."],
    "Ditolak": ["Mohon maaf, aduan bukan kewenangan Pemerintah Kabupaten Sleman; sudah kami "
                "teruskan ke instansi terkait.",
                "Mohon maaf, data aduan kurang lengkap (lokasi tidak jelas). Silakan kirim "
                "aduan baru dengan detail lokasi."],
}


def _pick(rng, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _text(template: str, rng: random.Random, place: str, kapanewon: str) -> str:
    return template.format(p=place, k=kapanewon, n=rng.randint(2, 9), h=rng.choice(DAYS))


def complaint(rng: random.Random, unmapped_share: float = 0.0) -> dict:
    """Flat column values of one new local complaint (no status, ids or timestamps)."""
    odd = unmapped_share > 0 and rng.random() < unmapped_share
    if odd and rng.random() < 0.5:
        code, unit = rng.choice(UNMAPPED_CATEGORIES), None
    else:
        code = rng.choice(MAPPED_CATEGORIES)
        unit = rng.choice(UNMAPPED_UNITS) if odd else None
    if unit is None:
        unit = rng.choice(CATEGORY_UNITS[code]) if rng.random() < 0.95 \
            else rng.choice(ROUTED_UNITS)
    place, kapanewon = rng.choice(PLACES)
    title, body = rng.choice(TEMPLATES[code])
    anonymous = rng.random() < 0.15
    name = rng.choice(NAMES)
    channel = _pick(rng, CHANNEL_WEIGHTS)
    email = (name.lower().replace(" ", ".") + f"{rng.randint(1, 99)}@gmail.com") \
        if channel in ("email", "web", "app") and not anonymous else None
    return {
        "judul": _text(title, rng, place, kapanewon), "isi": _text(body, rng, place, kapanewon),
        "kategori": code, "opd": unit, "kanal": channel,
        "pelapor_nama": None if anonymous else name,
        "pelapor_telepon": None if anonymous else f"08{rng.randint(10**9, 10**10 - 1)}",
        "pelapor_email": email, "anonim": int(anonymous), "rahasia": int(rng.random() < 0.05),
        "alamat": f"{place}, Kapanewon {kapanewon}, Sleman", "kapanewon": kapanewon,
        "lat": round(-7.68 - rng.random() * 0.12, 6), "lng": round(110.30 + rng.random() * 0.17,
                                                                   6),
    }


def response(rng: random.Random, status: str = "Diproses", unit: str | None = None) -> dict:
    unit = unit or "DPUPKP"
    texts = RESPONSES.get(status, RESPONSES["Diproses"])
    return {"isi": rng.choice(texts).format(unit=UNITS.get(unit, unit)),
            "petugas": rng.choice(OFFICERS).format(opd=unit), "opd": unit,
            "publik": rng.random() < 0.9}


def bulk(rng: random.Random, count: int, clock, *, with_responses: bool = True,
         spread_days: float = 0.0, unmapped_share: float = 0.0) -> tuple[list, list]:
    """Rows for Store.bulk_insert: `count` complaints in assorted statuses; with_responses
    gives the Diproses/Selesai/Ditolak ones their responses. spread_days > 0 dates them over
    that many past days (dibuat_pada <= tanggapan <= diperbarui_pada <= now)."""
    now = clock.now()
    spread = int(spread_days * 86400)
    stamp_now = clock.fmt(now)
    aduan, tanggapan = [], []
    for i in range(count):
        row = complaint(rng, unmapped_share)
        status = _pick(rng, STATUS_WEIGHTS)
        if spread:
            age = rng.randint(0, spread)
            created = now - timedelta(seconds=age)
            updated = created + timedelta(seconds=rng.randint(0, age))
            made, changed = clock.fmt(created), clock.fmt(updated)
        else:
            created = updated = now
            made = changed = stamp_now
        occurred = (created - timedelta(days=rng.randint(0, 14))).date().isoformat() \
            if rng.random() < 0.7 else None
        row.update(status=status, tanggal_kejadian=occurred, dibuat_pada=made,
                   diperbarui_pada=changed, sumber="lokal", id_eksternal=None)
        aduan.append(row)
        if not with_responses or status in ("Menunggu", "Diverifikasi"):
            continue
        if status == "Diproses":
            steps = ["Diproses"] if rng.random() < 0.7 else []
        else:
            steps = ["Diproses", status] if rng.random() < 0.5 else [status]
        for n, kind in enumerate(steps, 1):
            at = clock.fmt(created + (updated - created) * n / len(steps)) if spread \
                else stamp_now
            t = response(rng, kind, row["opd"])
            tanggapan.append({**t, "publik": int(t["publik"]), "aduan_index": i,
                              "dibuat_pada": at, "diperbarui_pada": at, "sumber": "lokal",
                              "id_eksternal": None})
    return aduan, tanggapan


assert set(TEMPLATES) == set(CATEGORIES) and set(CATEGORY_UNITS) == set(CATEGORIES)
