"""Fixtures for sync tests: the Sleman simulator over real HTTP and its connector."""
import copy
import shutil
from pathlib import Path

import pytest

from hub.extensions import db
from hub.sync import files
from simulators.sleman.testing import run_simulator

SLEMAN_FILE = Path(__file__).resolve().parents[2] / "mappings/kab-sleman/lapor-sleman.yaml"


@pytest.fixture
def inbox(app):
    """Kab. Bantul's inbox under the test app's HUB_INBOX_ROOT, emptied for each test."""
    path = Path(app.config["HUB_INBOX_ROOT"]) / "kab-bantul"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)  # the next test on this worker starts empty


@pytest.fixture
def sim():
    with run_simulator() as handle:
        yield handle


# The page-number paging the Sleman system also offers (the shipped file pages by keyset):
# for tests of faults that only page numbers have (a page served twice, a stalled page).
PAGE_NUMBERS = {"type": "page", "page_param": "page", "size_param": "per_page", "size": 200,
                "last_page_path": "meta.last_page"}


@pytest.fixture
def sleman_doc(request, sim):
    doc = copy.deepcopy(files.load_file(SLEMAN_FILE))
    if request.node.get_closest_marker("page_numbers"):
        for stream in doc["connector"]["config"]["streams"].values():
            stream["list"]["pagination"] = dict(PAGE_NUMBERS)
    doc["connector"]["config"]["base_url"] = sim.url
    doc["connector"]["config"]["timeout_seconds"] = 3
    doc["connector"]["lookback_seconds"] = 60
    return doc


@pytest.fixture
def connector(app, sim, sleman_doc):
    with app.app_context():
        conn = files.import_document(db.session, sleman_doc, secrets={"api_key": sim.api_key})
        db.session.commit()
        return conn.id


@pytest.fixture
def run_sync(app, connector):
    """run_sync() -> the finished SyncRun as a dict (run in this process, no Redis)."""
    from hub.models import SyncRun
    from hub.sync.runner import run_connector

    def run(trigger="manual"):
        with app.app_context():
            run_id = run_connector(connector, trigger)
            assert run_id is not None
            run = db.session.get(SyncRun, run_id)
            return {"id": run.id, "status": run.status, "counts": dict(run.counts),
                    "error": run.error, "cursor_after": run.cursor_after}
    return run
