"""The simulator's data: in memory, guarded by one lock (the dev server is threaded)."""
import threading
from datetime import datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7))
STATUSES = ("Menunggu", "Diverifikasi", "Diproses", "Selesai", "Ditolak")
CHANNELS = ("web", "app", "sms", "instagram", "facebook", "twitter", "email", "telepon",
            "surat", "lapor")
CATEGORIES = {
    "JLN-RSK": "Jalan Berlubang", "PJU": "PJU Mati", "SAMPAH": "Sampah Menumpuk",
    "SALURAN": "Saluran Air Mampet", "ADMINDUK": "Adminduk (KTP/KK/Akta)",
    "BANSOS": "Bansos Tidak Tepat Sasaran", "PUNGLI": "Pungli", "PKM": "Layanan Puskesmas",
    "SEKOLAH": "Sekolah dan PPDB", "PARKIR": "Parkir Liar", "PKL": "PKL Mengganggu",
    "AIR": "Air PDAM Mati", "BANJIR": "Banjir/Genangan", "IZIN": "Perizinan",
    "LAIN": "Lain-lain",
}
UNITS = {
    "DPUPKP": "Dinas PUPKP", "DLH": "Dinas Lingkungan Hidup", "DINKES": "Dinas Kesehatan",
    "DISDIK": "Dinas Pendidikan", "DISDUKCAPIL": "Disdukcapil", "DINSOS": "Dinas Sosial",
    "DISHUB": "Dinas Perhubungan", "SATPOLPP": "Satpol PP", "BPBD": "BPBD",
    "DISKOMINFO": "Diskominfo", "KAP-DEPOK": "Kapanewon Depok", "KAP-MLATI": "Kapanewon Mlati",
    "PDAM": "PDAM Tirta Sembada", "INSPEKTORAT": "Inspektorat",
}


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.aduan: dict[int, dict] = {}
            self.tanggapan: dict[int, dict] = {}
            self.next_aduan = 1
            self.next_tanggapan = 1
            self.clock_offset = timedelta()
            self._last_stamp = None

    def stamp(self) -> str:
        """Now in WIB (+07:00), strictly increasing across changes (millisecond steps)."""
        now = datetime.now(WIB) + self.clock_offset
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_stamp is not None and now <= self._last_stamp:
            now = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = now
        return now.isoformat(timespec="milliseconds")

    def add_aduan(self, fields: dict) -> dict:
        with self.lock:
            aid = self.next_aduan
            self.next_aduan += 1
            stamp = self.stamp()
            row = {"id_aduan": aid, "no_tiket": f"SLM-{stamp[:4]}-{aid:06d}",
                   "judul": "", "isi": "", "kategori": "LAIN", "status": "Menunggu",
                   "opd": None, "kanal": "web", "pelapor": {"nama": None, "telepon": None,
                                                            "email": None},
                   "anonim": False, "rahasia": False,
                   "lokasi": {"alamat": None, "kapanewon": None, "lat": None, "lng": None},
                   "tanggal_kejadian": None, "sumber": "lokal", "id_eksternal": None}
            row.update({k: v for k, v in fields.items() if k in row})
            row["nama_kategori"] = CATEGORIES.get(row["kategori"], row["kategori"])
            row["dibuat_pada"] = row["diperbarui_pada"] = stamp
            self.aduan[aid] = row
            return dict(row)

    def touch(self, aid: int, **changes) -> dict:
        with self.lock:
            row = self.aduan[aid]
            row.update(changes)
            row["diperbarui_pada"] = self.stamp()
            return dict(row)

    def add_tanggapan(self, aid: int, fields: dict) -> dict:
        with self.lock:
            tid = self.next_tanggapan
            self.next_tanggapan += 1
            stamp = self.stamp()
            row = {"id_tanggapan": tid, "id_aduan": aid, "isi": fields.get("isi", ""),
                   "petugas": fields.get("petugas"), "opd": fields.get("opd")
                   or self.aduan[aid]["opd"], "publik": fields.get("publik", True),
                   "sumber": fields.get("sumber", "lokal"),
                   "id_eksternal": fields.get("id_eksternal"),
                   "dibuat_pada": stamp, "diperbarui_pada": stamp}
            self.tanggapan[tid] = row
            if self.aduan[aid]["status"] in ("Menunggu", "Diverifikasi"):
                self.touch(aid, status="Diproses")
            return dict(row)

    def page(self, table: str, since: str | None, page: int, per_page: int,
             id_eksternal: str | None = None):
        with self.lock:
            rows = list(getattr(self, table).values())
        if since:
            cutoff = datetime.fromisoformat(since.replace("Z", "+00:00"))
            rows = [r for r in rows if datetime.fromisoformat(r["diperbarui_pada"]) >= cutoff]
        if id_eksternal is not None:
            rows = [r for r in rows if r["id_eksternal"] == id_eksternal]
        key = "id_aduan" if table == "aduan" else "id_tanggapan"
        rows.sort(key=lambda r: (datetime.fromisoformat(r["diperbarui_pada"]), r[key]))
        total = len(rows)
        start = (page - 1) * per_page
        items = [dict(r) for r in rows[start:start + per_page]]
        last_page = max(1, -(-total // per_page))
        return items, {"page": page, "per_page": per_page, "total": total,
                       "last_page": last_page}
