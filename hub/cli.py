"""`hub ...` / `flask --app wsgi hub ...`: database, seed data, API clients, worker.

One command group, `hub_cli`, holds every command and sub-group; the console script runs
it directly and `flask` mounts it as `flask hub`, so both offer the same commands.
"""
import secrets

import click
from flask import current_app
from flask.cli import AppGroup

from hub import sqlite
from hub.extensions import db

hub_cli = AppGroup("hub", help="LAPOR! hub administration.")


@hub_cli.command("init-db")
def init_db():
    """Create or upgrade the database schema (Alembic migrations)."""
    from flask_migrate import upgrade
    upgrade(revision="heads")
    click.echo("database is at the latest migration")


@hub_cli.command("seed")
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def seed():
    """Load the category tree, agency directory and national holidays (idempotent)."""
    from hub.seed import seed_all
    counts = seed_all(db.session)
    db.session.commit()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@hub_cli.command("create-client")
@click.option("--name", required=True, help="Who uses it, e.g. 'LAPOR Sleman connector'.")
@click.option("--agency", required=True, help="Agency code, or '*' for national.")
@click.option("--scopes", default="reports:read reports:write", show_default=True)
@click.option("--client-id", default=None, help="Defaults to a random id.")
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def create_client(name, agency, scopes, client_id):
    """Create an API client; prints its id and secret once (only a hash is kept)."""
    from hub.models import NATIONAL, SCOPES, Agency, ApiClient, hash_secret
    bad = [s for s in scopes.split() if s not in SCOPES]
    if bad:
        raise click.BadParameter(f"unknown scopes {bad}; choose from {' '.join(SCOPES)}")
    if agency != NATIONAL and db.session.get(Agency, agency) is None:
        raise click.BadParameter(f"unknown agency '{agency}' (run `hub seed` first?)")
    client_id = client_id or f"c_{secrets.token_hex(8)}"
    secret = secrets.token_urlsafe(32)
    db.session.add(ApiClient(id=client_id, name=name, agency_code=agency, scopes=scopes,
                             secret_hash=hash_secret(secret), active=True))
    db.session.commit()
    click.echo(f"client_id={client_id}\nclient_secret={secret}")


@hub_cli.command("open311-key")
@click.argument("client_id")
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def open311_key(client_id):
    """Issue (or replace) an API client's Open311 api_key; prints it once (only a hash
    is kept). The key acts as the client: its agency and its reports:write scope."""
    from hub.models import ApiClient, Open311Key, hash_open311_key
    if db.session.get(ApiClient, client_id) is None:
        raise click.ClickException(f"no API client '{client_id}' (see `hub create-client`)")
    key = f"o311_{secrets.token_urlsafe(32)}"
    row = db.session.get(Open311Key, client_id)
    if row is None:
        db.session.add(Open311Key(client_id=client_id, key_hash=hash_open311_key(key)))
    else:
        row.key_hash = hash_open311_key(key)  # the old key stops working now
    db.session.commit()
    click.echo(f"api_key={key}")


@hub_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--agency", default=None, help="Agency code (not needed for national_admin).")
@click.option("--role", type=click.Choice(["officer", "agency_admin", "national_admin"]),
              default="officer", show_default=True)
@click.option("--password", default=None, help="Defaults to a generated one, printed once.")
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def create_user(email, name, agency, role, password):
    """Create a web UI account (officer, agency admin or national admin)."""
    from werkzeug.security import generate_password_hash

    from hub.models import Agency, User
    email = email.strip().lower()
    if role == "national_admin":
        agency = None
    elif not agency or db.session.get(Agency, agency) is None:
        raise click.BadParameter(f"unknown agency '{agency}' (run `hub seed` first?)")
    if db.session.query(User).filter_by(email=email).first() is not None:
        raise click.ClickException(f"a user with email {email} already exists")
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    db.session.add(User(email=email, name=name, agency_code=agency, role=role, active=True,
                        failed_logins=0,
                        password_hash=generate_password_hash(password, method="scrypt")))
    db.session.commit()
    click.echo(f"user {email} ({role}, {agency or 'national'}) created")
    if generated:
        click.echo(f"password={password}")


@hub_cli.command("worker")
@click.option("--queues", default="sync,webhooks,default", show_default=True)
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker(queues, burst):
    """Run an RQ worker (needs HUB_REDIS_URL)."""
    if not current_app.config.get("HUB_REDIS_URL"):
        raise click.ClickException("HUB_REDIS_URL is not set: without Redis, jobs run "
                                   "in-process and no worker is needed.")
    from hub.tasks.supervise import run_worker
    run_worker(current_app.config["HUB_REDIS_URL"], queues.split(","), burst)


