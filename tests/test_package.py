"""The installed package: the wheel pip builds from this checkout holds the whole hub
(migrations, seed data, connectors, templates) and works from an empty venv, away from the
checkout, with the versions of constraints.txt. The console script and `flask hub` offer
the same commands."""
import os
import re
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from hub.cli import hub_cli

ROOT = Path(__file__).resolve().parent.parent
SLEMAN_FILE = "mappings/kab-sleman/lapor-sleman.yaml"


def _run(args, **kwargs):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            timeout=600, **kwargs)
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


def _listed_commands(help_text: str) -> set[str]:
    """The command names of a click group's --help."""
    section = help_text.split("Commands:", 1)[1]
    return {m.group(1) for m in re.finditer(r"^  (\S+)", section, re.M)}


def test_the_console_script_offers_every_hub_command():
    script = Path(sys.executable).parent / "hub"
    out = _run([script, "--help"], cwd=ROOT).stdout
    assert out.startswith("Usage: hub [OPTIONS] COMMAND")
    assert _listed_commands(out) == set(hub_cli.commands)
    for group in ("connector", "holidays", "sla"):
        assert group in hub_cli.commands
        sub = _run([script, group, "--help"], cwd=ROOT).stdout
        assert sub.startswith(f"Usage: hub {group} ")
        assert _listed_commands(sub) == set(hub_cli.commands[group].commands)


def test_flask_hub_is_the_same_group(app):
    assert app.cli.commands["hub"] is hub_cli


@pytest.mark.slow
# A fresh venv downloads every dependency (from pip's cache when warm: about a minute).
@pytest.mark.timeout(900)
def test_the_wheel_installs_into_an_empty_venv_and_runs_the_readme_commands(tmp_path):
    dist = tmp_path / "dist"
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", dist, ROOT],
                 cwd=tmp_path)
    warnings = re.findall(r"\w+Warning: .*", build.stdout + build.stderr)
    assert not warnings, warnings
    (wheel,) = dist.glob("lapor_hub-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("hub/__init__.py", "hub/services/__init__.py", "hub/schemas/reports.py",
                   "connectors/__init__.py", "connectors/rest.py", "hub/migrations/env.py",
                   "hub/migrations/alembic.ini", "hub/migrations/script.py.mako",
                   "hub/migrations/versions/0001_initial_schema.py", "hub/seed/agencies.yaml",
                   "hub/seed/holidays.yaml", "hub/templates/ui/base.html",
                   "hub/static/hub.css", "hub/translations/id/LC_MESSAGES/messages.po",
                   "hub/translations/en/LC_MESSAGES/messages.po"):
        assert needed in names, f"{needed} missing from {wheel.name}"
    assert not [n for n in names if n.split("/")[0] in ("simulators", "tests", "bench",
                                                       "migrations")]

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / "bin"
    _run([bin_dir / "python", "-m", "pip", "install", "--quiet",
          "--constraint", ROOT / "constraints.txt", wheel], cwd=tmp_path)

    # Away from the checkout: only the installed package can answer.
    work = tmp_path / "work"
    (work / SLEMAN_FILE).parent.mkdir(parents=True)
    shutil.copy(ROOT / SLEMAN_FILE, work / SLEMAN_FILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "PYTHON"))}
    env.update(HUB_DATABASE_URL=f"sqlite:///{tmp_path / 'state' / 'hub.sqlite3'}",
               HUB_VAR_DIR=str(tmp_path / "state"),
               # As an operator must: the hub refuses to start without a strong key.
               HUB_SECRET_KEY="wheel-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
               # The Sleman demo file points at the simulator on loopback, which an operator
               # must allow explicitly.
               HUB_CONNECTOR_ALLOW_NETWORKS="127.0.0.0/8")
    where = _run([bin_dir / "python", "-c", "import hub; print(hub.__file__)"], cwd=work,
                 env=env).stdout
    assert where.startswith(str(env_dir)), where
    # The UI's catalogues load from the installed package, plurals and all.
    said = _run([bin_dir / "python", "-c",
                 "from hub import create_app; from flask import session; from hub.ui import i18n\n"
                 "app = create_app()\n"
                 "with app.test_request_context('/ui/'):\n"
                 "    session['lang'] = 'en'\n"
                 "    print(i18n.t('error.not_found'), '|', i18n.ago(120))"],
                cwd=work, env=env).stdout
    assert said.strip() == "Page not found. | 2 minutes ago", said

    hub = bin_dir / "hub"
    listed = _listed_commands(_run([hub, "--help"], cwd=work, env=env).stdout)
    assert listed == set(hub_cli.commands)
    assert "database is at the latest migration" in _run([hub, "init-db"], cwd=work,
                                                        env=env).stdout
    assert "agencies: " in _run([hub, "seed"], cwd=work, env=env).stdout
    imported = _run([hub, "connector", "import", SLEMAN_FILE], cwd=work, env=env).stdout
    assert "connector lapor-sleman (rest) for kab-sleman imported" in imported
    exported = _run([hub, "connector", "export", "lapor-sleman"], cwd=work, env=env).stdout
    assert "lapor-sleman" in exported
    assert (tmp_path / "state" / "hub.sqlite3").is_file()
