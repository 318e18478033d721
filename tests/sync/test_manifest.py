"""A connector file is checked whole before anything is saved or run: every key the
kind's schema does not describe, and every field map naming no hub field, is refused by
name; `hub connector check` reads the first page of each stream over real HTTP and shows
what each record fills and which local values have no mapping, saving nothing."""
import copy
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from hub.extensions import db
from hub.models import Connector
from hub.sync import files, manifest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "mappings").glob("*/*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_connector_file_is_valid(app, path):
    spec = files.load_file(path)["connector"]
    with app.app_context():
        assert manifest.problems(spec["kind"], spec.get("config") or {}) == []


def _broken(doc):
    doc = copy.deepcopy(doc)
    listing = doc["connector"]["config"]["streams"]["reports"]["list"]
    listing["pagniation"] = listing.pop("pagination")
    doc["connector"]["config"]["streams"]["reports"]["fields"]["tittle"] = "judul"
    doc["connector"]["config"]["auth"]["type"] = "apikey"
    return doc


def test_a_misspelt_key_is_refused_by_name_and_nothing_is_saved(app, sleman_doc):
    with app.app_context():
        with pytest.raises(files.FileError) as refused:
            files.import_document(db.session, _broken(sleman_doc), secrets={"api_key": "k"})
        db.session.rollback()
        message = str(refused.value)
        assert "connector.config.streams.reports.list: unknown key 'pagniation'" in message
        assert "connector.config.streams.reports.fields.tittle: not a hub field" in message
        assert "connector.config.auth.type: 'apikey' is not one of" in message
        assert db.session.execute(sa.select(sa.func.count()).select_from(Connector)
                                  ).scalar_one() == 0


def _write(tmp_path, doc) -> str:
    path = tmp_path / "connector.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    return str(path)


def test_check_reads_the_first_page_and_names_unmapped_values(app, runner, sim, sleman_doc,
                                                              tmp_path):
    sim.create_aduan(judul="Lampu jalan padam di Jl. Kaliurang", kategori="Kategori Baru")
    path = _write(tmp_path, sleman_doc)
    result = runner.invoke(args=["hub", "connector", "check", path,
                                 "--secret", f"api_key={sim.api_key}"])
    assert result.exit_code == 0, result.output
    assert "the configuration is valid for a 'rest' connector" in result.output
    assert "reports: 1 record(s) on the first page" in result.output
    assert "title='Lampu jalan padam di Jl. Kaliurang'" in result.output
    assert "no mapping for category: Kategori Baru" in result.output
    with app.app_context():  # a check saves nothing
        assert db.session.execute(sa.select(sa.func.count()).select_from(Connector)
                                  ).scalar_one() == 0


def test_check_refuses_a_broken_file_and_a_system_it_cannot_read(runner, sim, sleman_doc,
                                                                 tmp_path):
    broken = runner.invoke(args=["hub", "connector", "check", _write(tmp_path, _broken(
        sleman_doc)), "--offline"])
    assert broken.exit_code != 0
    assert "unknown key 'pagniation'" in broken.output
    offline = runner.invoke(args=["hub", "connector", "check",
                                  _write(tmp_path, sleman_doc), "--offline"])
    assert offline.exit_code == 0 and "is valid" in offline.output
    wrong_key = runner.invoke(args=["hub", "connector", "check", _write(tmp_path, sleman_doc),
                                    "--secret", "api_key=not-the-key"])
    assert wrong_key.exit_code != 0
    assert "reports: cannot be read" in wrong_key.output