connector_cli = AppGroup("connector", help="Connectors to local systems.")


@connector_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--secret", "secrets", multiple=True, metavar="NAME=VALUE",
              help="A credential (repeatable); stored encrypted, never in the file.")
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def connector_import(path, secrets):
    """Create or update a connector and its mappings from a mappings/ YAML file."""
    from hub.sync import files
    values = dict(s.split("=", 1) for s in secrets)
    try:
        conn = files.import_document(db.session, files.load_file(path), secrets=values,
                                     who=f"file:{path}")
    except files.FileError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"connector {conn.id} ({conn.kind}) for {conn.agency_code} imported")


@connector_cli.command("export")
@click.argument("connector_id")
def connector_export(connector_id):
    """Print a connector's configuration and mappings as YAML (no secrets)."""
    from hub.models import Connector
    from hub.sync import files
    if db.session.get(Connector, connector_id) is None:
        raise click.ClickException(f"no connector '{connector_id}'")
    click.echo(files.dump_yaml(files.export_document(db.session, connector_id)), nl=False)


@connector_cli.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--secret", "secrets", multiple=True, metavar="NAME=VALUE",
              help="A credential (repeatable), as for import; nothing is stored.")
@click.option("--offline", is_flag=True, help="Check the file only; do not call the system.")
def connector_check(path, secrets, offline):
    """Check a connector file without saving anything: its configuration against the
    kind's schema (every problem names its key), then read the first page of each stream
    and show what each record fills in the hub and which local values have no mapping."""
    from connectors.base import ConnectorError
    from hub.sync import files, manifest, registry
    try:
        doc = files.load_file(path)
    except Exception as exc:  # not YAML at all
        raise click.ClickException(f"{path}: {exc}") from None
    try:
        spec, _, kind, agency = files.connector_spec(doc)
        config = spec.get("config") or {}
        files.vet_destination(kind, agency, config)
        files.check_config(kind, config)
    except files.FileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path}: the configuration is valid for a '{kind}' connector")
    if offline:
        return
    values = {**files.secrets_from_env(spec), **dict(s.split("=", 1) for s in secrets)}
    try:
        connector = registry.build_from(kind, agency, config, values, resolve=True)
    except ConnectorError as exc:
        raise click.ClickException(f"connector.config: {exc}") from None
    failed = False
    for stream, seen in manifest.preview(connector, doc.get("mappings") or {}).items():
        if "error" in seen:
            failed = True
            click.echo(f"\n{stream}: cannot be read: {seen['error']}")
            continue
        click.echo(f"\n{stream}: {seen['read']} record(s) on the first page")
        for why in seen["rejected"][:5]:
            click.echo(f"  rejected: {why}")
        for note in seen["incomplete"]:
            click.echo(f"  not seen: {note}")
        for sample in seen["samples"]:
            click.echo("  " + ", ".join(f"{k}={v!r}" for k, v in sample.items()
                                        if v not in (None, "", {})))
        for field, local in seen["unmapped"].items():
            click.echo(f"  no mapping for {field}: {', '.join(local)} "
                       "(their records would be held)")
    if failed:
        raise click.ClickException("some streams could not be read")


@connector_cli.command("sync")
@click.argument("connector_id")
def connector_sync(connector_id):
    """Run one sync of a connector now, here, and print its counts."""
    from hub.models import SyncRun
    from hub.sync.runner import run_connector
    run_id = run_connector(connector_id, trigger="manual")
    if run_id is None:
        raise click.ClickException("another worker is running this connector right now")
    run = db.session.get(SyncRun, run_id)
    click.echo(f"run {run.id}: {run.status} {run.counts}" + (f"\n{run.error}" if run.error
                                                              else ""))


