"""Property: whatever a local office does to a real SQL database behind the SQL connector
(complaints entered back-dated, edits and status moves that no column records, replies,
rows changed while a sync reads, a clock up to ten minutes off either way), interleaved
with syncs, the hub holds exactly the local state after at most one reconciliation, with
every report and response once.

A seeded random loop over real databases (a scratch database per schema variant, in
PostgreSQL and in MariaDB, the hub on the test backend): HUB_RECONCILE_CASES raises the
number of cases, HUB_RECONCILE_SEED replays one failing seed."""
import os
import random
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.models import Report, ReportEvent, ReportExternalRef, Response, ResponseExternalRef
from hub.sync import registry
from hub.sync.reconcile import reconcile_connector
from hub.sync.runner import run_connector
from tests.sync import ukk

CASES = int(os.environ.get("HUB_RECONCILE_CASES", "16"))
SEED = int(os.environ.get("HUB_RECONCILE_SEED", "20261203"))
WIB = timezone(timedelta(hours=7))
NEXT = {"0": "proses", "proses": "selesai"}
WORDS = ("jalan", "rusak", "lampu", "mati", "sampah", "menumpuk", "banjir", "got",
         "tersumbat", "pasar", "sekolah", "parkir", "liar", "air", "keruh")


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def sources(request):
    engine = request.param
    if engine == "mariadb":
        ukk.need_mariadb()
    names = {False: f"ukk_prop_{os.getpid()}", True: f"ukk_prop_stamped_{os.getpid()}"}
    yield {stamped: ukk.create_source(name, stamped=stamped, engine=engine)
           for stamped, name in names.items()}
    for name in names.values():
        ukk.drop_source(name, engine=engine)


class Office:
    """The local app's side: writes rows the way its own code does, clock skew and all."""

    def __init__(self, url: str, stamped: bool, rng: random.Random):
        self.url, self.stamped, self.rng = url, stamped, rng
        ukk.execute(url, "DELETE FROM tanggapan")
        ukk.execute(url, "DELETE FROM pengaduan WHERE id_pengaduan > 1")
        ukk.execute(url, "UPDATE pengaduan SET status = '0', isi_laporan = 'Jalan Rusak'")
        self.reports = {1: "0"}
        self.replies = 0

    def _clock(self) -> datetime:
        """The office server's wall clock: up to ten minutes off either way, naive local
        time as its DATETIME columns hold."""
        skew = timedelta(seconds=self.rng.uniform(-600, 600))
        return (datetime.now(WIB) + skew).replace(tzinfo=None, microsecond=0)

    def _day(self) -> date:
        back = self.rng.choice([0, 0, 1, 3, 30, 400])  # back-dated entries are common
        return datetime.now(WIB).date() - timedelta(days=back)

    def _text(self) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(2, 6))) \
            .capitalize()

    def _stamp(self, table, key, ident):
        if self.stamped:
            ukk.execute(self.url, f"UPDATE {table} SET diubah = %s WHERE {key} = %s",
                        self._clock(), ident)

    def complain(self):
        ident = max(self.reports) + 1
        ukk.execute(self.url, "INSERT INTO pengaduan (id_pengaduan, tgl_pengaduan, nik, "
                    "isi_laporan, foto, status) VALUES (%s, %s, '3573030508070009', %s, "
                    "NULL, '0')", ident, self._day(), self._text())
        self._stamp("pengaduan", "id_pengaduan", ident)
        self.reports[ident] = "0"

    def edit(self):
        ident = self.rng.choice(sorted(self.reports))
        ukk.execute(self.url, "UPDATE pengaduan SET isi_laporan = %s WHERE id_pengaduan = %s",
                    self._text(), ident)
        self._stamp("pengaduan", "id_pengaduan", ident)

    def advance(self):
        movable = [i for i, s in sorted(self.reports.items()) if s in NEXT]
        if not movable:
            return self.complain()
        ident = self.rng.choice(movable)
        self.reports[ident] = NEXT[self.reports[ident]]
        ukk.execute(self.url, "UPDATE pengaduan SET status = %s WHERE id_pengaduan = %s",
                    self.reports[ident], ident)
        self._stamp("pengaduan", "id_pengaduan", ident)

    def reply(self):
        self.replies += 1
        ukk.execute(self.url, "INSERT INTO tanggapan (id_tanggapan, id_pengaduan, "
                    "tgl_tanggapan, tanggapan, id_petugas) VALUES (%s, %s, %s, %s, 1)",
                    self.replies, self.rng.choice(sorted(self.reports)), self._day(),
                    f"Tanggapan {self.replies}: {self._text()}")
        self._stamp("tanggapan", "id_tanggapan", self.replies)

    def something(self):
        self.rng.choice([self.complain, self.complain, self.edit, self.advance,
                         self.advance, self.reply])()

    def state(self):
        reports = {str(i): (text, ukk.STATUS[status]) for i, text, status in ukk.execute(
            self.url, "SELECT id_pengaduan, isi_laporan, status FROM pengaduan")}
        replies = {str(i): (str(r), body) for i, r, body in ukk.execute(
            self.url, "SELECT id_tanggapan, id_pengaduan, tanggapan FROM tanggapan")}
        return reports, replies


