"""A new installation: no demo people with the README's password in a database named by DATABASE_URL, and a way to
create the first administrator (``flask create-admin``) — before, ``flask serve`` seeded the demo's operator,
officials and admin into any database without regions, and the admin pages were the only other way to add a person."""

import re

import pytest
import werkzeug.serving
from sqlalchemy import func, select

from app import background
from app.audit.models import AuditEvent
from app.config import ConfigError, _demo_data
from app.extensions import db
from app.people.models import Region, User

STRONG = "Correct-Horse-Battery-9"


def _create_admin(app, *args, password=STRONG):
    return app.test_cli_runner().invoke(args=["create-admin", *args], input=f"{password}\n{password}\n")


def test_the_first_administrator_is_created_from_the_command_line_and_signs_in(app_ctx, browser):
    result = _create_admin(app_ctx, "Boss", "--full-name", "Aigerim Bossova", "--email", "boss@example.kz")
    assert result.exit_code == 0, result.output
    user = db.session.scalars(select(User).where(User.username == "boss")).one()
    assert (user.role, user.organisation_id, user.must_change_password, user.active) == ("admin", None, False, True)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.created")).one()
    assert event.actor_id is None and event.details["via"] == "command line" and event.details["role"] == "admin"
    person = browser()
    person.login("boss", STRONG)
    assert person.get("/admin/users").status_code == 200


@pytest.mark.parametrize("args, password, said", [
    (["boss", "--full-name", "Boss"], "short", "password:"),
    (["boss", "--full-name", "Boss"], "boss-boss-boss-1", "password:"),  # the login inside the password
    (["boss!", "--full-name", "Boss"], STRONG, "username:"),
    (["boss", "--full-name", ""], STRONG, "full_name:"),
    (["boss", "--full-name", "Boss", "--email", "not an address"], STRONG, "email:"),
])
def test_a_refused_administrator_is_one_sentence_and_nothing_is_created(app_ctx, args, password, said):
    result = _create_admin(app_ctx, *args, password=password)
    assert result.exit_code == 1 and said in result.output and "Nothing was created." in result.output, result.output
    assert "Traceback" not in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_a_taken_login_whatever_its_case_is_refused(app_ctx):
    assert _create_admin(app_ctx, "boss", "--full-name", "Boss").exit_code == 0
    result = _create_admin(app_ctx, "BOSS", "--full-name", "Another Boss")
    assert result.exit_code == 1 and "username:" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


@pytest.fixture()
def serve(app_ctx, monkeypatch):
    """``flask serve`` up to the moment it would listen: no server, no ticker thread."""
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda *args, **kwargs: None)
    monkeypatch.setattr(background, "start_inprocess_ticker", lambda app: None)

    def run(demo: bool):
        monkeypatch.setitem(app_ctx.config, "DEMO_DATA", demo)
        result = app_ctx.test_cli_runner().invoke(args=["serve", "--port", "5999"])
        assert result.exit_code == 0, result.output
        db.session.expire_all()
        return result.output

    return run


def test_serve_without_demo_data_seeds_no_one_and_says_how_to_create_the_administrator(serve):
    said = serve(demo=False)
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(Region)) == 0
    assert "create-admin" in said and "demo-tapsyrys-2026" not in said


def test_serve_with_demo_data_seeds_the_demo_world_and_prints_its_logins(serve):
    said = serve(demo=True)
    assert db.session.scalar(select(func.count()).select_from(Region)) > 0
    assert "demo-tapsyrys-2026" in said and "accountant" in said
    # two operators, so a person can try the four eyes on a returned payment (app.payments.returns.check_repayer)
    assert "    operator2        operator — pays again an act whose bank return operator recorded (four eyes)" in said


