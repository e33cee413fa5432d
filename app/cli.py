"""Operator tasks as ``flask`` commands: seed, load-models, open-acts, ticker, verify-audit, serve."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app
from flask_migrate import upgrade
from sqlalchemy import func, select

from app.extensions import db
from app.people.models import Region, User
from app.people.roles import Role


def register_cli(app: Flask) -> None:
    from app.notifications.cli import register_notifications_cli

    register_notifications_cli(app)

    from app.registry.cli import register_registry_cli

    register_registry_cli(app)
    from app.modeler.cli import register_modeler_cli

    register_modeler_cli(app)
    from app.public.cli import register_public_cli

    register_public_cli(app)
    from app.contracts.cli import register_contracts_cli

    register_contracts_cli(app)

    @app.cli.command("load-models")
    def load_models() -> None:
        """Validate and publish the models in bpmn/ (a changed file becomes a new version)."""
        from app.engine.errors import ModelInvalid
        from app.engine.publishing import publish_directory

        try:
            results = publish_directory(Path(current_app.config["BPMN_DIR"]), Path(current_app.config["FORMS_DIR"]))
        except ModelInvalid as err:
            db.session.rollback()
            for problem in err.problems:
                click.echo(f"  ✗ {problem}", err=True)
            raise SystemExit(1) from err
        db.session.commit()
        for version, created in results:
            state = "published" if created else "unchanged"
            click.echo(f"{version.process_model.identifier} v{version.number}: {state}")

    @app.cli.command("seed")
    def seed() -> None:
        """Create the demo data (idempotent) — only with DEMO_DATA, as ``flask serve``: the demo's people share the
        password the README prints, and ``flask seed`` had put them into a database named by DATABASE_URL."""
        from app.demo.seed import seed_demo

        if not current_app.config.get("DEMO_DATA"):
            raise click.ClickException(
                "DEMO_DATA is off (it is on by default only without DATABASE_URL): the demo world's people share a "
                "published password, so it is not seeded into this database. Nothing was created. Set DEMO_DATA=1 "
                "for a demo or test database; make an installation's first administrator with flask create-admin.")

        result = seed_demo(history=True, dormitories=True)
        click.echo("Demo data created." if result["seeded"] else "Demo data already present.")

    @app.cli.command("open-acts")
    @click.option("--period", required=True, help="Month as YYYY-MM")
    def open_acts(period: str) -> None:
        """Open the monthly act of every school for a month (skips schools that have one)."""
        from app import clock
        from app.acts.operations import open_monthly_act
        from app.database import error_first_line, held_elsewhere
        from app.engine.errors import DomainRefused
        from app.orders.operations import local_midnight
        from app.people.models import Organisation

        try:
            month = date.fromisoformat(f"{period}-01")
        except ValueError:
            raise click.BadParameter("a month as YYYY-MM, e.g. 2026-10", param_hint="--period") from None
        ends = local_midnight(date(month.year + month.month // 12, month.month % 12 + 1, 1))
        if clock.now() < ends:
            raise click.ClickException(f"{period} has not ended yet: its acts open from {ends.date()} "
                                       "(an act lists what happened in its month).")
        opened, refused, failed = 0, 0, []
        schools = db.session.execute(select(Organisation.id, Organisation.name).where(
            Organisation.kind == "school", Organisation.iban.is_not(None)).order_by(Organisation.id)).all()
        # One failure stays one failure (DESIGN.md §3): each school in its own transaction, and a school whose act
        # cannot open (the contract's timer opening the same act at that moment: a unique-constraint error) is
        # named — it had ended the pass with a traceback, and every school after it was left without its act.
        # A row held by another transaction (that timer's transaction still open, a psql session) is waited for
        # JOB_LOCK_TIMEOUT_SECONDS at most (set for every command, _guarded): the command had waited for as long as
        # it stayed open, on PostgreSQL, saying nothing. That school's act is rolled back whole and named.
        for school_id, name in schools:
            try:
                open_monthly_act(db.session.get(Organisation, school_id), month)
                db.session.commit()
                opened += 1
            except DomainRefused:
                db.session.rollback()
                refused += 1
            except Exception as err:  # noqa: BLE001 - reported per school, the pass goes on
                db.session.rollback()
                if held_elsewhere(err):
                    failed.append(f"{name}: a record its act needs was held by another transaction past the wait "
                                  f"allowed ({error_first_line(err)}); nothing of its act was written")
                else:
                    failed.append(f"{name}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
        click.echo(f"Opened {opened} act(s) for {period}; {refused} school(s) already have one or are not funded "
                   "that month.")
        for line in failed:
            click.echo(f"  ✗ {line}", err=True)
        if failed:
            raise click.ClickException(f"{len(failed)} school(s) failed; run the command again for them.")

    @app.cli.command("ticker")
    @click.option("--once", is_flag=True, help="Run the background pass once and exit")
    def ticker(once: bool) -> None:
        """The background pass: due timers, new tasks announced, SLA notices, outbox (what the in-process ticker
        or a Celery beat does)."""
        from app.background import tick
        from app.registry.jobs import wait_for_inprocess_jobs

        while True:
            failed: list[str] = []
            fired = tick(current_app._get_current_object(), failed)
            click.echo(f"fired {fired}")
            if once:
                # the pass may have sent an expired job again to a thread of this process: it finishes first
                wait_for_inprocess_jobs()
                if failed:
                    raise click.ClickException(f"{len(failed)} part(s) of the pass failed: {', '.join(failed)}; "
                                               "the log above says more, and the next pass tries them again.")
                return
            time.sleep(current_app.config["TICKER_INTERVAL_SECONDS"])

    from app.audit.cli import register_audit_cli

    register_audit_cli(app)

    @app.cli.command("verify-audit")
    @click.option("--anchor", "anchor_paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="Compare with this exported anchor file (default: the latest in AUDIT_ANCHOR_DIR)")
    def verify_audit(anchor_paths: tuple[Path, ...]) -> None:
        """Check every audit chain (keyed hashes), the rows they vouch for and the anchors; exit 1 if any event
        was altered, removed or reordered, a chain was cut or deleted, or a covered row differs."""
        from app.audit.anchors import read_anchor
        from app.audit.keys import AuditKeyError
        from app.audit.operations import verify_audit_trail

        try:
            anchors = [read_anchor(p) for p in anchor_paths] or None
        except ValueError as err:
            click.echo(f"  ✗ {err}", err=True)
            raise SystemExit(2) from err
        try:
            report = verify_audit_trail(anchors)
            from app.acts.operations import decided_then_rewritten

            report.problems.extend(decided_then_rewritten())  # decided is final (app/acts/operations.py)
        except AuditKeyError as err:
            click.echo(f"  ✗ {err}", err=True)
            raise SystemExit(2) from err
        for p in report.problems:
            click.echo(f"  ✗ {p}", err=True)
        for warning in report.warnings:
            click.echo(f"  ! {warning}", err=True)
        keys = ", ".join(f"{k}: {n}" for k, n in sorted(report.events_by_key.items()))
        anchored = ", ".join(str(n) for n in report.anchors_checked) or "none"
        click.echo(f"{report.chains} chain(s), {report.events} event(s) checked (keys {keys or '-'}; "
                   f"anchor {anchored}), {len(report.problems)} problem(s).")
        if report.problems:
            raise SystemExit(1)

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--full-name", required=True, help="the administrator's full name, as pages show it")
    @click.option("--email", default="", help="where notifications go (optional)")
    def create_admin(username: str, full_name: str, email: str) -> None:
        """Create an administrator with the password typed — the first one of a new installation, which has no
        one to create it in the browser (the demo's admin exists only with DEMO_DATA). Audited as user.created.
        The password is asked twice without echo, never taken as an option (it would stay in the shell's history
        and in the process list)."""
        from app.admin.operations import Invalid, check_password_rules, create_user

        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        problem = check_password_rules(password, username.lower())
        if problem:
            raise click.ClickException(f"password: {problem} Nothing was created.")
        try:
            user, _temporary = create_user({"username": username, "full_name": full_name, "email": email,
                                            "role": Role.ADMIN.value}, actor=None)
        except Invalid as err:
            db.session.rollback()
            raise click.ClickException(" ".join(f"{field}: {message}" for field, message in err.errors.items())
                                       + " Nothing was created.") from None
        user.set_password(password)
        user.must_change_password = False
        db.session.commit()
        click.echo(f"Administrator {user.username} created; sign in at /login.")

    @app.cli.command("load-regions")
    def load_regions() -> None:
        """Kazakhstan's regions — the 17 oblasts and the cities of Astana, Almaty and Shymkent, named in Kazakh, Russian
        and English: each one missing (by its code) is created, audited as region.created. A new installation has
        none (the demo world brings its own), and every department, school and order names its region: they had to be
        typed in one by one in Administration → Regions."""
        from app.admin.operations import save_region
        from app.demo.regions import REGIONS  # the national list, which the demo world uses too

        present = set(db.session.scalars(select(Region.code)))
        missing = [(code, kk, ru, en) for code, kk, ru, en in REGIONS if code not in present]
        for code, kk, ru, en in missing:
            save_region(None, {"code": code, "name_kk": kk, "name_ru": ru, "name_en": en}, actor=None)
        db.session.commit()
        click.echo(f"{len(missing)} region(s) created, {len(REGIONS) - len(missing)} already there.")

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    def serve(host: str, port: int) -> None:
        """Migrate, seed, start the in-process ticker and serve (the embedded default)."""
        from app.background import start_inprocess_ticker
        from app.demo.seed import DEMO_PASSWORD, DEMO_USERS, seed_demo

        upgrade(revision="heads")
        flask_app = current_app._get_current_object()
        demo = bool(flask_app.config.get("DEMO_DATA"))
        if demo:
            seed_demo(history=True, dormitories=True)
        if flask_app.config["BACKGROUND_MODE"] == "inprocess":
            start_inprocess_ticker(flask_app)
        click.echo(f"\n  Tapsyrys is running at  http://{host}:{port}/\n")
        if demo:
            click.echo(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
            from app.dormitories.demo import DORM_USERS

            for username, role, hint in ([(d.username, d.role, d.hint) for d in DEMO_USERS]
                                         + [(u[0], u[1], "") for u in DORM_USERS]):
                click.echo(f"    {username:<16} {role.value}{f' — {hint}' if hint else ''}")
        else:
            click.echo("  No demo data (DEMO_DATA is off; it is on by default only without DATABASE_URL).")
            if not db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN.value)):
                click.echo("  No administrator yet: create the first with  flask --app wsgi create-admin LOGIN")
        click.echo("")
        from werkzeug.serving import run_simple

        run_simple(host, port, flask_app, threaded=True, use_reloader=False)

    _require_schema(app)


#: commands that need no database at this code's schema: migrating itself, serving (it migrates first), reading
#: anchor files, the API description, the limiter's store, Flask's own
NO_SCHEMA_NEEDED = frozenset({"db", "serve", "audit-export-anchor", "openapi", "limiter", "routes", "shell", "run"})
#: other libraries' commands, left as they are
NOT_OURS = frozenset({"db", "openapi", "limiter", "routes", "shell", "run"})


def _require_schema(app: Flask) -> None:
    """Every other command first checks that the database answers and is at this code's migrations (app/schema.py):
    on an empty database, or one a migration behind, they had ended in SQLAlchemy tracebacks (``ticker --once`` in
    twenty, with exit code 0). And a file a command cannot read or write (a folder that does not exist, a full
    disk) is one sentence naming it, not a traceback."""
    from flask.cli import with_appcontext

    for name, command in app.cli.commands.items():
        if name == "db":
            # Flask-Migrate's commands as they are, but a database that cannot be reached (the first command on a
            # fresh machine: a server not started, a wrong address, a SQLite folder missing or read-only) is one
            # sentence, not 150 lines of traceback
            for sub in getattr(command, "commands", {}).values():
                if sub.callback is not None:
                    sub.callback = _unreachable_said(sub.callback)
        if name in NOT_OURS or command.callback is None:
            continue
        command.callback = with_appcontext(_guarded(command.callback, schema=name not in NO_SCHEMA_NEEDED))


def _unreachable_said(callback):
    import functools

    from sqlalchemy.exc import InterfaceError, OperationalError

    @functools.wraps(callback)
    def said(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except (OperationalError, InterfaceError) as err:  # not a migration's own error: that keeps its traceback
            url = db.engine.url.render_as_string(hide_password=True)
            raise click.ClickException(f"The database failed ({url}): {database_reason(err)}") from None

    return said


def _guarded(callback, schema: bool):
    import contextlib
    import functools

    from sqlalchemy.exc import DBAPIError

    from app.audit.keys import AuditKeyError
    from app.database import commit_was_sent, forget_commits_sent, limit_lock_waits, lock_wait_given_up, lock_wait_limit

    @functools.wraps(callback)
    def guarded(*args, **kwargs):
        forget_commits_sent()
        # Every command waits at most JOB_LOCK_TIMEOUT_SECONDS for a row another transaction holds, as the background
        # jobs do (app.database.limit_lock_waits): on PostgreSQL, open-acts, seed, load-models, notify-sla … had waited
        # for as long as that transaction stayed open (a request stuck mid-decision, a psql session), saying nothing.
        # The application context's own limit is given back after (a test's, a shell's).
        if schema:
            check_schema()
        before = lock_wait_limit()
        limit_lock_waits(current_app.config.get("JOB_LOCK_TIMEOUT_SECONDS", 10))
        try:
            return callback(*args, **kwargs)
        except AuditKeyError as err:  # no event can be written (a new installation's key file not made yet)
            db.session.rollback()
            raise click.ClickException(f"{err} Nothing this command did was saved.") from None
        except OSError as err:  # a file, a folder, a disk, a mail server: the cause in one sentence
            where = f"{err.filename}: " if err.filename else ""
            raise click.ClickException(f"{where}{err.strerror or err}") from None
        except DBAPIError as err:  # the database went away or refused mid-command: the cause, and what was kept
            with contextlib.suppress(DBAPIError):
                db.session.rollback()
            reason = database_reason(err)
            if lock_wait_given_up(err):  # the moment's, not the command's failure (SQLite's is said by database_reason)
                reason = (f"another transaction held a record this command needed for more than "
                          f"{lock_wait_limit():g} s — someone saving it, a job, a transaction left open ({reason}); "
                          "run the command again once it has ended")
            if commit_was_sent():
                raise click.ClickException(
                    f"The database failed after this command sent changes to be saved ({reason}): whether they "
                    "were saved is unknown. Check the current state before running it again.") from None
            raise click.ClickException(f"The database failed ({reason}); nothing this command did was saved.") \
                from None
        finally:
            limit_lock_waits(before)

    return guarded


def check_schema() -> None:
    """Raise a ClickException (exit code 1, one plain sentence) when the database cannot be reached or is not at this
    code's migrations."""
    from sqlalchemy.exc import DBAPIError

    from app.schema import schema_state

    try:
        state = schema_state()
    except DBAPIError as err:
        url = db.engine.url.render_as_string(hide_password=True)
        raise click.ClickException(f"The database cannot be reached ({url}): {database_reason(err)}") from None
    if not state.usable:
        raise click.ClickException(state.explain())


def database_reason(err) -> str:
    """The database's first line, and for a SQLite file the cause an operator can act on: its folder missing or
    read-only (SQLite writes its journal beside the file, a read-only folder is "unable to open database file"
    even for reading), or another process holding its write lock past the busy timeout."""
    import os

    from app.database import error_first_line

    reason = error_first_line(err)
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return reason
    path = Path(url.database).resolve()
    if "unable to open database file" in reason or "readonly database" in reason:
        if not path.parent.is_dir():
            return f"{reason}: the folder {path.parent} does not exist"
        if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return f"{reason}: {path.parent} is read-only here, and SQLite writes its journal beside the file " \
                   "(make the folder and the file writable by this user)"
    if "database is locked" in reason:
        return f"{reason}: another process (the server, the ticker, another command) is writing to {path} and " \
               "did not finish in time; try again once it has"
    return reason