@connector_cli.command("reconcile")
@click.argument("connector_id")
def connector_reconcile(connector_id):
    """Read the connector's whole source now, here, compare it with the hub and take what
    differs; print what was missing, changed or gone."""
    from hub.models import Connector, SyncRun
    from hub.sync.reconcile import reconcile_connector
    if db.session.get(Connector, connector_id) is None:
        raise click.ClickException(f"no connector '{connector_id}'")
    run_id = reconcile_connector(connector_id, trigger="manual")
    if run_id is None:
        raise click.ClickException("another worker is running this connector right now; "
                                   "try again when its sync has ended")
    run = db.session.get(SyncRun, run_id)
    counts = run.counts
    click.echo(f"run {run.id}: {run.status}; {counts['read']} read, {counts['missing']} "
               f"missing, {counts['changed']} changed, {counts['gone']} no longer in the "
               f"source (kept), {counts['held']} held, {counts['failed']} failed" +
               (f"\n{run.error}" if run.error else ""))
    if run.status == "failed":
        raise SystemExit(1)


source_system_cli = AppGroup("source-system", help="Source-system names and their agencies.")


@source_system_cli.command("claim")
@click.argument("name")
@click.option("--agency", required=True, help="The agency the name belongs to.")
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def source_system_claim(name, agency):
    """Claim a source-system name for an agency: only its clients write under it."""
    from hub.errors import Problem
    from hub.schemas.reports import ExternalRefSchema
    from hub.services import source_systems
    from hub.services.reports import check_agency
    errors = ExternalRefSchema(only=("system",)).validate({"system": name})
    if errors:
        raise click.ClickException(f"bad name '{name}': {'; '.join(errors['system'])}")
    try:
        check_agency(db.session, agency)
        row, created = source_systems.claim(db.session, name, agency)
    except Problem as problem:
        raise click.ClickException(problem.detail or problem.title) from None
    db.session.commit()
    click.echo(f"{row.name}: {'claimed for' if created else 'already belongs to'} {agency}")


@source_system_cli.command("list")
def source_system_list():
    """Every claimed name and its agency."""
    from hub.services import source_systems
    for row in source_systems.claims(db.session):
        click.echo(f"{row.name}\t{row.agency_code}")


@hub_cli.command("scheduler")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between checks.")
@click.option("--once", is_flag=True, help="Check once and exit.")
def scheduler(interval, once):
    """Enqueue due connector syncs and the SLA scan (in-process without HUB_REDIS_URL)."""
    from hub.tasks.jobs import enqueue_due
    from hub.tasks.supervise import run_scheduler
    run_scheduler(enqueue_due, interval, once, click.echo)


holidays_cli = AppGroup("holidays", help="The holiday calendar behind the SLA clocks.")


@holidays_cli.command("load")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False))
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def holidays_load(path):
    """Load national holidays from a YAML file (default: the seed file). Idempotent:
    adds new dates and updates names; never deletes."""
    from hub.services import calendar
    from hub.tasks.queue import enqueue
    from hub.tasks.sla import recompute_job
    try:
        rows = calendar.read_file(path)
    except calendar.CalendarFileError as exc:
        raise click.ClickException(str(exc)) from exc
    counts = calendar.load_national(db.session, rows)
    db.session.commit()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
    if counts["added"] or counts["updated"]:
        enqueue(recompute_job, None)  # national holidays move every agency's deadlines


@holidays_cli.command("add")
@click.option("--agency", required=True, help="Agency code; its units inherit the day.")
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@click.option("--name", required=True)
@click.option("--kind", default="agency", show_default=True)
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def holidays_add(agency, day, name, kind):
    """Add an agency's own holiday (e.g. the regency's anniversary)."""
    from hub.errors import Problem
    from hub.models import Agency
    from hub.services import calendar
    from hub.tasks.queue import enqueue
    from hub.tasks.sla import recompute_job
    if db.session.get(Agency, agency) is None:
        raise click.BadParameter(f"unknown agency '{agency}' (run `hub seed` first?)")
    if not name.strip() or len(name) > 200 or not 1 <= len(kind) <= 20:
        raise click.BadParameter("name must be 1..200 characters, kind 1..20")
    try:
        calendar.add_agency_holiday(db.session, agency, day.date(), name.strip(), kind)
    except Problem as exc:
        raise click.ClickException(exc.detail) from exc
    db.session.commit()
    click.echo(f"holiday {day.date()} ({name.strip()}) added for {agency}")
    enqueue(recompute_job, agency)


@holidays_cli.command("remove")
@click.option("--agency", required=True)
@click.option("--date", "day", required=True, type=click.DateTime(formats=["%Y-%m-%d"]))
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def holidays_remove(agency, day):
    """Remove an agency's own holiday."""
    from hub.services import calendar
    from hub.tasks.queue import enqueue
    from hub.tasks.sla import recompute_job
    if not calendar.remove_agency_holiday(db.session, agency, day.date()):
        raise click.ClickException(f"'{agency}' has no holiday of its own on {day.date()}")
    db.session.commit()
    click.echo(f"holiday {day.date()} removed for {agency}")
    enqueue(recompute_job, agency)


