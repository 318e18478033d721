"""The simulator's data in sqlite3 (a file or a private in-memory database).

One connection guarded by one lock: the threaded dev server may call in from any thread.
Rows go in and out as flat column dicts; `aduan_json` / `tanggapan_json` give the API shape.
"""
import sqlite3
import threading
from collections.abc import Mapping
from contextlib import contextmanager

from simulators.sleman.clock import Clock
from simulators.sleman.master import CATEGORIES, CHANNELS, STATUSES, UNITS  # noqa: F401

SCHEMA = """
CREATE TABLE IF NOT EXISTS aduan (
    id_aduan INTEGER PRIMARY KEY, no_tiket TEXT NOT NULL, judul TEXT NOT NULL DEFAULT '',
    isi TEXT NOT NULL DEFAULT '', kategori TEXT, status TEXT NOT NULL, opd TEXT, kanal TEXT,
    pelapor_nama TEXT, pelapor_telepon TEXT, pelapor_email TEXT,
    anonim INTEGER NOT NULL DEFAULT 0, rahasia INTEGER NOT NULL DEFAULT 0,
    alamat TEXT, kapanewon TEXT, lat REAL, lng REAL, tanggal_kejadian TEXT,
    dibuat_pada TEXT NOT NULL, diperbarui_pada TEXT NOT NULL,
    sumber TEXT NOT NULL DEFAULT 'lokal', id_eksternal TEXT);
CREATE INDEX IF NOT EXISTS aduan_diperbarui ON aduan (diperbarui_pada, id_aduan);
CREATE INDEX IF NOT EXISTS aduan_eksternal ON aduan (id_eksternal);
CREATE TABLE IF NOT EXISTS tanggapan (
    id_tanggapan INTEGER PRIMARY KEY, id_aduan INTEGER NOT NULL REFERENCES aduan,
    isi TEXT NOT NULL, petugas TEXT, opd TEXT, publik INTEGER NOT NULL DEFAULT 1,
    dibuat_pada TEXT NOT NULL, diperbarui_pada TEXT NOT NULL,
    sumber TEXT NOT NULL DEFAULT 'lokal', id_eksternal TEXT);
CREATE INDEX IF NOT EXISTS tanggapan_diperbarui ON tanggapan (diperbarui_pada, id_tanggapan);
CREATE INDEX IF NOT EXISTS tanggapan_eksternal ON tanggapan (id_eksternal);
CREATE INDEX IF NOT EXISTS tanggapan_aduan ON tanggapan (id_aduan);
CREATE TABLE IF NOT EXISTS riwayat_status (
    id INTEGER PRIMARY KEY, id_aduan INTEGER NOT NULL REFERENCES aduan, status_lama TEXT,
    status_baru TEXT NOT NULL, catatan TEXT, sumber TEXT NOT NULL, dibuat_pada TEXT NOT NULL);
"""
ADUAN_COLUMNS = ("id_aduan", "no_tiket", "judul", "isi", "kategori", "status", "opd", "kanal",
                 "pelapor_nama", "pelapor_telepon", "pelapor_email", "anonim", "rahasia",
                 "alamat", "kapanewon", "lat", "lng", "tanggal_kejadian", "dibuat_pada",
                 "diperbarui_pada", "sumber", "id_eksternal")
TANGGAPAN_COLUMNS = ("id_tanggapan", "id_aduan", "isi", "petugas", "opd", "publik",
                     "dibuat_pada", "diperbarui_pada", "sumber", "id_eksternal")
ADUAN_DEFAULTS = {"judul": "", "isi": "", "kategori": "LAIN", "status": "Menunggu",
                  "opd": None, "kanal": "web", "pelapor_nama": None, "pelapor_telepon": None,
                  "pelapor_email": None, "anonim": 0, "rahasia": 0, "alamat": None,
                  "kapanewon": None, "lat": None, "lng": None, "tanggal_kejadian": None,
                  "sumber": "lokal", "id_eksternal": None}
EDITABLE = tuple(k for k in ADUAN_DEFAULTS if k not in ("sumber", "id_eksternal"))
TABLES = {"aduan": ("id_aduan", ADUAN_COLUMNS, "aduan_json"),
          "tanggapan": ("id_tanggapan", TANGGAPAN_COLUMNS, "tanggapan_json")}