def hub_state(app, system):
    with app.app_context():
        reports = {ext: (title, status) for ext, title, status in db.session.execute(
            sa.select(ReportExternalRef.external_id, Report.title, Report.status)
            .join(Report, Report.id == ReportExternalRef.report_id)
            .where(ReportExternalRef.system == system))}
        refs = dict(db.session.execute(sa.select(ReportExternalRef.report_id,
                                                 ReportExternalRef.external_id)
                                       .where(ReportExternalRef.system == system)).all())
        replies = {ext: (refs[report_id], body) for ext, report_id, body in db.session.execute(
            sa.select(ResponseExternalRef.external_id, Response.report_id, Response.body)
            .join(Response, Response.id == ResponseExternalRef.response_id)
            .where(ResponseExternalRef.system == system))}
        responses = db.session.execute(sa.select(sa.func.count()).select_from(Response)
                                       .where(Response.report_id.in_(list(refs)))).scalar()
        created = db.session.execute(sa.select(sa.func.count()).select_from(ReportEvent)
                                     .where(ReportEvent.report_id.in_(list(refs)),
                                            ReportEvent.type == "report.created")).scalar()
        return reports, replies, responses, created


def test_any_interleaving_converges_after_one_reconciliation(app, sources, monkeypatch):
    build = registry.build
    pending: list = []  # local changes to make while the next sync is reading

    def interrupted(row):
        connector = build(row)
        read = connector.read

        def read_with_changes(stream, cursor):
            for n, page in enumerate(read(stream, cursor)):
                yield page
                while n == 0 and pending:
                    pending.pop()()
        connector.read = read_with_changes
        return connector
    monkeypatch.setattr(registry, "build", interrupted)

    for case in range(CASES):
        seed = SEED + case
        rng = random.Random(seed)
        stamped = rng.random() < 0.5
        office = Office(sources[stamped], stamped, rng)
        cid = f"prop-reconcile-{os.getpid()}-{case}"
        ukk.connect(app, sources[stamped], cid, stamped=stamped,
                    page_size=rng.choice([2, 3, 5]), lookback=rng.choice([0, 0, 300]))
        for _ in range(rng.randint(4, 14)):
            step = rng.random()
            if step < 0.25:
                with app.app_context():
                    assert run_connector(cid, "manual") is not None
            elif step < 0.35:
                pending.extend(office.something for _ in range(rng.randint(1, 3)))
                with app.app_context():
                    assert run_connector(cid, "manual") is not None
                pending.clear()
            else:
                office.something()
        with app.app_context():
            run_id = reconcile_connector(cid, "manual")
            from hub.models import SyncRun
            run = db.session.get(SyncRun, run_id)
            assert run.status == "succeeded", (seed, run.status, run.error, run.counts)
        local_reports, local_replies = office.state()
        reports, replies, responses, created = hub_state(app, cid)
        assert reports == local_reports, seed
        assert replies == local_replies, seed
        assert responses == len(local_replies), seed   # no response twice
        assert created == len(local_reports), seed     # no report twice
        # Converged: another reconciliation finds nothing, a sync changes nothing.
        with app.app_context():
            again = db.session.get(SyncRun, reconcile_connector(cid, "manual")).counts
            assert (again["missing"], again["changed"]) == (0, 0), (seed, again)
            run_connector(cid, "manual")
        assert hub_state(app, cid) == (reports, replies, responses, created), seed