sla_cli = AppGroup("sla", help="SLA clocks: overdue flags, auto-close, deadlines.")


@sla_cli.command("scan")
def sla_scan():
    """Flag missed deadlines (report.overdue) and auto-close resolved reports, now."""
    from hub.tasks.sla import scan
    click.echo(", ".join(f"{k}: {v}" for k, v in scan(db.session).items()))


@sla_cli.command("recompute")
@click.option("--agency", default=None, help="Only this agency and its units.")
def sla_recompute(agency):
    """Recompute due_at of open reports (after changing settings or holidays by hand)."""
    from hub.tasks.sla import recompute
    click.echo(f"deadlines changed: {recompute(db.session, agency)}")


stats_cli = AppGroup("stats", help="The report counts behind the stats and /metrics.")


@stats_cli.command("rebuild")
def stats_rebuild():
    """Recount the report counts from the reports (after a restore or a load past the hub)."""
    from hub.services import rollup
    counts = rollup.rebuild(db.session)
    db.session.commit()
    click.echo(f"day rows: {counts['days']}, status rows: {counts['statuses']}")


agency_cli = AppGroup("agency", help="The agency directory.")


@agency_cli.command("add")
@click.option("--code", required=True, help="The parent's code plus one part, e.g. "
              "kab-sleman.dpmptsp.")
@click.option("--name", required=True)
@click.option("--parent", required=True, help="The agency the unit belongs to.")
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def agency_add(code, name, parent):
    """Add a unit (OPD) below an agency."""
    from hub.auth import Principal
    from hub.errors import Problem
    from hub.models import NATIONAL
    from hub.services import directory
    operator = Principal(client_id="cli", agency=NATIONAL, scopes=frozenset({"admin"}))
    try:
        unit = directory.add_unit(db.session, operator, code, name, parent)
    except Problem as problem:
        raise click.ClickException("; ".join([problem.detail or problem.title] + [
            f"{k}: {v}" for k, v in (problem.errors or {}).items()])) from None
    db.session.commit()
    click.echo(f"added {unit.code} ({unit.name}) below {unit.parent_code}")


client_cli = AppGroup("client", help="API clients: list, deactivate, new secret.")


def _api_client(client_id):
    from hub.models import ApiClient
    client = db.session.get(ApiClient, client_id)
    if client is None:
        raise click.ClickException(f"no API client '{client_id}' (see `hub client list`)")
    return client


@client_cli.command("list")
def client_list():
    """Every API client: id, agency, scopes, active or not, secret generation."""
    from hub.services import clients
    for c in clients.listing(db.session):
        click.echo(f"{c.id}\t{c.agency_code}\t{'active' if c.active else 'inactive'}\t"
                   f"gen={c.secret_generation}\t{c.scopes}\t{c.name}")


@client_cli.command("deactivate")
@click.argument("client_id")
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def client_deactivate(client_id):
    """No new token for the client, and its tokens stop working within a second."""
    from hub.services import clients
    clients.deactivate(db.session, _api_client(client_id))
    click.echo(f"client {client_id} deactivated; its tokens are refused")


@client_cli.command("rotate")
@click.argument("client_id")
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def client_rotate(client_id):
    """A new secret for the client, printed once; the old secret and its tokens stop."""
    from hub.services import clients
    secret = clients.rotate_secret(db.session, _api_client(client_id))
    click.echo(f"client_id={client_id}\nclient_secret={secret}")


secret_key_cli = AppGroup("secret-key", help="HUB_SECRET_KEY rotation.")


@secret_key_cli.command("reseal")
@sqlite.writing()  # reads then writes: on SQLite, the write lock from the start
def secret_key_reseal():
    """Re-seal every stored secret (connector credentials, webhook secrets) with the
    current HUB_SECRET_KEY, after a rotation put the old key in HUB_SECRET_KEY_PREVIOUS.
    Once done (and old tokens have expired) the previous key can be removed."""
    from hub.services.resealing import reseal_all
    counts = reseal_all(db.session)
    db.session.commit()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


for _group in (connector_cli, holidays_cli, sla_cli, agency_cli, source_system_cli,
               client_cli, secret_key_cli, stats_cli):
    hub_cli.add_command(_group)


def init_app(app):
    app.cli.add_command(hub_cli)