@pytest.mark.parametrize("env, expected", [
    ({}, True),  # the embedded default: make run
    ({"DATABASE_URL": "postgresql://db.internal/tapsyrys"}, False),
    ({"DATABASE_URL": "postgresql://db.internal/tapsyrys", "DEMO_DATA": "1"}, True),
    ({"DEMO_DATA": "off"}, False),
    ({"DEMO_DATA": ""}, True),
])
def test_demo_data_is_on_by_default_only_for_the_embedded_database(monkeypatch, env, expected):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("DEMO_DATA", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _demo_data() is expected


def test_a_mistyped_demo_data_setting_is_refused(monkeypatch):
    monkeypatch.setenv("DEMO_DATA", "maybe")
    with pytest.raises(ConfigError, match="DEMO_DATA must be 1"):
        _demo_data()


def test_flask_seed_without_demo_data_seeds_no_one(app_ctx, monkeypatch):
    """``flask seed`` is the other way the demo's people — with the README's password — reach a database: without
    DEMO_DATA (a database named by DATABASE_URL) it refuses in one sentence, as serve seeds nothing."""
    monkeypatch.setitem(app_ctx.config, "DEMO_DATA", False)
    result = app_ctx.test_cli_runner().invoke(args=["seed"])
    assert result.exit_code == 1 and "DEMO_DATA" in result.output and "Nothing was created." in result.output
    assert "Traceback" not in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert db.session.scalar(select(func.count()).select_from(Region)) == 0


def test_the_password_is_never_an_option_of_the_command(app_ctx):
    """Given as ``--password``, it would stay in the shell's history and show in the process list."""
    result = app_ctx.test_cli_runner().invoke(args=["create-admin", "boss", "--full-name", "Boss",
                                                    "--password", STRONG])
    assert result.exit_code == 2 and "No such option" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_a_new_installation_gets_the_countrys_regions_from_the_command_line(app_ctx, browser):
    """A database without demo data has no region, and a department, a school or an order cannot be made without one:
    the twenty had to be typed in, in three languages, in Administration → Regions. ``flask load-regions`` creates
    the missing ones, audited; run again, it changes nothing."""
    result = app_ctx.test_cli_runner().invoke(args=["load-regions"])
    assert result.exit_code == 0 and "20 region(s) created, 0 already there." in result.output, result.output
    astana = db.session.scalars(select(Region).where(Region.code == "ASTANA")).one()
    assert (astana.name_kk, astana.name_ru, astana.name_en) == ("Астана қаласы", "город Астана", "Astana city")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "region.created")).all()
    assert len(events) == 20 and all(e.actor_id is None and e.details["via"] == "command line" for e in events)

    again = app_ctx.test_cli_runner().invoke(args=["load-regions"])
    assert again.exit_code == 0 and "0 region(s) created, 20 already there." in again.output
    assert db.session.scalar(select(func.count()).select_from(Region)) == 20

    assert _create_admin(app_ctx, "boss", "--full-name", "Boss").exit_code == 0
    person = browser()
    person.login("boss", STRONG)
    assert "Shymkent city" in person.get("/admin/organisations/new").get_data(as_text=True)


def test_without_its_audit_key_file_yet_a_command_says_how_to_make_it_and_creates_nothing(app_ctx, monkeypatch,
                                                                                          tmp_path):
    """A production installation names AUDIT_KEY_FILE (the embedded mode makes its own): ``flask create-admin`` run
    before the file exists ended in a traceback whose last line said to set AUDIT_KEY_FILE — which was set. Now one
    sentence names the file and the command that makes it, and nothing is created."""
    missing = tmp_path / "etc" / "audit_keys"
    monkeypatch.setitem(app_ctx.config, "AUDIT_KEY_FILE", str(missing))
    monkeypatch.setitem(app_ctx.config, "AUDIT_KEY_CREATE", False)
    monkeypatch.setitem(app_ctx.config, "AUDIT_KEY", None)
    result = _create_admin(app_ctx, "boss", "--full-name", "Boss")
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert f"the key file {missing} (AUDIT_KEY_FILE) does not exist" in result.output
    assert "flask audit-key --rotate" in result.output and "Nothing this command did was saved." in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0

    rotated = app_ctx.test_cli_runner().invoke(args=["audit-key", "--rotate"])
    assert rotated.exit_code == 0 and missing.exists(), rotated.output
    assert _create_admin(app_ctx, "boss", "--full-name", "Boss").exit_code == 0


def test_before_the_models_are_published_placing_an_order_says_so_and_then_works(app_ctx, browser):
    """A new installation whose operator has not run ``flask load-models`` yet: the department's official placing the
    first order got a 500 (a LookupError in English). Now the form says which model is not published and how it is,
    nothing is placed; published, the same order is placed."""
    from app.orders.models import StateOrder
    from app.people.models import Organisation

    assert app_ctx.test_cli_runner().invoke(args=["load-regions"]).exit_code == 0
    astana = db.session.scalars(select(Region).where(Region.code == "ASTANA")).one()
    department = Organisation(kind="department", bin="950440001673", name="Astana education department",
                              region_id=astana.id)
    db.session.add(department)
    db.session.flush()
    official = User(username="official1", full_name="Dana Official", role="department_official",
                    organisation_id=department.id, active=True)
    official.set_password("pw")
    db.session.add(official)
    db.session.commit()
    person = browser("official1")
    form = person.get("/orders/new").get_data(as_text=True)
    values = {name: re.search(f'name="{name}" value="([^"]*)"', form).group(1)
              for name in ("academic_year", "window_opens", "window_closes")}
    values["budget"] = "1000000000"

    refused = person.post("/orders/new", values)
    assert refused.status_code == 422
    assert "flask load-models" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(StateOrder)) == 0

    assert app_ctx.test_cli_runner().invoke(args=["load-models"]).exit_code == 0
    assert person.post("/orders/new", values).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(StateOrder)) == 1