class NotFound(LookupError):
    pass


def parse_after(token: str) -> tuple[str, int]:
    """`meta.next` of a page: '<diperbarui_pada>~<id>'."""
    stamp, sep, rid = str(token).rpartition("~")
    if not sep or not stamp or not rid.isdigit():
        raise ValueError(f"after '{token}' is not a page token")
    return stamp, int(rid)


def aduan_json(r) -> dict:
    return {"id_aduan": r["id_aduan"], "no_tiket": r["no_tiket"], "judul": r["judul"],
            "isi": r["isi"], "kategori": r["kategori"],
            "nama_kategori": CATEGORIES.get(r["kategori"], r["kategori"]),
            "status": r["status"], "opd": r["opd"], "kanal": r["kanal"],
            "pelapor": {"nama": r["pelapor_nama"], "telepon": r["pelapor_telepon"],
                        "email": r["pelapor_email"]},
            "anonim": bool(r["anonim"]), "rahasia": bool(r["rahasia"]),
            "lokasi": {"alamat": r["alamat"], "kapanewon": r["kapanewon"], "lat": r["lat"],
                       "lng": r["lng"]},
            "tanggal_kejadian": r["tanggal_kejadian"], "dibuat_pada": r["dibuat_pada"],
            "diperbarui_pada": r["diperbarui_pada"], "sumber": r["sumber"],
            "id_eksternal": r["id_eksternal"]}


def tanggapan_json(r) -> dict:
    return {"id_tanggapan": r["id_tanggapan"], "id_aduan": r["id_aduan"], "isi": r["isi"],
            "petugas": r["petugas"], "opd": r["opd"], "publik": bool(r["publik"]),
            "dibuat_pada": r["dibuat_pada"], "diperbarui_pada": r["diperbarui_pada"],
            "sumber": r["sumber"], "id_eksternal": r["id_eksternal"]}


class TableView(Mapping):
    """Read-only dict-like view of a table ({id: API-shaped record}) for tests in Python."""

    def __init__(self, store: "Store", table: str):
        self.store, self.table = store, table

    def __getitem__(self, key):
        row = self.store.get(self.table, key)
        if row is None:
            raise KeyError(key)
        return row

    def __iter__(self):
        return iter(self.store.ids(self.table))

    def __len__(self):
        return self.store.count(self.table)

    def values(self):
        return self.store.all(self.table)

    def items(self):
        key = TABLES[self.table][0]
        return [(r[key], r) for r in self.store.all(self.table)]


