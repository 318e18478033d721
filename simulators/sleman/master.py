"""LAPOR Sleman's own master data: statuses, channels, categories, units (OPD), kapanewon.

Codes are fixed: the connector file mappings/kab-sleman/lapor-sleman.yaml maps them.
Some names are deliberately worded differently from the national category tree.
"""

STATUSES = ("Menunggu", "Diverifikasi", "Diproses", "Selesai", "Ditolak")
STATUS_NAMES = {
    "Menunggu": "Menunggu verifikasi admin",
    "Diverifikasi": "Diverifikasi, menunggu tindak lanjut OPD",
    "Diproses": "Sedang diproses OPD",
    "Selesai": "Selesai ditindaklanjuti",
    "Ditolak": "Ditolak (bukan wewenang / tidak lengkap)",
}
CHANNELS = ("web", "app", "sms", "instagram", "facebook", "twitter", "email", "telepon",
            "surat", "lapor")
CHANNEL_NAMES = {
    "web": "Website lapor.slemankab.go.id", "app": "Aplikasi Sleman Smart", "sms": "SMS",
    "instagram": "Instagram", "facebook": "Facebook", "twitter": "Twitter / X",
    "email": "Surel", "telepon": "Call center", "surat": "Surat", "lapor": "SP4N-LAPOR!",
}
CATEGORIES = {
    "JLN-RSK": "Jalan Berlubang", "PJU": "PJU Mati", "SAMPAH": "Sampah Menumpuk",
    "SALURAN": "Saluran Air Mampet", "ADMINDUK": "Adminduk (KTP/KK/Akta)",
    "BANSOS": "Bansos Tidak Tepat Sasaran", "PUNGLI": "Pungli", "PKM": "Layanan Puskesmas",
    "SEKOLAH": "Sekolah dan PPDB", "PARKIR": "Parkir Liar", "PKL": "PKL Mengganggu",
    "AIR": "Air PDAM Mati", "BANJIR": "Banjir/Genangan", "IZIN": "Perizinan",
    "LAIN": "Lain-lain",
}
UNITS = {
    "DPUPKP": "Dinas Pekerjaan Umum, Perumahan dan Kawasan Permukiman",
    "DLH": "Dinas Lingkungan Hidup", "DINKES": "Dinas Kesehatan",
    "DISDIK": "Dinas Pendidikan", "DISDUKCAPIL": "Dinas Kependudukan dan Pencatatan Sipil",
    "DINSOS": "Dinas Sosial", "DISHUB": "Dinas Perhubungan",
    "SATPOLPP": "Satuan Polisi Pamong Praja", "BPBD": "Badan Penanggulangan Bencana Daerah",
    "DISKOMINFO": "Dinas Komunikasi dan Informatika", "KAP-DEPOK": "Kapanewon Depok",
    "KAP-MLATI": "Kapanewon Mlati", "PDAM": "PDAM Tirta Sembada",
    "INSPEKTORAT": "Inspektorat Daerah",
}
KAPANEWON = ("Berbah", "Cangkringan", "Depok", "Gamping", "Godean", "Kalasan", "Minggir",
             "Mlati", "Moyudan", "Ngaglik", "Ngemplak", "Pakem", "Prambanan", "Seyegan",
             "Sleman", "Tempel", "Turi")

MASTER = {
    "kategori": CATEGORIES,
    "opd": UNITS,
    "status": STATUS_NAMES,
    "kanal": CHANNEL_NAMES,
}
