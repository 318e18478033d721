"""Request bodies (API shape, nested pelapor/lokasi) -> flat store columns, Laravel-style:
every problem is collected into {"field": ["message", ...]} and answered with 422."""
from datetime import date

from simulators.sleman import clock as clockmod
from simulators.sleman.master import CATEGORIES, CHANNELS, STATUSES, UNITS

TRUE = {"1", "true", "ya", "yes", "on"}
FALSE = {"0", "false", "tidak", "no", "off", ""}


class Invalid(Exception):
    def __init__(self, errors: dict):
        super().__init__("data tidak valid")
        self.errors = errors


def _text(v, name, errors, max_len=None):
    if v is None:
        return None
    if isinstance(v, bool) or isinstance(v, (dict, list)):
        errors.setdefault(name, []).append(f"{name} harus berupa teks")
        return None
    v = str(v)
    if max_len and len(v) > max_len:
        errors.setdefault(name, []).append(f"{name} maksimal {max_len} karakter")
    return v


def _bool(v, name, errors):
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.strip().lower() in TRUE | FALSE:
        return v.strip().lower() in TRUE
    errors.setdefault(name, []).append(f"{name} harus bernilai benar/salah")
    return None


def _number(v, name, errors, low, high):
    if v in (None, ""):
        return None
    try:
        if isinstance(v, bool):
            raise ValueError
        f = float(v)
    except (TypeError, ValueError):
        errors.setdefault(name, []).append(f"{name} harus berupa angka")
        return None
    if not low <= f <= high:
        errors.setdefault(name, []).append(f"{name} di luar rentang {low}..{high}")
    return f


def _choice(v, name, allowed, errors, strict=True):
    if v in (None, ""):
        return None
    if not isinstance(v, str):
        errors.setdefault(name, []).append(f"{name} harus berupa teks")
        return None
    if strict and v not in allowed:
        errors.setdefault(name, []).append(f"{name} '{v}' tidak dikenal; pilihan: "
                                           f"{', '.join(allowed)}")
    return v


def _date(v, name, errors):
    if v in (None, ""):
        return None
    try:
        return date.fromisoformat(str(v)[:10]).isoformat()
    except ValueError:
        errors.setdefault(name, []).append(f"{name} harus berformat YYYY-MM-DD")
        return None


def aduan(body, *, required=(), strict_master=False, allow_origin=False,
          allow_created=False, clock=None) -> dict:
    """Flat columns for the keys present in `body`. Raises Invalid."""
    if not isinstance(body, dict):
        raise Invalid({"body": ["badan permintaan harus objek JSON"]})
    errors: dict = {}
    out: dict = {}
    for key in required:
        if body.get(key) in (None, ""):
            errors.setdefault(key, []).append(f"{key} wajib diisi")
    if "judul" in body:
        out["judul"] = _text(body["judul"], "judul", errors, 255) or ""
    if "isi" in body:
        out["isi"] = _text(body["isi"], "isi", errors, 20000) or ""
    if "kategori" in body:
        out["kategori"] = _choice(body["kategori"], "kategori", list(CATEGORIES), errors,
                                  strict_master) or "LAIN"
    if "opd" in body:
        out["opd"] = _choice(body["opd"], "opd", list(UNITS), errors, strict_master)
    if "kanal" in body:
        out["kanal"] = _choice(body["kanal"], "kanal", CHANNELS, errors, strict_master)
    if "status" in body:
        status = _choice(body["status"], "status", STATUSES, errors)
        if status is not None:
            out["status"] = status
    for flag in ("anonim", "rahasia"):
        if flag in body:
            out[flag] = int(bool(_bool(body[flag], flag, errors)))
    pelapor = body.get("pelapor")
    if pelapor is not None and not isinstance(pelapor, dict):
        errors.setdefault("pelapor", []).append("pelapor harus objek {nama, telepon, email}")
    elif pelapor is not None:
        for k, n in (("nama", 255), ("telepon", 50), ("email", 254)):
            if k in pelapor:
                out[f"pelapor_{k}"] = _text(pelapor[k], f"pelapor.{k}", errors, n)
    lokasi = body.get("lokasi")
    if lokasi is not None and not isinstance(lokasi, dict):
        errors.setdefault("lokasi", []).append("lokasi harus objek {alamat, kapanewon, lat, "
                                               "lng}")
    elif lokasi is not None:
        if "alamat" in lokasi:
            out["alamat"] = _text(lokasi["alamat"], "lokasi.alamat", errors, 500)
        if "kapanewon" in lokasi:
            out["kapanewon"] = _text(lokasi["kapanewon"], "lokasi.kapanewon", errors, 100)
        if "lat" in lokasi:
            out["lat"] = _number(lokasi["lat"], "lokasi.lat", errors, -90, 90)
        if "lng" in lokasi:
            out["lng"] = _number(lokasi["lng"], "lokasi.lng", errors, -180, 180)
    if "tanggal_kejadian" in body:
        out["tanggal_kejadian"] = _date(body["tanggal_kejadian"], "tanggal_kejadian", errors)
    if "id_eksternal" in body:
        out["id_eksternal"] = _text(body["id_eksternal"], "id_eksternal", errors, 100)
    if allow_origin and body.get("sumber") is not None:
        out["sumber"] = _choice(body["sumber"], "sumber", ("lokal", "hub"), errors)
    if allow_created and body.get("dibuat_pada"):
        try:
            out["dibuat_pada"] = clock.fmt(clockmod.parse(body["dibuat_pada"]))
        except ValueError:
            errors.setdefault("dibuat_pada", []).append("dibuat_pada harus RFC 3339")
    if errors:
        raise Invalid(errors)
    return out


def tanggapan(body, *, required=("isi",)) -> dict:
    if not isinstance(body, dict):
        raise Invalid({"body": ["badan permintaan harus objek JSON"]})
    errors: dict = {}
    for key in required:
        if body.get(key) in (None, ""):
            errors.setdefault(key, []).append(f"{key} wajib diisi")
    out = {"isi": _text(body.get("isi"), "isi", errors, 20000),
           "petugas": _text(body.get("petugas"), "petugas", errors, 255),
           "opd": _text(body.get("opd"), "opd", errors, 50),
           "id_eksternal": _text(body.get("id_eksternal"), "id_eksternal", errors, 100)}
    if "publik" in body:
        publik = _bool(body["publik"], "publik", errors)
        out["publik"] = True if publik is None else publik
    if errors:
        raise Invalid(errors)
    return out


def status(body) -> tuple[str, str | None]:
    if not isinstance(body, dict):
        raise Invalid({"body": ["badan permintaan harus objek JSON"]})
    errors: dict = {}
    value = body.get("status")
    if value not in STATUSES:
        errors["status"] = [f"status harus salah satu dari: {', '.join(STATUSES)}"]
    note = _text(body.get("catatan"), "catatan", errors, 2000)
    if errors:
        raise Invalid(errors)
    return value, note