class Store:
    def __init__(self, db: str = ":memory:", precision: str = "seconds"):
        self.lock = threading.RLock()
        self.clock = Clock(precision)
        self.conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        if db != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)
        self.aduan = TableView(self, "aduan")
        self.tanggapan = TableView(self, "tanggapan")

    # --- plumbing -------------------------------------------------------------------------

    @contextmanager
    def tx(self):
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _one(self, sql: str, args=()):
        with self.lock:
            return self.conn.execute(sql, args).fetchone()

    @property
    def clock_offset(self):
        return self.clock.offset

    @clock_offset.setter
    def clock_offset(self, value):
        self.clock.offset = value

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def reset(self) -> None:
        with self.tx() as c:
            c.execute("DELETE FROM riwayat_status")
            c.execute("DELETE FROM tanggapan")
            c.execute("DELETE FROM aduan")
        self.clock.offset = type(self.clock.offset)()
        self.clock.monotonic = True

    # --- reading --------------------------------------------------------------------------

    def get(self, table: str, rid) -> dict | None:
        key, _, conv = TABLES[table]
        try:
            rid = int(rid)
        except (TypeError, ValueError):
            return None
        row = self._one(f"SELECT * FROM {table} WHERE {key} = ?", (rid,))
        return globals()[conv](row) if row else None

    def get_aduan(self, aid) -> dict | None:
        return self.get("aduan", aid)

    def ids(self, table: str) -> list[int]:
        key = TABLES[table][0]
        with self.lock:
            return [r[0] for r in self.conn.execute(f"SELECT {key} FROM {table} ORDER BY {key}")]

    def all(self, table: str) -> list[dict]:
        key, _, conv = TABLES[table]
        with self.lock:
            rows = self.conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
        return [globals()[conv](r) for r in rows]

    def count(self, table: str) -> int:
        return self._one(f"SELECT COUNT(*) FROM {table}")[0]

    def find_external(self, table: str, id_eksternal: str) -> dict | None:
        key, _, conv = TABLES[table]
        row = self._one(f"SELECT * FROM {table} WHERE id_eksternal = ? ORDER BY {key} LIMIT 1",
                        (str(id_eksternal),))
        return globals()[conv](row) if row else None

    def page(self, table: str, since: str | None, page: int, per_page: int,
             id_eksternal: str | None = None, after: str | None = None,
             embed: bool = False) -> tuple[list, dict]:
        """One page ordered by (diperbarui_pada, id); `since` is inclusive (>=).

        `after` (the `meta.next` of the previous page) continues right after that page's
        last row: keyset paging, as cheap on page 500 as on page 1 and never skipping a
        row that moves while someone pages. Without it, `page` counts rows from the start.
        Raises ValueError for an unreadable `since` or `after`."""
        key, _, conv = TABLES[table]
        where, args = [], []
        if since:
            where.append("diperbarui_pada >= ?")
            args.append(self.clock.cutoff(since))
        if id_eksternal is not None:
            where.append("id_eksternal = ?")
            args.append(str(id_eksternal))
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        order = f"ORDER BY diperbarui_pada, {key}"
        with self.lock:
            total = self.conn.execute(f"SELECT COUNT(*) FROM {table}{clause}", args).fetchone()[0]
            if after is not None:
                stamp, last_id = parse_after(after)
                # Two index ranges, the rest of the last row's second and the seconds
                # after it, not the row value (diperbarui_pada, id) > (?, ?): SQLite
                # starts no index range at a row value, and walked every row of that
                # second from its first on each page (a bulk load stamps them all with one
                # second: page 2,000 of a million rows took 6x page 1).
                same = " AND ".join([*where, "diperbarui_pada = ?", f"{key} > ?"])
                later = " AND ".join([*where, "diperbarui_pada > ?"])
                rows = self.conn.execute(
                    f"SELECT * FROM (SELECT * FROM (SELECT * FROM {table} WHERE {same} "
                    f"{order} LIMIT ?) UNION ALL SELECT * FROM (SELECT * FROM {table} "
                    f"WHERE {later} {order} LIMIT ?)) {order} LIMIT ?",
                    [*args, stamp, last_id, per_page, *args, stamp, per_page, per_page]
                ).fetchall()
            else:
                # The offset walks the (diperbarui_pada, id) index alone; only the page's
                # own rows are then read from the table.
                rows = self.conn.execute(
                    f"SELECT t.* FROM (SELECT {key} AS k FROM {table}{clause} {order} "
                    f"LIMIT ? OFFSET ?) JOIN {table} t ON t.{key} = k "
                    f"ORDER BY t.diperbarui_pada, t.{key}",
                    [*args, per_page, (page - 1) * per_page]).fetchall()
        items = [globals()[conv](r) for r in rows]
        if embed and table == "aduan" and items:
            # Follow-ups inside each complaint, as many regional apps answer.
            ids = [item["id_aduan"] for item in items]
            with self.lock:
                kids = self.conn.execute(
                    f"SELECT * FROM tanggapan WHERE id_aduan IN ({','.join('?' * len(ids))}) "
                    "ORDER BY id_tanggapan", ids).fetchall()
            by_parent: dict = {}
            for kid in kids:
                by_parent.setdefault(kid["id_aduan"], []).append(tanggapan_json(kid))
            for item in items:
                item["tanggapan"] = by_parent.get(item["id_aduan"], [])
        meta = {"page": page, "per_page": per_page, "total": total,
                "last_page": max(1, -(-total // per_page)),
                "next": (f"{rows[-1]['diperbarui_pada']}~{rows[-1][key]}"
                         if len(rows) == per_page else None)}
        return items, meta

    def counts(self) -> dict:
        with self.lock:
            by_status = dict(self.conn.execute(
                "SELECT status, COUNT(*) FROM aduan GROUP BY status").fetchall())
            by_source = dict(self.conn.execute(
                "SELECT sumber, COUNT(*) FROM aduan GROUP BY sumber").fetchall())
            return {"aduan": self.count("aduan"), "tanggapan": self.count("tanggapan"),
                    "per_status": {s: by_status.get(s, 0) for s in STATUSES},
                    "per_sumber": by_source}

    def latest(self, limit: int = 50) -> list[dict]:
        """The most recently changed complaints, each with its responses, for the HTML page."""
        with self.lock:
            rows = self.conn.execute("SELECT * FROM aduan ORDER BY diperbarui_pada DESC, "
                                     "id_aduan DESC LIMIT ?", (limit,)).fetchall()
            out = [aduan_json(r) for r in rows]
            ids = [a["id_aduan"] for a in out]
            marks = ",".join("?" * len(ids))
            responses = self.conn.execute(
                f"SELECT * FROM tanggapan WHERE id_aduan IN ({marks}) ORDER BY id_tanggapan",
                ids).fetchall() if ids else []
        by_report: dict = {}
        for t in responses:
            by_report.setdefault(t["id_aduan"], []).append(tanggapan_json(t))
        for a in out:
            a["tanggapan"] = by_report.get(a["id_aduan"], [])
        return out

    def history(self, aid: int) -> list[dict]:
        with self.lock:
            rows = self.conn.execute("SELECT * FROM riwayat_status WHERE id_aduan = ? "
                                     "ORDER BY id", (aid,)).fetchall()
        return [dict(r) for r in rows]

    def pick(self, rng, statuses) -> int | None:
        """A random complaint with one of these statuses (for the activity thread)."""
        marks = ",".join("?" * len(statuses))
        n = self._one(f"SELECT COUNT(*) FROM aduan WHERE status IN ({marks})", statuses)[0]
        if not n:
            return None
        row = self._one(f"SELECT id_aduan FROM aduan WHERE status IN ({marks}) "
                        "ORDER BY id_aduan LIMIT 1 OFFSET ?", (*statuses, rng.randrange(n)))
        return row[0] if row else None

    # --- writing --------------------------------------------------------------------------

    def create_aduan(self, fields: dict) -> dict:
        """A new complaint from flat column values (missing ones take defaults)."""
        with self.tx() as c:
            aid = c.execute("SELECT COALESCE(MAX(id_aduan), 0) + 1 FROM aduan").fetchone()[0]
            stamp = self.clock.stamp()
            row = {**ADUAN_DEFAULTS, **{k: v for k, v in fields.items() if k in ADUAN_DEFAULTS}}
            row["dibuat_pada"] = fields.get("dibuat_pada") or stamp
            row["diperbarui_pada"] = max(stamp, row["dibuat_pada"])
            row.update(id_aduan=aid, no_tiket=f"SLM-{row['dibuat_pada'][:4]}-{aid:06d}")
            c.execute(f"INSERT INTO aduan ({','.join(ADUAN_COLUMNS)}) VALUES "
                      f"({','.join('?' * len(ADUAN_COLUMNS))})",
                      [row[k] for k in ADUAN_COLUMNS])
            c.execute("INSERT INTO riwayat_status (id_aduan, status_lama, status_baru, catatan,"
                      " sumber, dibuat_pada) VALUES (?, NULL, ?, 'Aduan diterima', ?, ?)",
                      (aid, row["status"], row["sumber"], row["dibuat_pada"]))
        return self.get_aduan(aid)

    def _bump(self, c, aid: int, changes: dict) -> str:
        prev = c.execute("SELECT diperbarui_pada FROM aduan WHERE id_aduan = ?",
                         (aid,)).fetchone()
        if prev is None:
            raise NotFound(aid)
        stamp = self.clock.after(prev[0])
        sets = ", ".join(f"{k} = ?" for k in changes)
        c.execute(f"UPDATE aduan SET {sets}{', ' if sets else ''}diperbarui_pada = ? "
                  "WHERE id_aduan = ?", [*changes.values(), stamp, aid])
        return stamp

    def set_status(self, aid: int, status: str, catatan: str | None = None,
                   sumber: str = "lokal") -> dict:
        with self.tx() as c:
            old = c.execute("SELECT status FROM aduan WHERE id_aduan = ?", (aid,)).fetchone()
            if old is None:
                raise NotFound(aid)
            stamp = self._bump(c, aid, {"status": status})
            c.execute("INSERT INTO riwayat_status (id_aduan, status_lama, status_baru, catatan,"
                      " sumber, dibuat_pada) VALUES (?, ?, ?, ?, ?, ?)",
                      (aid, old[0], status, catatan, sumber, stamp))
        return self.get_aduan(aid)

    def edit_aduan(self, aid: int, changes: dict) -> dict:
        changes = {k: v for k, v in changes.items() if k in EDITABLE}
        if "status" in changes:
            self.set_status(aid, changes.pop("status"))
        with self.tx() as c:
            self._bump(c, aid, changes)
        return self.get_aduan(aid)

    def add_tanggapan(self, aid: int, fields: dict) -> dict:
        """A response; it moves a Menunggu/Diverifikasi complaint to Diproses."""
        with self.tx() as c:
            report = c.execute("SELECT opd, status FROM aduan WHERE id_aduan = ?",
                               (aid,)).fetchone()
            if report is None:
                raise NotFound(aid)
            tid = c.execute("SELECT COALESCE(MAX(id_tanggapan), 0) + 1 FROM tanggapan"
                            ).fetchone()[0]
            stamp = self.clock.stamp()
            row = {"id_tanggapan": tid, "id_aduan": aid, "isi": fields.get("isi") or "",
                   "petugas": fields.get("petugas"), "opd": fields.get("opd") or report["opd"],
                   "publik": int(fields.get("publik", True) is not False),
                   "dibuat_pada": stamp, "diperbarui_pada": stamp,
                   "sumber": fields.get("sumber") or "lokal",
                   "id_eksternal": fields.get("id_eksternal")}
            c.execute(f"INSERT INTO tanggapan ({','.join(TANGGAPAN_COLUMNS)}) VALUES "
                      f"({','.join('?' * len(TANGGAPAN_COLUMNS))})",
                      [row[k] for k in TANGGAPAN_COLUMNS])
            if report["status"] in ("Menunggu", "Diverifikasi"):
                bumped = self._bump(c, aid, {"status": "Diproses"})
                c.execute("INSERT INTO riwayat_status (id_aduan, status_lama, status_baru, "
                          "catatan, sumber, dibuat_pada) VALUES (?, ?, 'Diproses', "
                          "'Tanggapan diberikan', ?, ?)",
                          (aid, report["status"], row["sumber"], bumped))
            else:
                self._bump(c, aid, {})
        return self.get("tanggapan", tid)

    def bulk_insert(self, aduan_rows: list[dict], tanggapan_rows: list[dict]) -> dict:
        """Generated data in one transaction. aduan_rows carry every column but the ids and
        ticket number; tanggapan_rows carry `aduan_index` (into aduan_rows) instead of
        id_aduan. Returns the id range created."""
        with self.tx() as c:
            first = c.execute("SELECT COALESCE(MAX(id_aduan), 0) + 1 FROM aduan").fetchone()[0]
            first_t = c.execute("SELECT COALESCE(MAX(id_tanggapan), 0) + 1 FROM tanggapan"
                                ).fetchone()[0]
            for i, row in enumerate(aduan_rows):
                aid = first + i
                row["id_aduan"] = aid
                row["no_tiket"] = f"SLM-{row['dibuat_pada'][:4]}-{aid:06d}"
            c.executemany(f"INSERT INTO aduan ({','.join(ADUAN_COLUMNS)}) VALUES "
                          f"({','.join('?' * len(ADUAN_COLUMNS))})",
                          ([r[k] for k in ADUAN_COLUMNS] for r in aduan_rows))
            c.executemany("INSERT INTO riwayat_status (id_aduan, status_lama, status_baru, "
                          "catatan, sumber, dibuat_pada) VALUES (?, NULL, ?, 'Data awal', "
                          "'lokal', ?)",
                          ((r["id_aduan"], r["status"], r["diperbarui_pada"])
                           for r in aduan_rows))
            for j, t in enumerate(tanggapan_rows):
                t["id_tanggapan"] = first_t + j
                t["id_aduan"] = first + t.pop("aduan_index")
            c.executemany(f"INSERT INTO tanggapan ({','.join(TANGGAPAN_COLUMNS)}) VALUES "
                          f"({','.join('?' * len(TANGGAPAN_COLUMNS))})",
                          ([t[k] for k in TANGGAPAN_COLUMNS] for t in tanggapan_rows))
        return {"created": len(aduan_rows), "tanggapan": len(tanggapan_rows),
                "first": first if aduan_rows else None,
                "last": first + len(aduan_rows) - 1 if aduan_rows else None}
